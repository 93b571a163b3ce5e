"""The whole-sequence kernels against the NumPy oracle (tests/oracle.py).

Parametrized over cell x dtype x layout x direction x mask pattern x
return-all/last x initial state, plus edge sizes, long sequences with bounded
memory, every activation in both slots, and the kernels' guards against bad input.
"""
import tracemalloc

import numpy as np
import pytest

from fastrnn import _engine
from fastrnn._engine import KernelWeights, run_sequence
from fastrnn._kernels import _rnn
from oracle import run_rnn

CELLS = ["simple", "lstm", "gru", "gru_reset_before"]
BLOCKS = {"simple": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}
TOL = {np.float32: 1e-5, np.float64: 1e-12}
MASKS = ["none", "post", "pre", "holes", "row"]


def make_mask(kind, batch, steps, rng):
    if kind == "none":
        return None
    lengths = rng.integers(1, steps + 1, size=batch)
    idx = np.arange(steps)[None, :]
    if kind == "post":
        mask = idx < lengths[:, None]
    elif kind == "pre":
        mask = idx >= steps - lengths[:, None]
    elif kind == "holes":
        mask = rng.random((batch, steps)) > 0.4
    else:  # one fully masked row, the rest all true
        mask = np.ones((batch, steps), bool)
        mask[batch // 2] = False
    return mask


def make_case(cell, batch, steps, features, units, rng, scale=1.5):
    """Random weights large enough to saturate gates, inputs ~ N(0, 2)."""
    gates = BLOCKS[cell] * units
    kernel = rng.uniform(-scale, scale, (features, gates))
    recurrent = rng.uniform(-scale, scale, (units, gates))
    bias = rng.uniform(-scale, scale, (2, gates) if cell == "gru" else gates)
    x = rng.normal(0.0, 2.0, (batch, steps, features))
    return kernel, recurrent, bias, x


def oracle(cell, x, kernel, recurrent, bias, **kw):
    return run_rnn("gru" if cell.startswith("gru") else cell, x, kernel, recurrent, bias,
                   reset_after=(cell == "gru"), **kw)


def assert_close(got, want, dtype):
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype])


SUPPORTED_ISAS = _rnn.ISAS[:_rnn.ISAS.index(_rnn.best_isa()) + 1]


@pytest.fixture(params=_rnn.ISAS)
def isa(request):
    """Run with each instruction-set variant forced (skipped where the CPU lacks it)."""
    if request.param not in SUPPORTED_ISAS:
        pytest.skip(f"this CPU does not support the {request.param} variant")
    assert _rnn.select_isa(request.param) == request.param
    yield request.param
    _rnn.select_isa(_engine.ISA)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("time_major", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", MASKS)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_matches_oracle(cell, dtype, time_major, go_backwards, mask_kind, return_sequences,
                        isa):
    rng = np.random.default_rng(hash((cell, time_major, go_backwards, mask_kind)) % 2**32)
    batch, steps, features, units = 3, 6, 4, 5
    kernel, recurrent, bias, x = make_case(cell, batch, steps, features, units, rng)
    mask = make_mask(mask_kind, batch, steps, rng)
    n_states = 2 if cell == "lstm" else 1
    for initial in (None, [rng.normal(size=(batch, units)) for _ in range(n_states)]):
        for zero_output in (False, True):
            xin = x.transpose(1, 0, 2) if time_major else x
            min_ = None if mask is None else (mask.T if time_major else mask)
            kw = dict(mask=min_, initial_state=initial, time_major=time_major,
                      go_backwards=go_backwards, return_sequences=return_sequences,
                      zero_output_for_mask=zero_output)
            weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid", dtype)
            out, states = run_sequence(weights, xin.astype(dtype), **kw)
            want_out, want_states = oracle(cell, xin, kernel, recurrent, bias, **kw)
            assert out.dtype == dtype and out.shape == want_out.shape
            assert_close(out, want_out, dtype)
            assert len(states) == n_states
            for got, want in zip(states, want_states):
                assert_close(got, want, dtype)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("batch,steps", [(1, 1), (1, 9), (5, 1), (2, 3)])
