"""Weights changed while other threads call the layer: each call sees the old or the new
weights, never a mix (the packed weights are immutable, swapped by reference)."""
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
