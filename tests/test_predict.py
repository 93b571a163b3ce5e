"""predict(x, batch_size, verbose, lengths, mask) on Sequential, recurrent layers and
from_torch models: batching, lengths, progress, bounded memory, argument errors."""
import time
import tracemalloc

import numpy as np
import pytest

import fastrnn as fr
import oracle
from fastrnn import _predict
from fastrnn.convert import from_torch

RNG = np.random.default_rng(7)


def random_x(shape, dtype="float32"):
    return RNG.uniform(-1.5, 1.5, size=shape).astype(dtype)


def saturating(layer, input_shape):
    """Build ``layer`` with weights uniform(-1.5, 1.5) (gates saturate: a strong test)."""
    layer.build(input_shape)
    layer.set_weights([RNG.uniform(-1.5, 1.5, size=w.shape) for w in layer.get_weights()])
    return layer


def models():
    """(name, model, x) for each kind of model predict serves."""
    lstm = saturating(fr.LSTM(6, return_sequences=True, return_state=True), (None, None, 4))
    gru_tm = saturating(fr.GRU(5, time_major=True, return_sequences=True, return_state=True),
                        (None, None, 4))
    bi = saturating(fr.Bidirectional(fr.SimpleRNN(3, return_sequences=True), merge_mode=None),
                    (None, None, 4))
    seq = fr.Sequential([fr.Embedding(20, 4, mask_zero=True), fr.Bidirectional(fr.LSTM(5)),
                         fr.Dense(3, activation="softmax")])
    seq.build((None, 9))
    seq.set_weights([RNG.uniform(-1.5, 1.5, size=w.shape) for w in seq.get_weights()])
    ids = RNG.integers(1, 20, size=(75, 9))
    return [("lstm", lstm, random_x((75, 9, 4))),
            ("gru_time_major", gru_tm, random_x((9, 75, 4))),
            ("bidirectional", bi, random_x((75, 9, 4))),
            ("sequential", seq, ids)]


MODELS = models()
IDS = [name for name, _, _ in MODELS]


def batch_axis(name):
    return 1 if name == "gru_time_major" else 0


def leaves(output):
    return fr.layers.base.flatten(output)


def direct_calls(model, x, batch_size, axis, masks=None):
    """The model called on consecutive slices of ``x``, each output concatenated: what
    predict must assemble (the state outputs of a time-major layer have batch axis 0)."""
    parts = []
    for k, start in enumerate(range(0, x.shape[axis], batch_size)):
        rows = slice(start, start + batch_size)
        xb = x[rows] if axis == 0 else x[:, rows]
        parts.append(leaves(model(xb) if masks is None else model(xb, mask=masks[k])))
    columns = []
    for j, column in enumerate(zip(*parts)):
        out_axis = axis if (axis == 1 and j == 0) else 0
        columns.append(np.concatenate(column, axis=out_axis))
    return columns


@pytest.mark.parametrize("batch_size", [1, 7, 32, 75, 200])
@pytest.mark.parametrize("name,model,x", MODELS, ids=IDS)
def test_predict_assembles_batches_exactly(name, model, x, batch_size):
    got = leaves(model.predict(x, batch_size=batch_size, verbose=0))
    want = direct_calls(model, x, batch_size, batch_axis(name))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("name,model,x", MODELS, ids=IDS)
def test_predict_default_batches_match_one_call(name, model, x):
    """Default batch_size (32, as tf.keras) against the whole array in one call."""
    got = leaves(model.predict(x, verbose=0))
    for g, w in zip(got, leaves(model(x))):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name,model,x", MODELS, ids=IDS)
def test_predict_bitwise_whatever_the_batch_size(name, model, x):
    """A row's result does not depend on its batch (DESIGN.md).  The Sequential's Dense
    head is NumPy's matmul, whose rows differ at 1-2 rows (GEMV / small-GEMM kernels):
    its batch sizes start at 7."""
    whole = leaves(model(x))
    for batch_size in ((7, 16, 32) if name == "sequential" else (1, 2, 7, 32)):
        for g, w in zip(leaves(model.predict(x, batch_size=batch_size, verbose=0)), whole):
            np.testing.assert_array_equal(g, w)


def test_predict_lstm_with_lengths_matches_oracle():
    layer = saturating(fr.LSTM(6, return_sequences=True, return_state=True), (None, None, 4))
    x = random_x((40, 9, 4)).astype("float64")
    lengths = RNG.integers(0, 10, size=40)
    lengths[:3] = [0, 9, 1]
    seq, h, c = layer.predict(x, batch_size=16, lengths=lengths, verbose=0)
    mask = np.arange(9)[None, :] < lengths[:, None]
    kernel, recurrent, bias = layer.get_weights()
    want_seq, (want_h, want_c) = oracle.run_rnn("lstm", x, kernel, recurrent, bias, mask=mask,
                                                return_sequences=True)
    for got, want in ((seq, want_seq), (h, want_h), (c, want_c)):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,model,x", MODELS, ids=IDS)