@pytest.mark.parametrize("use_bias", [True, False])
def test_edge_sizes_and_no_bias(cell, batch, steps, use_bias):
    rng = np.random.default_rng(batch * 10 + steps)
    kernel, recurrent, bias, x = make_case(cell, batch, steps, 3, 4, rng)
    bias = bias if use_bias else None
    weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid", np.float64)
    for return_sequences in (False, True):
        out, states = run_sequence(weights, x, return_sequences=return_sequences)
        want, want_states = oracle(cell, x, kernel, recurrent, bias,
                                   return_sequences=return_sequences)
        assert_close(out, want, np.float64)
        assert_close(states[0], want_states[0], np.float64)


@pytest.mark.parametrize("cell", CELLS)
def test_zero_steps_and_empty_batch(cell):
    rng = np.random.default_rng(1)
    kernel, recurrent, bias, _ = make_case(cell, 2, 1, 3, 4, rng)
    weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid")
    h0 = [rng.normal(size=(2, 4)).astype(np.float32) for _ in range(2 if cell == "lstm" else 1)]
    last, states = run_sequence(weights, np.zeros((2, 0, 3)), initial_state=h0)
    np.testing.assert_array_equal(last, np.zeros((2, 4)))  # tf.keras's zero "previous output"
    for got, want in zip(states, h0):
        np.testing.assert_array_equal(got, want)
    seq, _ = run_sequence(weights, np.zeros((2, 0, 3)), return_sequences=True)
    assert seq.shape == (2, 0, 4)
    empty, states = run_sequence(weights, np.zeros((0, 5, 3)), return_sequences=True)
    assert empty.shape == (0, 5, 4) and states[0].shape == (0, 4)


ACTIVATION_NAMES = sorted(_rnn.ACTIVATIONS)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_every_activation_in_both_slots(cell, activation, dtype):
    rng = np.random.default_rng(ACTIVATION_NAMES.index(activation))
    # exponential and the unbounded ones grow fast: keep the weights moderate
    scale = 0.3 if activation in ("exponential", "relu", "elu", "selu", "linear",
                                  "softplus", "swish", "silu") else 1.5
    kernel, recurrent, bias, x = make_case(cell, 2, 5, 3, 4, rng, scale=scale)
    x = x * 0.5
    for act, rec_act in ((activation, "sigmoid"), ("tanh", activation)):
        if cell == "simple" and act != activation:
            continue  # SimpleRNN has a single activation slot
        weights = KernelWeights(cell, kernel, recurrent, bias, act, rec_act, dtype)
        out, states = run_sequence(weights, x, return_sequences=True)
        want, _ = oracle(cell, x, kernel, recurrent, bias, activation_name=act,
                         recurrent_activation_name=rec_act, return_sequences=True)
        scale_out = max(1.0, np.abs(want).max())
        np.testing.assert_allclose(out, want, rtol=0, atol=TOL[dtype] * scale_out)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_saturating_values_stay_finite(cell):
    rng = np.random.default_rng(7)
    kernel, recurrent, bias, x = make_case(cell, 2, 20, 3, 4, rng, scale=50.0)
    x = x * 100.0
    for dtype in (np.float32, np.float64):
        weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid", dtype)
        out, _ = run_sequence(weights, x, return_sequences=True)
        want, _ = oracle(cell, x, kernel, recurrent, bias, return_sequences=True)
        assert np.isfinite(out).all()
        assert_close(out, want, dtype)


def test_nan_and_inf_inputs_are_computed_through():
    rng = np.random.default_rng(3)
    kernel, recurrent, bias, x = make_case("lstm", 2, 4, 3, 4, rng)
    x[0, 1, 0] = np.nan
    x[1, 2, 1] = np.inf
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    out, _ = run_sequence(weights, x, return_sequences=True)
    want, _ = oracle("lstm", x, kernel, recurrent, bias, return_sequences=True)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_allclose(out[finite], want[finite], atol=1e-5)


