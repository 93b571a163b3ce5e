"""Serving: explicit-state streaming (get_initial_state(batch_size=) + step) and lengths=.

Stepping a sequence frame by frame, or in chunks of varied sizes, gives the
whole-sequence call's outputs and states -- bitwise for built-in cells, which run the
same kernels -- and the whole-sequence calls are themselves checked against the NumPy
oracle and the real frameworks elsewhere; lengths= equals the equivalent mask bitwise
and torch's packed sequences.
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

import fastrnn as fr
import fastrnn.convert as fc
from fastrnn.layers.base import flatten
from oracle import run_rnn

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
RNG = np.random.default_rng(2024)


def _layers():
    yield "lstm", fr.LSTM(7, return_sequences=True)
    yield "gru", fr.GRU(6, return_sequences=True)
    yield "gru_reset_before", fr.GRU(5, reset_after=False, return_sequences=True)
    yield "simple", fr.SimpleRNN(4, activation="relu", return_sequences=True)
    yield "stacked", fr.RNN([fr.LSTMCell(5), fr.GRUCell(3), fr.SimpleRNNCell(4)],
                            return_sequences=True)


def _frames(layer, x, states, mask=None, sizes=None):
    """Step ``x`` through ``layer`` frame by frame (sizes None) or in chunks of ``sizes``."""
    outputs, t = [], 0
    for size in sizes or [None] * x.shape[1]:
        if size is None:
            frame_mask = None if mask is None else mask[:, t]
            out, states = layer.step(x[:, t], states, mask=frame_mask)
            outputs.append(out[:, None])
            t += 1
        else:
            chunk_mask = None if mask is None else mask[:, t:t + size]
            out, states = layer.step(x[:, t:t + size], states, mask=chunk_mask)
            outputs.append(out)
            t += size
    return np.concatenate(outputs, axis=1), states


@pytest.mark.parametrize("name,layer", list(_layers()), ids=[n for n, _ in _layers()])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("sizes", [None, [3, 1, 4, 2], [10]], ids=["frames", "chunks", "one"])
def test_stepping_gives_the_whole_sequence_result_bitwise(name, layer, masked, sizes):
    x = RNG.normal(size=(3, 10, 4)).astype(np.float32)
    mask = RNG.random((3, 10)) > 0.3 if masked else None
    layer.build(x.shape)
    whole = fr.RNN(layer.cell, return_sequences=True, return_state=True)
    expected, *expected_states = whole(x, mask=mask)
    states = layer.get_initial_state(batch_size=3)
    outputs, final = _frames(layer, x, states, mask, sizes)
    np.testing.assert_array_equal(outputs, expected)
    for got, want in zip(flatten(final), flatten(expected_states)):
        np.testing.assert_array_equal(got, want)


def test_steps_match_the_oracle_and_leave_the_given_states_alone():
    layer = fr.LSTM(6)
    x = RNG.normal(size=(2, 5, 3))
    layer.build(x.shape)
    kernel, recurrent, bias = layer.get_weights()
    h0, c0 = RNG.normal(size=(2, 2, 6)).astype(np.float32)
    states = [h0.copy(), c0.copy()]
    out, new = layer.step(x[:, 0], states)
    want, (want_h, want_c) = run_rnn("lstm", x[:, :1], kernel, recurrent, bias,
                                     initial_state=[h0, c0])
    np.testing.assert_allclose(out, want, atol=1e-5)
    np.testing.assert_allclose(new[1], want_c, atol=1e-5)
    np.testing.assert_array_equal(states[0], h0)          # not mutated
    np.testing.assert_array_equal(states[1], c0)
    # in place: out= the given states
    out2, new2 = layer.step(x[:, 0], states, out=states)
    assert new2[0] is states[0] and new2[1] is states[1]
    np.testing.assert_array_equal(out2, out)
    np.testing.assert_array_equal(states[1], new[1])


def test_a_masked_step_keeps_the_state_and_repeats_the_previous_output():
    layer = fr.GRU(4)
    layer.build((None, None, 3))
    states = layer.get_initial_state(batch_size=2)
    x = RNG.normal(size=(2, 3)).astype(np.float32)
    out1, states1 = layer.step(x, states)
    out2, states2 = layer.step(x * 5, states1, mask=np.array([True, False]))
    np.testing.assert_array_equal(states2[0][1], states1[0][1])
    np.testing.assert_array_equal(out2[1], out1[1])
    assert not np.array_equal(out2[0], out1[0])


def test_a_custom_cell_streams_through_its_call():
    class MinimalRNNCell(fr.Layer):
        def __init__(self, units, **kwargs):
            self.units = units
            self.state_size = units
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="uniform", name="kernel")
            self.recurrent_kernel = self.add_weight(shape=(self.units, self.units),
                                                    initializer="uniform", name="rk")
            self.built = True

        def call(self, inputs, states):
            h = np.tanh(inputs @ self.kernel + states[0] @ self.recurrent_kernel)
            return h, [h]

    layer = fr.RNN(MinimalRNNCell(5), return_sequences=True)
    x = RNG.normal(size=(2, 6, 3)).astype(np.float32)
    expected = layer(x)
    outputs, _ = _frames(layer, x, layer.get_initial_state(batch_size=2), sizes=[2, 4])
    np.testing.assert_allclose(outputs, expected, rtol=0, atol=1e-6)


def test_streaming_refuses_what_cannot_stream():
    with pytest.raises(ValueError, match="cannot be streamed"):
        fr.Bidirectional(fr.LSTM(3)).step(np.zeros((1, 2)), None)
    backwards = fr.GRU(3, go_backwards=True)
    backwards.build((None, None, 2))
    with pytest.raises(ValueError, match="go_backwards"):
        backwards.get_initial_state(batch_size=1)
    layer = fr.GRU(3)
    layer.build((None, None, 2))
    states = layer.get_initial_state(batch_size=2)
    with pytest.raises(ValueError, match=r"states\[0\] must have shape \(2, 3\)"):
        layer.step(np.zeros((2, 2)), [np.zeros((3, 3))])
    with pytest.raises(ValueError, match=r"shape \(batch, 2\)"):
        layer.step(np.zeros((2, 5)), states)
    with pytest.raises(ValueError, match="batch_size"):
        layer.get_initial_state(batch_size=-1)


@pytest.mark.parametrize("keras", ["keras2", "keras3"])
def test_a_loaded_model_streams_frame_by_frame_like_predict(keras):
    """LSTM(return_sequences) -> LSTM -> Dense, saved by real tf.keras / Keras 3."""
    model = fc.load_keras(os.path.join(FIXTURES, f"{keras}_stacked_lstm.keras"))
    data = np.load(os.path.join(FIXTURES, f"{keras}_models.npz"))
    x = data["stacked_lstm/x"].astype(np.float32)
    expected = model.predict(x)
    np.testing.assert_allclose(expected, data["stacked_lstm/y"], atol=1e-5)
    states = model.get_initial_state(batch_size=x.shape[0])
    for t in range(x.shape[1]):
        scores, states = model.step(x[:, t], states)
    np.testing.assert_array_equal(scores, expected)
    states = model.get_initial_state(batch_size=x.shape[0])
    half = x.shape[1] // 2
    _, states = model.step(x[:, :half], states)
    chunked, _ = model.step(x[:, half:], states)
    np.testing.assert_array_equal(chunked[:, -1], expected)


def test_a_model_with_masking_streams_and_one_running_backwards_cannot():
    model = fr.Sequential([fr.Input((None, 3)), fr.Masking(0.0), fr.GRU(16, return_sequences=True),
                           fr.GRU(8), fr.Dense(2)])
    x = RNG.normal(size=(3, 9, 3)).astype(np.float32)
    x[1, 4:] = 0.0                                       # padding, masked
    x[2, 2] = 0.0                                        # a hole
    states = model.get_initial_state(batch_size=3)
    for t in range(9):
        out, states = model.step(x[:, t], states)
    np.testing.assert_array_equal(out, model(x))
    loaded = fc.load_keras(os.path.join(FIXTURES, "keras2_masking_gru_simplernn.keras"))
    with pytest.raises(ValueError, match="go_backwards"):
        loaded.get_initial_state(batch_size=1)


def test_token_id_frames_stream_through_embedding():
    model = fr.Sequential([fr.Input((None,)), fr.Embedding(20, 4, mask_zero=True),
                           fr.LSTM(5), fr.Dense(2)])
    ids = np.array([[3, 7, 1, 0, 0], [5, 2, 9, 4, 8]])
    expected = model(ids)
    states = model.get_initial_state(batch_size=2)
    for t in range(ids.shape[1]):
        out, states = model.step(ids[:, t], states)
    np.testing.assert_array_equal(out, expected)


def test_threads_stepping_separate_states_of_one_model_get_the_serial_results():
    model = fr.Sequential([fr.Input((None, 3)), fr.GRU(16, return_sequences=True), fr.GRU(8),
                           fr.Dense(2)])
    streams = [RNG.normal(size=(1, 25, 3)).astype(np.float32) for _ in range(12)]

    def run(x):
        states = model.get_initial_state(batch_size=1)
        outs = []
        for t in range(x.shape[1]):
            out, states = model.step(x[:, t], states)
            outs.append(out)
        return np.concatenate(outs)

    serial = [run(x) for x in streams]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(run, streams))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


def test_stateful_frames_match_the_step_path():
    stateful = fr.LSTM(6, stateful=True, return_sequences=True)
    x = RNG.normal(size=(2, 8, 3)).astype(np.float32)
    frames = np.concatenate([stateful(x[:, t:t + 1]) for t in range(8)], axis=1)
    layer = fr.LSTM(6, return_sequences=True)
    layer.build(x.shape)
    layer.set_weights(stateful.get_weights())
    np.testing.assert_array_equal(frames, layer(x))
    stepped, _ = _frames(layer, x, layer.get_initial_state(batch_size=2))
    np.testing.assert_array_equal(frames, stepped)


# ---- lengths= ---------------------------------------------------------------------------

LENGTHS = np.array([8, 0, 3, 1, 8, 5])


def _mask(lengths, steps):
    return np.arange(steps)[None, :] < lengths[:, None]


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_lengths_equal_the_mask_bitwise_on_layers(go_backwards, return_sequences):
    x = RNG.normal(size=(6, 8, 3)).astype(np.float32)
    layers = [fr.LSTM(5, go_backwards=go_backwards, return_sequences=return_sequences,
                      return_state=True),
              fr.RNN([fr.GRUCell(4), fr.LSTMCell(3)], go_backwards=go_backwards,
                     return_sequences=return_sequences),
              fr.Bidirectional(fr.GRU(4, return_sequences=return_sequences))]
    for layer in layers:
        by_lengths = layer(x, lengths=LENGTHS)
        by_mask = layer(x, mask=_mask(LENGTHS, 8))
        for a, b in zip(flatten(by_lengths), flatten(by_mask)):
            np.testing.assert_array_equal(a, b)
    holes = RNG.random((6, 8)) > 0.3
    layer = layers[0]
    combined = layer(x, lengths=LENGTHS, mask=holes)
    np.testing.assert_array_equal(combined[0], layer(x, mask=holes & _mask(LENGTHS, 8))[0])


def test_a_row_of_length_zero_keeps_its_initial_state():
    layer = fr.GRU(4, return_sequences=True, return_state=True)
    x = RNG.normal(size=(6, 8, 3)).astype(np.float32)
    h0 = RNG.normal(size=(6, 4)).astype(np.float32)
    seq, h = layer(x, lengths=LENGTHS, initial_state=[h0])
    np.testing.assert_array_equal(h[1], h0[1])
    np.testing.assert_array_equal(seq[1], np.zeros((8, 4)))


def test_lengths_on_models_and_bad_lengths():
    model = fr.Sequential([fr.Input((None, 3)), fr.GRU(6, return_sequences=True), fr.LSTM(4),
                           fr.Dense(2)])
    x = RNG.normal(size=(6, 8, 3)).astype(np.float32)
    np.testing.assert_array_equal(model(x, lengths=LENGTHS), model(x, mask=_mask(LENGTHS, 8)))
    layer = fr.LSTM(3)
    for bad, error in [(np.array([1.5] * 6), TypeError), (np.array([9] * 6), ValueError),
                       (np.array([-1] * 6), ValueError), (np.array([1, 2]), ValueError)]:
        with pytest.raises(error, match="lengths"):
            layer(x, lengths=bad)


@pytest.mark.parametrize("mode", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_torch_lengths_equal_packed_sequences(mode, bidirectional, batch_first):
    torch = pytest.importorskip("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
    torch.manual_seed(0)
    module = getattr(torch.nn, mode)(3, 5, num_layers=2, bidirectional=bidirectional,
                                     batch_first=batch_first)
    model = fc.from_torch(module)
    x = RNG.normal(size=(6, 8, 3)).astype(np.float32)
    xin = x if batch_first else x.transpose(1, 0, 2).copy()
    lengths = np.maximum(LENGTHS, 1)             # torch refuses empty sequences
    with torch.no_grad():
        packed = pack_padded_sequence(torch.from_numpy(xin), torch.from_numpy(lengths),
                                      batch_first=batch_first, enforce_sorted=False)
        out, state = module(packed)
        out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=8)
    got, got_state = model(xin, lengths=lengths)
    np.testing.assert_allclose(got, out.numpy(), atol=1e-5)
    want_h = state[0] if mode == "LSTM" else state
    got_h = got_state[0] if mode == "LSTM" else got_state
    np.testing.assert_allclose(got_h, want_h.numpy(), atol=1e-5)
