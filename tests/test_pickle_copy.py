"""pickle and copy.deepcopy of every layer, cell and model (issue 9 item 4, issue 11 item 1).

Weights and configs travel; locks, per-thread caches and the compiled kernels' weight
objects do not (they are rebuilt); a copy predicts bitwise what the original predicts,
and a stateful layer's stored states travel with it.  The reference for each copy is the
original object (the behaviour under test is "the copy is the same model"), and the
first call of each original is also checked against the NumPy oracle so that the
models compared are right, not merely equal.
"""
import copy
import os
import pickle
import threading

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.convert import from_torch, load_keras
from oracle import run_rnn

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
RNG = np.random.default_rng(5)
X = RNG.normal(size=(3, 6, 4)).astype("float32")
K = fr.backend


class MinimalRNNCell(fr.Layer):
    """The RNN seed's custom cell (no get_config: tf_keras >= 2.13 serializes its args)."""

    def __init__(self, units, **kwargs):
        self.units = units
        self.state_size = units
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                initializer="uniform", name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        output = K.dot(inputs, self.kernel) + K.tanh(K.dot(states[0], self.recurrent_kernel))
        return output, [output]


def _layers():
    yield "simple_rnn", fr.SimpleRNN(5, return_sequences=True)
    yield "lstm_state", fr.LSTM(5, return_state=True)
    yield "gru_reset_before", fr.GRU(5, reset_after=False, go_backwards=True)
    yield "gru_float64", fr.GRU(5, dtype="float64")
    yield "tflite", fr.RNN(fr.TfLiteRNNCell(5))
    yield "stacked", fr.RNN([fr.LSTMCell(3), fr.GRUCell(4)], return_state=True)
    yield "python_activation", fr.LSTM(3, activation="keras3_hard_sigmoid")
    yield "custom_cell", fr.RNN(MinimalRNNCell(4), return_sequences=True)
    yield "bidirectional", fr.Bidirectional(fr.LSTM(3, return_sequences=True))
    yield "sequential", fr.Sequential([fr.Masking(), fr.GRU(4, return_sequences=True),
                                       fr.Dropout(0.3), fr.SimpleRNN(3), fr.Dense(2)])


def _copies(obj):
    return {"pickle": pickle.loads(pickle.dumps(obj)), "deepcopy": copy.deepcopy(obj)}


def _same(a, b):
    if isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for u, v in zip(a, b):
            _same(u, v)
    else:
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,layer", list(_layers()), ids=[n for n, _ in _layers()])
def test_layer_copies_predict_bitwise_the_same(name, layer):
    expected = layer(X)
    for how, clone in _copies(layer).items():
        assert type(clone) is type(layer) and clone is not layer, how
        _same(clone(X), expected)
        _same(clone.get_weights(), layer.get_weights())
        assert clone.get_config() == layer.get_config()
        for w in clone.weights:            # weights stay read-only after the round trip
            assert not w.flags.writeable


def test_kernel_weights_and_locks_are_rebuilt_not_shared():
    layer = fr.RNN([fr.LSTMCell(3), fr.SimpleRNNCell(2)], stateful=True)
    layer(X)
    clone = copy.deepcopy(layer)
    for cell, cell_copy in zip(layer.cell.cells, clone.cell.cells):
        assert cell_copy._kernel_weights is not None
        assert cell_copy._kernel_weights is not cell._kernel_weights
        # the rebuilt kernel weights are packed from the copy's arrays: the same values
        assert cell_copy._kernel_weights.w is not cell._kernel_weights.w
        np.testing.assert_array_equal(cell_copy._kernel_weights.w, cell._kernel_weights.w)
        np.testing.assert_array_equal(cell_copy._kernel_weights.u, cell._kernel_weights.u)
    assert isinstance(clone._lock, type(threading.Lock()))
    assert clone._lock is not layer._lock and clone._build_lock is not layer._build_lock
    state = layer.__getstate__()
    assert "_lock" not in state and "_build_lock" not in state
    assert "_kernel_weights" not in layer.cell.cells[0].__getstate__()
    assert "_dropout_local" not in layer.cell.cells[0].__getstate__()