@pytest.mark.parametrize("time_major", [False, True])
def test_chunked_projection_matches_one_chunk(monkeypatch, time_major):
    """Several chunks of timesteps (small CHUNK_BYTES) give the oracle's result,
    including a last chunk shorter than the others, forwards and backwards."""
    monkeypatch.setattr(_engine, "CHUNK_BYTES", 3 * 4 * 16 * 4)  # 3 steps per chunk
    rng = np.random.default_rng(11)
    kernel, recurrent, bias, x = make_case("lstm", 4, 11, 3, 4, rng)
    mask = make_mask("holes", 4, 11, rng)
    xin = x.transpose(1, 0, 2) if time_major else x
    min_ = None if mask is None else (mask.T if time_major else mask)
    for go_backwards in (False, True):
        kw = dict(mask=min_, time_major=time_major, go_backwards=go_backwards,
                  return_sequences=True)
        weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid", np.float64)
        out, states = run_sequence(weights, xin, **kw)
        want, want_states = oracle("lstm", xin, kernel, recurrent, bias, **kw)
        assert_close(out, want, np.float64)
        assert_close(states[1], want_states[1], np.float64)


def test_long_sequence_memory_is_bounded():
    """T = 20,000 with only the last output: no T x B x 4H workspace is made."""
    rng = np.random.default_rng(5)
    batch, steps, features, units = 2, 40_000, 8, 16
    kernel, recurrent, bias, _ = make_case("lstm", 1, 1, features, units, rng, scale=0.5)
    x = rng.normal(size=(batch, steps, features)).astype(np.float32)
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    _engine._per_thread.__dict__.clear()
    from fastrnn import _threads
    tracemalloc.start()
    with _threads.num_threads(2):       # one chunk of projections per thread
        out, states = run_sequence(weights, x)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    full_projection = steps * batch * 4 * units * 4
    # per thread: a chunk of projections, its packed inputs and row lists (< 1.5 chunks)
    bound = 2 * 1.5 * _engine.CHUNK_BYTES + (256 << 10)
    assert full_projection > 3 * bound
    assert peak < bound, (peak, full_projection)
    want, want_states = oracle("lstm", x, kernel, recurrent, bias)
    np.testing.assert_allclose(out, want, atol=1e-4)
    np.testing.assert_allclose(states[1], want_states[1], atol=1e-3)


def test_noncontiguous_and_integer_inputs_are_accepted():
    rng = np.random.default_rng(9)
    kernel, recurrent, bias, x = make_case("gru", 3, 8, 4, 5, rng)
    weights = KernelWeights("gru", kernel, recurrent, bias, "tanh", "sigmoid", np.float64)
    strided = np.asfortranarray(x)[:, ::2]
    out, _ = run_sequence(weights, strided, return_sequences=True)
    want, _ = oracle("gru", strided, kernel, recurrent, bias, return_sequences=True)
    assert_close(out, want, np.float64)
    ints = rng.integers(-2, 3, size=(3, 4, 4))
    out, _ = run_sequence(weights, ints)
    want, _ = oracle("gru", ints, kernel, recurrent, bias)
    assert_close(out, want, np.float64)


def test_repeated_calls_reuse_the_workspace():
    rng = np.random.default_rng(2)
    kernel, recurrent, bias, x = make_case("lstm", 2, 6, 3, 4, rng)
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    run_sequence(weights, x)
    first = _engine._per_thread.workspace
    run_sequence(weights, x)
    assert _engine._per_thread.workspace is first


def test_state_buffers_are_updated_in_place():
    rng = np.random.default_rng(4)
    kernel, recurrent, bias, x = make_case("lstm", 2, 6, 3, 4, rng)
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid", np.float64)
    buffers = [np.zeros((2, 4)), np.zeros((2, 4))]
    _, states = run_sequence(weights, x[:, :3], state_buffers=buffers)
    assert states[0] is buffers[0]
    run_sequence(weights, x[:, 3:], state_buffers=buffers)
    _, want = oracle("lstm", x, kernel, recurrent, bias)
    assert_close(buffers[0], want[0], np.float64)
    assert_close(buffers[1], want[1], np.float64)


# ---- bad input never reaches the kernel -------------------------------------------

def _weights():
    rng = np.random.default_rng(0)
    kernel, recurrent, bias, _ = make_case("lstm", 1, 1, 3, 4, rng)
    return KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")


