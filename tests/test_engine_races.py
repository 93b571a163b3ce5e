"""Weights changed while other threads call the layer: each call sees the old or the new
weights, never a mix (the packed weights are immutable, swapped by reference)."""
import sys
import threading

import numpy as np
import pytest

import fastrnn as fr


@pytest.mark.parametrize("make", [lambda: fr.LSTM(48), lambda: fr.GRU(40),
                                  lambda: fr.Dense(16)], ids=["lstm", "gru", "dense"])
def test_set_weights_during_calls_gives_old_or_new_results(make):
    rng = np.random.default_rng(0)
    layer = make()
    x = rng.normal(size=(4, 30, 8)).astype(np.float32) if not isinstance(layer, fr.Dense) \
        else rng.normal(size=(64, 8)).astype(np.float32)
    layer(x)
    sets = [[rng.normal(scale=0.3, size=w.shape) for w in layer.get_weights()] for _ in range(2)]
    expected = []
    for weights in sets:
        layer.set_weights(weights)
        expected.append(layer(x))
    stop, mixed, calls = threading.Event(), [], [0]

    def caller():
        while not stop.is_set():
            out = layer(x)
            calls[0] += 1
            if not any(np.array_equal(out, e) for e in expected):
                mixed.append(out)

    threads = [threading.Thread(target=caller) for _ in range(2)]
    for t in threads:
        t.start()
    for k in range(200):
        layer.set_weights(sets[k % 2])
    stop.set()
    for t in threads:
        t.join()
    assert calls[0] > 0 and not mixed, f"{len(mixed)} of {calls[0]} calls mixed weights"


def _positive(rng, shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _sequences(shape):
    return lambda rng: rng.normal(size=shape).astype(np.float32)


def _pair(shape_q, shape_v):
    return lambda rng: [rng.normal(size=shape_q).astype(np.float32),
                        rng.normal(size=shape_v).astype(np.float32)]


def _tanh(x):
    return np.tanh(x)


def _ids(rng):
    return rng.integers(0, 20, size=(8, 12))


def _cell_step(units, states):
    return lambda rng: (rng.normal(size=(6, 5)).astype(np.float32),
                        [rng.normal(size=(6, units)).astype(np.float32) for _ in range(states)])


#: Layers with several weights (and a few with one), each with an input maker and the
#: maker of a weight set from a shape (moving variances must be positive).
MULTI_WEIGHT_LAYERS = {
    "conv1d": (lambda: fr.Conv1D(6, 3), _sequences((4, 20, 5))),
    "conv1d_groups": (lambda: fr.Conv1D(6, 3, groups=3, padding="same"),
                      _sequences((4, 20, 6))),
    "layer_normalization": (lambda: fr.LayerNormalization(), _sequences((8, 10, 6))),
    "batch_normalization": (lambda: fr.BatchNormalization(), _sequences((8, 10, 6))),
    "attention": (lambda: fr.Attention(use_scale=True, score_mode="concat"),
                  _pair((4, 5, 6), (4, 7, 6))),
    "additive_attention": (lambda: fr.AdditiveAttention(), _pair((4, 5, 6), (4, 7, 6))),
    "time_distributed_dense": (lambda: fr.TimeDistributed(fr.Dense(5)),
                               _sequences((4, 10, 6))),
    "embedding": (lambda: fr.Embedding(20, 4), _ids),
    "stacked_cells": (lambda: fr.RNN([fr.LSTMCell(4), fr.GRUCell(3)]), _sequences((4, 10, 5))),
    "bidirectional": (lambda: fr.Bidirectional(fr.LSTM(4)), _sequences((4, 10, 5))),
    # a Python callable as activation: the Python step loop, reading weights at every step
    "python_step_loop": (lambda: fr.RNN([fr.LSTMCell(4, activation=_tanh), fr.GRUCell(3)]),
                         _sequences((4, 10, 5))),
    "simple_rnn_cell": (lambda: fr.SimpleRNNCell(4), _cell_step(4, 1)),
    "lstm_cell": (lambda: fr.LSTMCell(4), _cell_step(4, 2)),
    "gru_cell": (lambda: fr.GRUCell(4), _cell_step(4, 1)),
    "tflite_cell": (lambda: fr.TfLiteRNNCell(4), lambda rng: (
        rng.normal(size=(6, 5)).astype(np.float32), rng.normal(size=(6, 4)).astype(np.float32))),
}


def _call(layer, x):
    """The layer's output for ``x`` (a cell's: its output, not its states), as a new array."""
    out = layer(*x) if isinstance(x, tuple) else layer(x)
    return np.array(out[0] if isinstance(out, (tuple, list)) else out, copy=True)


@pytest.mark.parametrize("name", sorted(MULTI_WEIGHT_LAYERS))
def test_set_weights_of_any_layer_during_calls_gives_old_or_new_results(name):
    """Each call's output is exactly one of the two outputs computed beforehand, alone,
    with the old or the new weights (the thread switch interval is made tiny, so that a
    call that read its weights one at a time would see a mix)."""
    make, make_input = MULTI_WEIGHT_LAYERS[name]
    rng = np.random.default_rng(1)
    layer = make()
    x = make_input(rng)
    _call(layer, x)
    sets = [[_positive(rng, w.shape) if "variance" in record.name
             else rng.normal(scale=0.5, size=w.shape)
             for w, record in zip(layer.get_weights(), layer._ordered_records())]
            for _ in range(2)]
    expected = []
    for weights in sets:
        layer.set_weights(weights)
        expected.append(_call(layer, x))
    assert not np.array_equal(expected[0], expected[1])
    stop, mixed, calls = threading.Event(), [], [0]

    def caller():
        while not stop.is_set():
            out = _call(layer, x)
            calls[0] += 1
            if sum(np.array_equal(out, e) for e in expected) != 1:
                mixed.append(out)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    threads = [threading.Thread(target=caller) for _ in range(2)]
    try:
        for t in threads:
            t.start()
        for k in range(120):
            layer.set_weights(sets[k % 2])
    finally:
        stop.set()
        for t in threads:
            t.join()
        sys.setswitchinterval(interval)
    assert calls[0] > 0 and not mixed, f"{len(mixed)} of {calls[0]} calls mixed weights"