def test_a_copy_is_independent_of_the_original():
    layer = fr.LSTM(3)
    before = layer(X)
    clone = pickle.loads(pickle.dumps(layer))
    clone.set_weights([np.zeros_like(w) for w in clone.get_weights()])
    np.testing.assert_array_equal(layer(X), before)
    np.testing.assert_array_equal(clone(X), np.zeros_like(before))


def test_copied_lstm_matches_the_oracle():
    layer = fr.LSTM(5, return_sequences=True)
    layer(X)
    clone = pickle.loads(pickle.dumps(layer))
    kernel, recurrent, bias = (w.astype(np.float64) for w in layer.get_weights())
    want, _ = run_rnn("lstm", X.astype(np.float64), kernel, recurrent, bias,
                      return_sequences=True)
    np.testing.assert_allclose(clone(X), want, atol=1e-5)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_stateful_layer_stored_states_travel(how):
    layer = fr.GRU(4, stateful=True, batch_input_shape=(3, None, 4))
    layer(X[:, :3])                                  # states now hold step 3
    clone = _copies(layer)[how]
    _same(clone.states, layer.states)
    _same(clone(X[:, 3:]), layer(X[:, 3:]))          # both continue the same stream
    whole = fr.GRU(4)
    whole.build(X.shape)
    whole.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone.states[0], whole(X), atol=1e-6)


@pytest.mark.parametrize("how", ["pickle", "deepcopy"])
def test_cells_alone_copy(how):
    for cell in (fr.LSTMCell(3), fr.GRUCell(2, dropout=0.5), fr.SimpleRNNCell(2),
                 fr.StackedRNNCells([fr.LSTMCell(2), fr.GRUCell(3)])):
        layer = fr.RNN(cell)
        expected = layer(X)
        cell_copy = _copies(cell)[how]
        assert cell_copy.built and cell_copy.get_config() == cell.get_config()
        rerun = fr.RNN(cell_copy)
        _same(rerun(X), expected)


def test_dropout_in_training_works_after_copy():
    cell = fr.GRUCell(3, dropout=0.5, recurrent_dropout=0.5, seed=1)
    layer = fr.RNN(cell)
    layer(X)
    clone = copy.deepcopy(layer)
    out = clone(X, training=True)
    assert out.shape == (3, 3) and np.isfinite(out).all()
    _same(clone(X), layer(X))                        # inference stays deterministic


@pytest.mark.parametrize("name", ["keras2_emb_bilstm.keras", "keras3_masking_gru_simplernn.h5",
                                  "keras2_stacked_lstm.h5", "keras3_functional_rnn_cells.keras"])
def test_loaded_keras_models_copy(name):
    pytest.importorskip("h5py")
    model = load_keras(os.path.join(FIXTURES, name))
    batch = model._model_input_shape()
    if len(batch) == 2:   # token ids
        x = RNG.integers(0, 20, size=(4, 5))
    else:
        x = RNG.normal(size=(4,) + tuple(d or 5 for d in batch[1:])).astype("float32")
    expected = model.predict(x)
    for how, clone in _copies(model).items():
        _same(clone.predict(x), expected)
        assert clone.to_json() == model.to_json(), how


def test_from_torch_model_copies():
    rng = np.random.default_rng(2)
    state = {}
    for layer in range(2):
        for suffix in ("", "_reverse"):
            inputs = 3 if layer == 0 else 8
            state[f"weight_ih_l{layer}{suffix}"] = rng.normal(size=(16, inputs))
            state[f"weight_hh_l{layer}{suffix}"] = rng.normal(size=(16, 4))
            state[f"bias_ih_l{layer}{suffix}"] = rng.normal(size=16)
            state[f"bias_hh_l{layer}{suffix}"] = rng.normal(size=16)
    rnn = from_torch({k: v.astype("float32") for k, v in state.items()}, mode="LSTM",
                     batch_first=True)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    out, (h, c) = rnn(x)
    for how, clone in _copies(rnn).items():
        out2, (h2, c2) = clone(x)
        _same([out2, h2, c2], [out, h, c])