@pytest.mark.parametrize("inputs,error,words", [
    (np.zeros((2, 3)), ValueError, "3-D"),
    (np.zeros((2, 3, 5)), ValueError, "5 features"),
    (np.zeros((2, 3, 3), dtype=complex), TypeError, "real numbers"),
    (np.array([["a"]]), TypeError, "real numbers"),
    ([[[object()]]], TypeError, "inputs"),
])
def test_bad_inputs_raise_clear_errors(inputs, error, words):
    with pytest.raises(error, match=words):
        run_sequence(_weights(), inputs)


def test_bad_mask_and_states_raise_clear_errors():
    w, x = _weights(), np.zeros((2, 5, 3))
    with pytest.raises(ValueError, match=r"mask must have shape .*\(2, 5\)"):
        run_sequence(w, x, mask=np.ones((5, 2), bool))
    with pytest.raises(ValueError, match=r"\(time, batch\)"):
        run_sequence(w, x.transpose(1, 0, 2), mask=np.ones((2, 5), bool), time_major=True)
    with pytest.raises(TypeError, match="mask must be boolean"):
        run_sequence(w, x, mask=np.full((2, 5), "x"))
    with pytest.raises(ValueError, match="2 state array"):
        run_sequence(w, x, initial_state=[np.zeros((2, 4))])
    with pytest.raises(ValueError, match=r"initial_state\[1\] must have shape \(2, 4\)"):
        run_sequence(w, x, initial_state=[np.zeros((2, 4)), np.zeros((3, 4))])


def test_kernel_guards_refuse_mismatched_arrays():
    """The private kernel entry checks the memory it will touch, even if misused."""
    f32 = np.float32
    rng = np.random.default_rng(0)
    kernel, recurrent, bias, _ = make_case("lstm", 1, 1, 3, 4, rng)
    w = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    h, c = np.zeros((2, 4), f32), np.zeros((2, 4), f32)
    x, out = np.zeros((2, 5, 3), f32), np.zeros((2, 4), f32)
    ws = _engine._workspace(_rnn.workspace_bytes(1, 4, 4, 3, 2, 5))
    misaligned = np.empty(w.u.size + 1, f32)[1:]
    misaligned = misaligned if misaligned.ctypes.data % 64 else np.empty(w.u.size + 2, f32)[2:]
    args = dict(cell=1, act=1, rec_act=2, x=x, time_major=False, w=w.w, u=w.u, u_h=None,
                bias=w.bias, rbias=None, units=4, h=h, c=c, mask=None, lengths=None, out=out,
                return_sequences=False, go_backwards=False, zero_output_for_mask=False,
                workspace=ws, chunk=5, threads=1)
    _rnn.run_sequence(**args)  # well-formed: runs
    for key, bad in [("workspace", ws[:10]), ("workspace", None), ("u", w.w), ("u", None),
                     ("u", misaligned), ("bias", w.u), ("out", np.zeros((2, 3), f32)),
                     ("x", np.zeros((2, 5, 3))), ("c", None), ("act", 99), ("units", 5),
                     ("mask", np.ones((2, 4), np.uint8)), ("cell", 7), ("chunk", 0),
                     ("lengths", np.zeros(2, np.int32)), ("lengths", np.zeros(3, np.intp)),
                     ("h", np.zeros((2, 4), f32)[:, ::2])]:
        with pytest.raises(ValueError):
            _rnn.run_sequence(**{**args, key: bad})


@pytest.mark.parametrize("dtype,rel", [(np.float32, 1e-6), (np.float64, 1e-14)])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_gate_activations_are_accurate_over_the_whole_range(dtype, rel, name):
    """The vectorized sigmoid / tanh: relative accuracy from tiny to huge arguments
    (libm-level), exact saturation, NaN propagated.  Run through a one-unit
    SimpleRNN with W = 1, U = 0, so the output is act(x)."""
    tiny = np.finfo(dtype).tiny
    mags = np.concatenate([np.geomspace(tiny * 1e3, 1.0, 2000), np.linspace(1.0, 50.0, 2000),
                           [100.0, 500.0, 1e30]])
    x = np.concatenate([-mags[::-1], [0.0], mags]).astype(dtype)
    weights = KernelWeights("simple", np.ones((1, 1)), np.zeros((1, 1)), None, name, "linear",
                            dtype)
    got, _ = run_sequence(weights, x.reshape(-1, 1, 1))
    with np.errstate(over="ignore"):
        x64 = x.astype(np.float64)
        want = np.tanh(x64) if name == "tanh" else 1.0 / (1.0 + np.exp(-x64))
    got = got[:, 0].astype(np.float64)
    big = np.abs(want) > np.finfo(dtype).tiny * 1e6
    np.testing.assert_allclose(got[big], want[big], rtol=rel, atol=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=np.finfo(dtype).eps)
    nan_out, _ = run_sequence(weights, np.array([[[np.nan]]], dtype))
    assert np.isnan(nan_out).all()