def test_lengths_as_in_direct_calls(name, model, x):
    """predict(lengths=) is the layer's own lengths= batch by batch, and (for a layer) the
    same as the equivalent mask."""
    axis = batch_axis(name)
    n, steps = x.shape[axis], x.shape[1 - axis]
    lengths = RNG.integers(0, steps + 1, size=n)
    by_lengths = leaves(model.predict(x, batch_size=16, lengths=lengths, verbose=0))
    parts = []
    for start in range(0, n, 16):
        rows = slice(start, start + 16)
        parts.append(leaves(model(x[rows] if axis == 0 else x[:, rows], lengths=lengths[rows])))
    for j, (got, column) in enumerate(zip(by_lengths, zip(*parts))):
        np.testing.assert_array_equal(got, np.concatenate(column, axis=axis if j == 0 else 0))
    if name != "sequential":     # a Sequential's Embedding makes its own mask (tf.keras)
        valid = np.arange(steps)[None, :] < lengths[:, None]
        by_mask = leaves(model.predict(x, batch_size=16, mask=valid.T if axis else valid,
                                       verbose=0))
        for a, b in zip(by_lengths, by_mask):
            np.testing.assert_array_equal(a, b)


def test_lengths_and_mask_combine_by_and():
    layer = saturating(fr.GRU(4, return_sequences=True), (None, None, 3))
    x = random_x((10, 6, 3))
    lengths = np.array([6, 5, 4, 3, 2, 1, 0, 6, 6, 3])
    mask = RNG.random((10, 6)) < 0.7
    both = np.arange(6)[None, :] < lengths[:, None]
    np.testing.assert_array_equal(layer.predict(x, lengths=lengths, mask=mask, verbose=0),
                                  layer.predict(x, mask=both & mask, verbose=0))


def test_sequential_lengths_mean_the_truncated_sequences():
    """Padding past a row's length changes nothing, even without mask_zero: each row
    equals the model run on that row cut to its length (an independent reference)."""
    model = fr.Sequential([fr.Embedding(20, 4), fr.LSTM(5, return_sequences=True),
                           fr.GRU(3), fr.Dense(2)])
    model.build((None, 8))
    model.set_weights([RNG.uniform(-1.5, 1.5, size=w.shape) for w in model.get_weights()])
    ids = RNG.integers(0, 20, size=(6, 8))
    lengths = np.array([8, 1, 5, 3, 7, 2])
    got = model.predict(ids, lengths=lengths, verbose=0)
    for row, length in enumerate(lengths):
        np.testing.assert_allclose(got[row], model(ids[row:row + 1, :length])[0],
                                   rtol=1e-5, atol=1e-6)


def test_predict_reads_memmaps_batch_by_batch(tmp_path):
    _, layer, x = MODELS[0]
    path = tmp_path / "x.npy"
    np.save(path, x.astype("float64"))
    mapped = np.load(path, mmap_mode="r")
    for got, want in zip(layer.predict(mapped, batch_size=8, verbose=0),
                         layer.predict(x, batch_size=8, verbose=0)):
        np.testing.assert_array_equal(got, want)


def test_predict_of_no_rows_has_the_output_shapes():
    _, layer, x = MODELS[0]
    seq, h, c = layer.predict(x[:0], verbose=0)
    assert seq.shape == (0, 9, 6) and h.shape == (0, 6) and c.shape == (0, 6)


def test_progress_bar_only_when_asked(capsys):
    _, layer, x = MODELS[0]
    layer.predict(x, batch_size=8, verbose=1)
    err = capsys.readouterr().err
    assert "75/75" in err and "seq/s" in err
    layer.predict(x, batch_size=8, verbose=0)
    assert capsys.readouterr().err == ""
    layer.predict(x, batch_size=8)                 # "auto": stderr is not a terminal here
    assert capsys.readouterr().err == ""
    layer.predict(x, batch_size=8, verbose=2)
    assert "75/75 sequences in" in capsys.readouterr().err


@pytest.mark.parametrize("bad,error", [("8", TypeError), (0, ValueError), (-3, ValueError),
                                       (True, TypeError), (2.0, TypeError)])
def test_batch_size_errors(bad, error):
    _, layer, x = MODELS[0]
    with pytest.raises(error, match="batch_size"):
        layer.predict(x, batch_size=bad)


@pytest.mark.parametrize("bad", [3, "yes", None, -1])
def test_verbose_errors(bad):
    _, layer, x = MODELS[0]
    with pytest.raises(ValueError, match="verbose"):
        layer.predict(x, verbose=bad)