# ---- every variant x the sizes that hit every tile shape and panel tail ----------------

# (units, features, batch): every H in {1, 3, 15, 16, 17, 33, 100, 257, 1000}, I in
# {1, 5, 64, 300} and B in {1, 2, 3, 7, 17, 63, 64, 65} appears at least once.
GRID_SIZES = [(1, 1, 1), (3, 5, 2), (15, 64, 3), (16, 300, 7), (17, 1, 17), (33, 5, 63),
              (100, 64, 64), (257, 300, 65), (1000, 5, 2), (16, 1, 65), (17, 64, 1),
              (3, 300, 64)]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("units,features,batch", GRID_SIZES)
def test_sizes_match_oracle_on_every_variant(cell, dtype, units, features, batch, isa):
    rng = np.random.default_rng(units * 1000 + features * 10 + batch)
    steps = 2 if units >= 257 else 5
    scale = 1.5 / np.sqrt(max(units, features) / 4)   # pre-activations of order 1
    kernel, recurrent, bias, x = make_case(cell, batch, steps, features, units, rng, scale)
    mask = make_mask("holes", batch, steps, rng)
    for go_backwards in (False, True):
        kw = dict(mask=mask, go_backwards=go_backwards, return_sequences=True)
        weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid", dtype)
        out, states = run_sequence(weights, x.astype(dtype), **kw)
        want, want_states = oracle(cell, x, kernel, recurrent, bias, **kw)
        tol = TOL[dtype] * (10 if units >= 257 else 1)
        np.testing.assert_allclose(out, want, rtol=0, atol=tol)
        for got, ref in zip(states, want_states):
            np.testing.assert_allclose(got, ref, rtol=0, atol=tol)


def test_every_variant_agrees_with_the_others():
    """The variants run different code: they agree to rounding, and really differ in it
    (so the forcing does switch the code that runs)."""
    rng = np.random.default_rng(21)
    kernel, recurrent, bias, x = make_case("lstm", 9, 7, 13, 40, rng, scale=0.4)
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    results = {}
    try:
        for name in SUPPORTED_ISAS:
            _rnn.select_isa(name)
            assert _rnn.isa() == name
            results[name], _ = run_sequence(weights, x.astype(np.float32), return_sequences=True)
    finally:
        _rnn.select_isa(_engine.ISA)
    first = results[SUPPORTED_ISAS[0]]
    for name, out in results.items():
        np.testing.assert_allclose(out, first, atol=2e-5)
    if len(results) > 1:
        assert any(not np.array_equal(out, first) for out in results.values())


# ---- bitwise invariance: batch, position, threads, chunking ------------------------------

def _row_results(weights, x, **kw):
    out, states = run_sequence(weights, x, return_sequences=True, **kw)
    return out, states


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_row_is_bitwise_the_same_in_any_batch(cell, dtype, isa, monkeypatch):
    rng = np.random.default_rng(31)
    kernel, recurrent, bias, _ = make_case(cell, 1, 1, 24, 37, rng, scale=0.3)
    weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid", dtype)
    steps = 9
    big = rng.normal(size=(65, steps, 24)).astype(dtype)
    row = big[5:6]
    alone, alone_states = _row_results(weights, row)
    from fastrnn import _threads
    for batch, position in [(7, 3), (64, 0), (65, 5), (65, 64)]:
        x = big[:batch].copy()
        x[position] = row[0]
        for threads in (1, 2):
            with _threads.num_threads(threads):
                monkeypatch.setattr(_threads, "MIN_PARALLEL_WORK", 1)
                out, states = _row_results(weights, x)
            np.testing.assert_array_equal(out[position], alone[0])
            for got, ref in zip(states, alone_states):
                np.testing.assert_array_equal(got[position], ref[0])
    monkeypatch.setattr(_engine, "CHUNK_BYTES", 1)       # one timestep per chunk
    out, _ = _row_results(weights, row)
    np.testing.assert_array_equal(out, alone)


def test_two_threads_give_the_one_thread_results(monkeypatch):
    from fastrnn import _threads
    monkeypatch.setattr(_threads, "MIN_PARALLEL_WORK", 1)
    rng = np.random.default_rng(41)
    for cell in CELLS:
        kernel, recurrent, bias, x = make_case(cell, 33, 12, 10, 20, rng, scale=0.5)
        mask = make_mask("holes", 33, 12, rng)
        weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid")
        results = []
        for threads in (1, 2):
            with _threads.num_threads(threads):
                results.append(run_sequence(weights, x, mask=mask, return_sequences=True))
        np.testing.assert_array_equal(results[0][0], results[1][0])
        for a, b in zip(results[0][1], results[1][1]):
            np.testing.assert_array_equal(a, b)
        want, _ = oracle(cell, x, kernel, recurrent, bias, mask=mask, return_sequences=True)
        np.testing.assert_allclose(results[1][0], want, atol=1e-5)


def test_python_threads_sharing_weights_get_the_serial_results():
    from concurrent.futures import ThreadPoolExecutor
    rng = np.random.default_rng(43)
    kernel, recurrent, bias, _ = make_case("gru", 1, 1, 6, 30, rng, scale=0.5)
    weights = KernelWeights("gru", kernel, recurrent, bias, "tanh", "sigmoid")
    inputs = [rng.normal(size=(int(b), 15, 6)).astype(np.float32)
              for b in rng.integers(1, 9, size=40)]
    serial = [run_sequence(weights, x)[0] for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda x: run_sequence(weights, x)[0], inputs))
    for a, b in zip(serial, parallel):
        np.testing.assert_array_equal(a, b)


# ---- lengths ----------------------------------------------------------------------------

@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output", [False, True])
def test_lengths_equal_the_mask_form_bitwise(cell, go_backwards, return_sequences, zero_output):
    rng = np.random.default_rng(51)
    batch, steps = 6, 8
    kernel, recurrent, bias, x = make_case(cell, batch, steps, 5, 18, rng, scale=0.5)
    lengths = np.array([8, 0, 3, 1, 8, 5])                    # unsorted, with 0 and T
    mask = np.arange(steps)[None, :] < lengths[:, None]
    holes = make_mask("holes", batch, steps, rng)
    weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid")
    h0 = [rng.normal(size=(batch, 18)) for _ in range(2 if cell == "lstm" else 1)]
    kw = dict(go_backwards=go_backwards, return_sequences=return_sequences,
              zero_output_for_mask=zero_output, initial_state=h0)
    for given_mask, combined in ((None, mask), (holes, mask & holes)):
        by_lengths = run_sequence(weights, x, lengths=lengths, mask=given_mask, **kw)
        by_mask = run_sequence(weights, x, mask=combined, **kw)
        np.testing.assert_array_equal(by_lengths[0], by_mask[0])
        for a, b in zip(by_lengths[1], by_mask[1]):
            np.testing.assert_array_equal(a, b)
        want, want_states = oracle(cell, x, kernel, recurrent, bias, mask=combined, **kw)
        np.testing.assert_allclose(by_lengths[0], want, atol=1e-5)
    # the row of length 0 keeps its initial state
    np.testing.assert_allclose(by_lengths[1][0][1], h0[0][1].astype(np.float32))


@pytest.mark.parametrize("lengths,error,words", [
    (np.array([1.0, 2.0]), TypeError, "integer"),
    (np.array([1, 2, 3]), ValueError, r"shape \(batch,\) = \(2,\)"),
    (np.array([-1, 2]), ValueError, r"\[0, 5\]"),
    (np.array([6, 2]), ValueError, r"\[0, 5\]"),
])
def test_bad_lengths_raise_clear_errors(lengths, error, words):
    with pytest.raises(error, match="lengths.*" + words):
        run_sequence(_weights(), np.zeros((2, 5, 3)), lengths=lengths)