@pytest.mark.parametrize("bad,error,match", [
    (np.full(75, 3.0), TypeError, "integer"),
    (np.full(75, -1), ValueError, r"\[0, 9\]"),
    (np.full(75, 10), ValueError, r"\[0, 9\]"),
    (np.full(74, 3), ValueError, r"shape \(batch,\)"),
    (np.full((75, 1), 3), ValueError, r"shape \(batch,\)"),
    (np.full(75, True), TypeError, "integer"),
])
@pytest.mark.parametrize("name,model,x", [MODELS[0], MODELS[3]], ids=["lstm", "sequential"])
def test_lengths_errors(name, model, x, bad, error, match):
    with pytest.raises(error, match="lengths") as info:
        model.predict(x, lengths=bad, verbose=0)
    assert info.match(match)


def test_mask_errors():
    _, layer, x = MODELS[0]
    with pytest.raises(ValueError, match="mask"):
        layer.predict(x, mask=np.ones((75, 8), bool))
    with pytest.raises(TypeError, match="mask"):
        layer.predict(x, mask=np.full((75, 9), "a"))


def test_peak_memory_is_bounded_by_the_batch():
    """Beyond its output, predict holds one batch's worth: not the whole input cast to
    float32 (6.4 MB here), nor a second copy of the outputs (concatenation)."""
    layer = saturating(fr.LSTM(16, return_sequences=True), (None, None, 8))
    x = random_x((5000, 20, 8), "float64")                # cast batch by batch
    layer.predict(x[:64], batch_size=32, verbose=0)       # warm the per-thread workspace
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        out = layer.predict(x, batch_size=32, verbose=0)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert out.nbytes == 5000 * 20 * 16 * 4
    assert peak - out.nbytes < 512 * 1024, (peak, out.nbytes)


def test_torch_predict_matches_packed_sequences():
    torch = pytest.importorskip("torch")
    pack, pad = torch.nn.utils.rnn.pack_padded_sequence, torch.nn.utils.rnn.pad_packed_sequence
    lengths = np.array([6, 1, 3, 6, 2, 5, 4, 6, 1])
    for mode, batch_first, bidirectional in [("LSTM", True, True), ("GRU", False, True),
                                             ("RNN", True, False), ("LSTM", False, False)]:
        torch.manual_seed(3)
        module = getattr(torch.nn, mode)(3, 5, num_layers=2, bidirectional=bidirectional,
                                         batch_first=batch_first)
        with torch.no_grad():
            for parameter in module.parameters():
                parameter.uniform_(-1.0, 1.0)
        x = torch.randn((9, 6, 3) if batch_first else (6, 9, 3))
        with torch.no_grad():
            packed_out, states = module(pack(x, torch.tensor(lengths), batch_first=batch_first,
                                             enforce_sorted=False))
            want_out, _ = pad(packed_out, batch_first=batch_first, total_length=6)
        rnn = from_torch(module)
        got_out, got_states = rnn.predict(x.numpy(), batch_size=4, lengths=lengths, verbose=0)
        np.testing.assert_allclose(got_out, want_out.numpy(), rtol=1e-5, atol=1e-5)
        for got, want in zip(leaves(got_states), leaves(states)):
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
        # without lengths: the module's own call, batch by batch
        out, states = rnn.predict(x, batch_size=4, verbose=0)
        with torch.no_grad():
            want_out, want_states = module(x)
        np.testing.assert_allclose(out, want_out.numpy(), rtol=1e-5, atol=1e-5)
        for got, want in zip(leaves(states), leaves(want_states)):
            np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
        assert isinstance(states, tuple) == isinstance(want_states, tuple)


def test_torch_predict_errors():
    state = {"weight_ih_l0": np.ones((4, 3), "float32"),
             "weight_hh_l0": np.ones((4, 4), "float32")}
    rnn = from_torch(state, mode="RNN_TANH", batch_first=True)
    with pytest.raises(ValueError, match="3-D"):
        rnn.predict(np.ones((5, 3)))
    with pytest.raises(ValueError, match="lengths"):
        rnn.predict(np.ones((2, 5, 3)), lengths=np.array([6, 1]))
    with pytest.raises(ValueError, match="features"):
        rnn.predict(np.ones((2, 5, 2)), verbose=0)


class _Terminal:
    """A stderr stand-in that says it is a terminal and keeps what is written."""

    def __init__(self):
        self.text = ""

    def isatty(self):
        return True

    def write(self, text):
        self.text += text

    def flush(self):
        pass


def test_auto_verbose_shows_a_bar_on_a_terminal_for_long_runs_only():
    def slow(batch, mask, lengths):
        time.sleep(0.35)
        return batch * 2

    x = np.ones((4, 3))
    terminal = _Terminal()
    np.testing.assert_array_equal(
        _predict.predict_batches(slow, x, batch_size=1, verbose="auto", file=terminal), 2 * x)
    assert "4/4" in terminal.text and "seq/s" in terminal.text
    quick = _Terminal()
    _predict.predict_batches(lambda batch, mask, lengths: batch, x, batch_size=1,
                             file=quick)
    assert quick.text == ""