# ---- numerics: empty inputs, denormals, the caller's floating-point mode -----------------

@pytest.mark.parametrize("cell", CELLS)
def test_zero_features_project_to_zeros(cell):
    """x W of a (B, T, 0) input is zeros: the result is the recurrence on h U + b."""
    rng = np.random.default_rng(61)
    kernel, recurrent, bias, x = make_case(cell, 3, 6, 0, 5, rng)
    weights = KernelWeights(cell, kernel, recurrent, bias, "tanh", "sigmoid")
    h0 = [rng.normal(size=(3, 5)) for _ in range(2 if cell == "lstm" else 1)]
    out, _ = run_sequence(weights, x, initial_state=h0, return_sequences=True)
    want, _ = oracle(cell, x, kernel, recurrent, bias, initial_state=h0, return_sequences=True)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, want, atol=1e-5)


def test_denormal_states_are_flushed_and_the_callers_mode_restored():
    """States that decay into the subnormal range are flushed to zero inside the call
    (no slow path), and the caller's floating-point mode is untouched afterwards."""
    rng = np.random.default_rng(71)
    kernel, recurrent, bias, x = make_case("lstm", 2, 50, 4, 8, rng, scale=0.5)
    bias = bias.copy()
    bias[24:32] = -95.0        # output gate ~ e^-95: h lands in float32's subnormal range
    weights = KernelWeights("lstm", kernel, recurrent, bias, "tanh", "sigmoid")
    out, _ = run_sequence(weights, x, return_sequences=True)
    want, _ = oracle("lstm", x, kernel, recurrent, bias, return_sequences=True)
    np.testing.assert_allclose(out, want, atol=1e-30)
    tiny = np.finfo(np.float32).tiny
    assert np.float32(tiny) * np.float32(0.5) > 0     # subnormals still exist out here


@pytest.mark.parametrize("name", ["portable", "avx2", "avx512", "sse9"])
def test_fastrnn_isa_forces_a_variant_at_load(name):
    """FASTRNN_ISA picks the variant when fastrnn loads (never above the CPU's best)."""
    import subprocess
    import sys
    code = "from fastrnn._kernels import _rnn; import fastrnn; print(_rnn.isa())"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={**__import__("os").environ, "FASTRNN_ISA": name})
    assert result.returncode == 0, result.stderr
    expected = name if name in SUPPORTED_ISAS else _rnn.best_isa()
    assert result.stdout.strip() == expected
    if name not in _rnn.ISAS:
        assert "FASTRNN_ISA" in result.stderr and "RuntimeWarning" in result.stderr


def test_strides_past_two_to_the_31_are_exact():
    """Batch-major input with T * features > 2**31 (a zero-page array, so no real memory):
    row 1 starts 2**31 + 16384 elements in, beyond a C int.  lengths= makes the kernel
    touch only the first steps; the result is the oracle's on those steps."""
    steps, features = 131073, 16384
    x = np.zeros((2, steps, features), np.float32)     # calloc: untouched pages cost nothing
    assert x.strides[0] // 4 > 2**31
    x[0, 0, :4] = [1.0, -2.0, 0.5, 3.0]
    x[1, 1, -4:] = [0.25, 1.0, -1.0, 2.0]
    rng = np.random.default_rng(81)
    kernel = rng.normal(0, 0.05, (features, 3 * 4))
    recurrent = rng.normal(0, 0.5, (4, 3 * 4))
    weights = KernelWeights("gru", kernel, recurrent, None, "tanh", "sigmoid")
    lengths = np.array([1, 2])
    out, states = run_sequence(weights, x, lengths=lengths)
    small = np.stack([x[0, :2], x[1, :2]]).astype(np.float64)
    want, want_states = oracle("gru", small, kernel, recurrent, None,
                               mask=np.arange(2)[None, :] < lengths[:, None])
    np.testing.assert_allclose(out, want, atol=1e-5)
    np.testing.assert_allclose(states[0], want_states[0], atol=1e-5)
