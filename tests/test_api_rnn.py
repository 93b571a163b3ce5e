"""fr.RNN and the convenience layers against the float64 NumPy oracle (tests/oracle.py).

Covers both paths of the same RNN: the compiled kernels (built-in cells) and
the Python step loop (custom cells, Python activations, dropout in training),
over masks x go_backwards x return_sequences x zero_output_for_mask x
time_major x dtype; stacked cells; stateful serving; custom cells with
constants, tuple and higher-dimensional states; dropout; TfLiteRNNCell.
"""
import threading

import numpy as np
import pytest

import fastrnn as fr
from oracle import ACTIVATIONS, gru_step, lstm_step, run_rnn, simple_rnn_step

TOL = {np.float32: 1e-5, np.float64: 1e-12}
KINDS = ["simple", "lstm", "gru", "gru_reset_before"]
N_STATES = {"simple": 1, "lstm": 2, "gru": 1, "gru_reset_before": 1}
B, T, I, H = 3, 7, 4, 5


def make_layer(kind, units=H, **kwargs):
    """The convenience layer of ``kind``."""
    if kind == "simple":
        return fr.SimpleRNN(units, **kwargs)
    if kind == "lstm":
        return fr.LSTM(units, **kwargs)
    return fr.GRU(units, reset_after=(kind == "gru"), **kwargs)


def make_cell(kind, units=H, **kwargs):
    """The built-in cell of ``kind``."""
    if kind == "simple":
        return fr.SimpleRNNCell(units, **kwargs)
    if kind == "lstm":
        return fr.LSTMCell(units, **kwargs)
    return fr.GRUCell(units, reset_after=(kind == "gru"), **kwargs)


def randomize(layer, rng, scale=1.5):
    """Give a built layer random weights (large enough to saturate gates)."""
    weights = [rng.uniform(-scale, scale, w.shape) for w in layer.get_weights()]
    layer.set_weights(weights)
    return weights


def make_mask(kind, rng, batch=B, steps=T):
    if kind == "none":
        return None
    if kind == "holes":
        return rng.random((batch, steps)) > 0.4
    mask = np.ones((batch, steps), bool)   # "rows": post- and pre-padding, one empty row
    mask[0, steps - 3:] = False
    mask[1, :2] = False
    mask[2] = False
    return mask


def oracle_layer(kind, weights, x, activation="tanh", recurrent_activation="sigmoid", **kw):
    """tests/oracle.py for one layer with Keras-layout ``weights``."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    return run_rnn("gru" if kind.startswith("gru") else kind, x, kernel, recurrent, bias,
                   activation_name=activation, recurrent_activation_name=recurrent_activation,
                   reset_after=(kind == "gru"), **kw)


def assert_close(got, want, dtype):
    got = np.asarray(got)
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype])


def oracle_step(kind, weights, activation="tanh", recurrent_activation="sigmoid"):
    """A one-step function ``(x, states) -> (out, states)`` from the oracle."""
    kernel, recurrent = weights[0], weights[1]
    bias = weights[2] if len(weights) > 2 else None
    act, ract = ACTIVATIONS[activation], ACTIVATIONS[recurrent_activation]
    if kind == "simple":
        return lambda x, s: simple_rnn_step(x, s, kernel, recurrent, bias, act)
    if kind == "lstm":
        return lambda x, s: lstm_step(x, s, kernel, recurrent, bias, act, ract)
    return lambda x, s: gru_step(x, s, kernel, recurrent, bias, act, ract, kind == "gru")


def stack_reference(steps_fns, units, x, mask=None, go_backwards=False,
                    return_sequences=False, zero_output_for_mask=False, initial_states=None):
    """Stacked cells, one step at a time through every cell (tf.keras's StackedRNNCells)."""
    batch, n_steps = x.shape[0], x.shape[1]
    states = initial_states or [[np.zeros((batch, u)) for _ in range(n)] for u, n in units]
    previous = np.zeros((batch, units[-1][0]))
    outputs = []
    for t in (range(n_steps - 1, -1, -1) if go_backwards else range(n_steps)):
        inputs, new_states = x[:, t], []
        for step, cell_states in zip(steps_fns, states):
            inputs, cell_new = step(inputs, cell_states)
            new_states.append(cell_new)
        if mask is not None:
            keep = mask[:, t][:, None]
            inputs = np.where(keep, inputs, 0.0 if zero_output_for_mask else previous)
            new_states = [[np.where(keep, n, s) for n, s in zip(cn, cs)]
                          for cn, cs in zip(new_states, states)]
        states, previous = new_states, inputs
        outputs.append(inputs)
    output = np.stack(outputs, axis=1) if return_sequences else previous
    return output, states


# --------------------------------------------------------------------------
# single layers, kernel path
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "holes", "rows"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_layer_matches_oracle(kind, dtype, go_backwards, mask_kind, return_sequences,
                              zero_output_for_mask):
    rng = np.random.default_rng(hash((kind, go_backwards, mask_kind)) % 2**32)
    layer = make_layer(kind, dtype=dtype, go_backwards=go_backwards, return_state=True,
                       return_sequences=return_sequences,
                       zero_output_for_mask=zero_output_for_mask)
    layer.build((B, T, I))
    weights = randomize(layer, rng)
    x = rng.normal(0, 2, (B, T, I))
    mask = make_mask(mask_kind, rng)
    init = [rng.uniform(-0.8, 0.8, (B, H)) for _ in range(N_STATES[kind])]
    out, *states = layer(x, mask=mask, initial_state=init)
    want, want_states = oracle_layer(kind, weights, x, mask=mask, initial_state=init,
                                     go_backwards=go_backwards,
                                     return_sequences=return_sequences,
                                     zero_output_for_mask=zero_output_for_mask)
    assert_close(out, want, dtype)
    assert len(states) == N_STATES[kind]
    for got, expected in zip(states, want_states):
        assert_close(got, expected, dtype)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_time_major_layout(kind, go_backwards, return_sequences):
    rng = np.random.default_rng(3)
    layer = make_layer(kind, time_major=True, go_backwards=go_backwards, return_state=True,
                       return_sequences=return_sequences, zero_output_for_mask=True)
    layer.build((T, B, I))
    weights = randomize(layer, rng)
    x = rng.normal(0, 2, (T, B, I))
    mask = make_mask("rows", rng).T          # (time, batch)
    out, *states = layer(x, mask=mask)
    want, want_states = oracle_layer(kind, weights, x, mask=mask, time_major=True,
                                     go_backwards=go_backwards,
                                     return_sequences=return_sequences,
                                     zero_output_for_mask=True)
    assert out.shape == ((T, B, H) if return_sequences else (B, H))
    assert_close(out, want, np.float32)
    for got, expected in zip(states, want_states):
        assert_close(got, expected, np.float32)


@pytest.mark.parametrize("kind", KINDS)
def test_unroll_changes_nothing(kind):
    rng = np.random.default_rng(4)
    x, mask = rng.normal(0, 2, (B, T, I)), make_mask("holes", rng)
    rolled = make_layer(kind, return_sequences=True, return_state=True)
    unrolled = make_layer(kind, return_sequences=True, return_state=True, unroll=True)
    rolled.build(x.shape)
    unrolled.build(x.shape)
    unrolled.set_weights(randomize(rolled, rng))
    for a, b in zip(rolled(x, mask=mask), unrolled(x, mask=mask)):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("kind", KINDS)
def test_rnn_of_cell_equals_convenience_layer(kind):
    rng = np.random.default_rng(5)
    x = rng.normal(0, 2, (B, T, I))
    layer = make_layer(kind, return_sequences=True)
    rnn = fr.RNN(make_cell(kind), return_sequences=True)
    layer.build(x.shape)
    rnn.build(x.shape)
    rnn.set_weights(randomize(layer, rng))
    np.testing.assert_array_equal(layer(x), rnn(x))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("activation", ["relu", "hard_sigmoid", "softsign", "exponential"])
def test_activations_in_both_slots(kind, activation):
    rng = np.random.default_rng(6)
    kwargs = {"activation": activation}
    if kind != "simple" and activation != "exponential":   # exp(exp(...)) gates overflow
        kwargs["recurrent_activation"] = activation
    layer = make_layer(kind, return_sequences=True, **kwargs)
    layer.build((B, T, I))
    small = activation == "exponential"      # exponential gates grow fast
    weights = randomize(layer, rng, scale=0.1 if small else 0.4)
    x = rng.normal(0, 0.2 if small else 0.5, (B, T, I))
    want, _ = oracle_layer(kind, weights, x, activation=activation,
                           recurrent_activation=kwargs.get("recurrent_activation", "sigmoid"),
                           return_sequences=True)
    np.testing.assert_allclose(layer(x), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind", KINDS)
def test_use_bias_false(kind):
    rng = np.random.default_rng(7)
    layer = make_layer(kind, use_bias=False, return_sequences=True)
    layer.build((B, T, I))
    weights = randomize(layer, rng)
    assert len(weights) == 2
    x = rng.normal(0, 2, (B, T, I))
    want, _ = oracle_layer(kind, weights, x, return_sequences=True)
    assert_close(layer(x), want, np.float32)


def test_convenience_layer_exposes_cell_attributes():
    layer = fr.LSTM(3, recurrent_activation="hard_sigmoid", dropout=0.25, unit_forget_bias=False)
    assert layer.units == 3 and layer.dropout == 0.25 and layer.unit_forget_bias is False
    assert layer.recurrent_activation is fr.activations.hard_sigmoid
    assert fr.GRU(2, reset_after=False).reset_after is False


# --------------------------------------------------------------------------
# the Python step loop gives the kernel's results
# --------------------------------------------------------------------------

def python_tanh(x):
    """tanh as a Python callable the kernels do not know: forces the step loop."""
    return np.tanh(x)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "rows"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("time_major", [False, True])
def test_step_loop_matches_oracle(kind, go_backwards, mask_kind, return_sequences,
                                  zero_output_for_mask, time_major):
    rng = np.random.default_rng(8)
    layer = make_layer(kind, activation=python_tanh, go_backwards=go_backwards,
                       return_sequences=return_sequences, return_state=True,
                       zero_output_for_mask=zero_output_for_mask, time_major=time_major)
    x = rng.normal(0, 2, (T, B, I) if time_major else (B, T, I))
    layer.build(x.shape)
    assert layer.cell._kernel_weights is None          # the step loop runs
    weights = randomize(layer, rng)
    mask = make_mask(mask_kind, rng)
    if mask is not None and time_major:
        mask = mask.T
    out, *states = layer(x, mask=mask)
    want, want_states = oracle_layer(kind, weights, x, mask=mask, go_backwards=go_backwards,
                                     return_sequences=return_sequences, time_major=time_major,
                                     zero_output_for_mask=zero_output_for_mask)
    assert_close(out, want, np.float32)
    for got, expected in zip(states, want_states):
        assert_close(got, expected, np.float32)


# --------------------------------------------------------------------------
# stacked cells
# --------------------------------------------------------------------------

STACKS = {
    "lstm_gru_simple": [("lstm", 3), ("gru", 4), ("simple", 5)],
    "gru_before_lstm": [("gru_reset_before", 4), ("lstm", 3)],
    "simple_lstm_lstm": [("simple", 5), ("lstm", 3), ("lstm", 2)],
}


def stacked_init(variant, rng):
    """Nested initial states: one entry per cell, an LSTM's entry [h, c]."""
    init = []
    for kind, units in STACKS[variant]:
        states = [rng.uniform(-0.8, 0.8, (B, units)) for _ in range(N_STATES[kind])]
        init.append(states if kind == "lstm" else states[0])
    return init


@pytest.mark.parametrize("variant", sorted(STACKS))
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "holes", "rows"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
@pytest.mark.parametrize("with_init", [False, True])
@pytest.mark.parametrize("python_loop", [False, True])
def test_stacked_cells_match_per_step_reference(variant, go_backwards, mask_kind,
                                                return_sequences, zero_output_for_mask,
                                                with_init, python_loop):
    rng = np.random.default_rng(9)
    spec = STACKS[variant]
    cells = [make_cell(kind, units) for kind, units in spec]
    if python_loop:   # a Python activation in the top cell: the whole stack runs step by step
        cells[-1] = make_cell(spec[-1][0], spec[-1][1], activation=python_tanh)
    layer = fr.RNN(cells, go_backwards=go_backwards, return_sequences=return_sequences,
                   return_state=True, zero_output_for_mask=zero_output_for_mask)
    layer.build((B, T, I))
    weights = randomize(layer, rng, scale=1.2)
    x = rng.normal(0, 2, (B, T, I))
    mask = make_mask(mask_kind, rng)
    init = stacked_init(variant, rng) if with_init else None
    result = layer(x, mask=mask, initial_state=init)

    steps_fns = [oracle_step(kind, weights[3 * k:3 * k + 3]) for k, (kind, _) in enumerate(spec)]
    units = [(u, N_STATES[k]) for k, u in spec]
    ref_init = None
    if init is not None:
        ref_init = [s if isinstance(s, list) else [s] for s in init]
    want, want_states = stack_reference(steps_fns, units, x, mask, go_backwards,
                                        return_sequences, zero_output_for_mask, ref_init)
    out, cell_states = result[0], result[1:]
    assert_close(out, want, np.float32)
    assert len(cell_states) == len(spec)
    for (kind, _), got, expected in zip(spec, cell_states, want_states):
        if kind == "lstm":
            assert isinstance(got, list) and len(got) == 2
        else:
            assert isinstance(got, np.ndarray)
            got = [got]
        for g, e in zip(got, expected):
            assert_close(g, e, np.float32)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_stacked_time_major_equals_batch_major(go_backwards, return_sequences):
    rng = np.random.default_rng(23)
    kwargs = dict(go_backwards=go_backwards, return_sequences=return_sequences,
                  return_state=True, zero_output_for_mask=True)
    batch_major = fr.RNN([fr.GRUCell(4), fr.LSTMCell(3)], **kwargs)
    time_major = fr.RNN([fr.GRUCell(4), fr.LSTMCell(3)], time_major=True, **kwargs)
    batch_major.build((B, T, I))
    time_major.build((T, B, I))
    time_major.set_weights(randomize(batch_major, rng))
    x, mask = rng.normal(0, 2, (B, T, I)), make_mask("rows", rng)
    want = fr.layers.base.flatten(batch_major(x, mask=mask))
    got = fr.layers.base.flatten(time_major(np.swapaxes(x, 0, 1), mask=mask.T))
    if return_sequences:
        got[0] = np.swapaxes(got[0], 0, 1)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


def test_duck_typed_cell_that_is_not_a_layer():
    class Accumulator:
        state_size = 2
        output_size = 2

        def call(self, inputs, states):
            new = states[0] + inputs[:, :2]
            return new * 2, [new]

    out, state = fr.RNN(Accumulator(), return_state=True)(np.ones((3, 4, 2), "float32"))
    np.testing.assert_array_equal(state, np.full((3, 2), 4.0))
    np.testing.assert_array_equal(out, np.full((3, 2), 8.0))


def test_stacked_accepts_flat_initial_state():
    rng = np.random.default_rng(10)
    layer = fr.RNN([fr.LSTMCell(3), fr.GRUCell(4)], return_state=True)
    layer.build((B, T, I))
    randomize(layer, rng)
    x = rng.normal(0, 1, (B, T, I))
    nested = [[rng.normal(size=(B, 3)), rng.normal(size=(B, 3))], rng.normal(size=(B, 4))]
    flat = [nested[0][0], nested[0][1], nested[1]]
    for a, b in zip(fr.layers.base.flatten(layer(x, initial_state=nested)),
                    fr.layers.base.flatten(layer(x, initial_state=flat))):
        np.testing.assert_array_equal(a, b)


def test_stacked_float64_stays_float64():
    rng = np.random.default_rng(11)
    layer = fr.RNN([fr.LSTMCell(3), fr.GRUCell(4), fr.SimpleRNNCell(2)], dtype="float64",
                   return_sequences=True, return_state=True)
    assert all(c.dtype == "float64" for c in layer.cell.cells)
    layer.build((B, T, I))
    weights = randomize(layer, rng)
    assert all(w.dtype == np.float64 for w in layer.weights)
    x = rng.normal(0, 2, (B, T, I))
    out, (h1, c1), h2, h3 = layer(x)
    steps_fns = [oracle_step("lstm", weights[0:3]), oracle_step("gru", weights[3:6]),
                 oracle_step("simple", weights[6:9])]
    want, want_states = stack_reference(steps_fns, [(3, 2), (4, 1), (2, 1)], x,
                                        return_sequences=True)
    assert_close(out, want, np.float64)
    for got, expected in zip([h1, c1, h2, h3], [s for cell in want_states for s in cell]):
        assert_close(got, expected, np.float64)


# --------------------------------------------------------------------------
# stateful serving
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("chunks", [[7], [1] * 7, [3, 4], [2, 1, 4]])
def test_stateful_calls_continue_one_sequence(kind, chunks):
    rng = np.random.default_rng(12)
    whole = make_layer(kind, return_sequences=True, return_state=True)
    whole.build((B, T, I))
    weights = randomize(whole, rng)
    stream = make_layer(kind, return_sequences=True, return_state=True, stateful=True)
    stream.build((B, T, I))
    stream.set_weights(weights)
    x = rng.normal(0, 2, (B, T, I))
    want, *want_states = whole(x)
    start, pieces = 0, []
    for n in chunks:
        out, *states = stream(x[:, start:start + n])
        pieces.append(out)
        start += n
    assert_close(np.concatenate(pieces, axis=1), want, np.float32)
    for got, stored, expected in zip(states, stream.states, want_states):
        assert_close(got, expected, np.float32)
        assert_close(stored, expected, np.float32)


@pytest.mark.parametrize("python_loop", [False, True])
def test_stateful_reset_states_and_initial_state(python_loop):
    rng = np.random.default_rng(13)
    activation = python_tanh if python_loop else "tanh"
    layer = fr.LSTM(H, activation=activation, stateful=True, return_state=True,
                    batch_input_shape=(B, T, I))
    layer.reset_states()          # the batch size is known from batch_input_shape
    assert all(np.all(s == 0) for s in layer.states)
    layer.build((B, T, I))
    weights = randomize(layer, rng)
    x1, x2 = rng.normal(0, 2, (B, T, I)), rng.normal(0, 2, (B, T, I))
    init = [rng.uniform(-1, 1, (B, H)), rng.uniform(-1, 1, (B, H))]

    layer.reset_states(states=init)
    _, h, c = layer(x1)
    want, want_states = oracle_layer("lstm", weights, x1, initial_state=init)
    assert_close(h, want_states[0], np.float32)
    assert_close(c, want_states[1], np.float32)

    # the stored states carry over into the next call
    out2, *_ = layer(x2)
    want2, _ = oracle_layer("lstm", weights, x2, initial_state=want_states)
    assert_close(out2, want2, np.float32)

    # a call's initial_state wins over the (non-zero) stored states, and is stored after
    out3, h3, c3 = layer(x2, initial_state=init)
    want3, want3_states = oracle_layer("lstm", weights, x2, initial_state=init)
    assert_close(out3, want3, np.float32)
    assert_close(layer.states[0], want3_states[0], np.float32)

    layer.reset_states()
    assert all(np.all(s == 0) for s in layer.states)
    out4, *_ = layer(x1)
    assert_close(out4, oracle_layer("lstm", weights, x1)[0], np.float32)


def test_stateful_returns_copies_not_live_buffers():
    layer = fr.GRU(3, stateful=True, return_state=True)
    x = np.ones((2, 4, 3), "float32")
    _, h = layer(x)
    stored = layer.states[0]
    h[...] = 123.0
    stored[...] = 456.0
    np.testing.assert_array_equal(layer.states[0], layer(x[:, :0])[1])
    assert not np.any(layer.states[0] == 123.0) and not np.any(layer.states[0] == 456.0)


def test_stateful_stacked_reset_states_nested_and_flat():
    rng = np.random.default_rng(14)
    layer = fr.RNN([fr.LSTMCell(3), fr.GRUCell(4)], stateful=True, return_state=True)
    x = rng.normal(0, 1, (2, 5, I))
    layer(x)                                   # fixes the batch size to 2
    nested = [[rng.normal(size=(2, 3)), rng.normal(size=(2, 3))], rng.normal(size=(2, 4))]
    layer.reset_states(states=nested)
    (h1, c1), h2 = layer.states
    np.testing.assert_allclose(c1, nested[0][1], rtol=1e-6)
    out_nested = layer(x)
    layer.reset_states(states=[nested[0][0], nested[0][1], nested[1]])
    out_flat = layer(x)
    for a, b in zip(fr.layers.base.flatten(out_nested), fr.layers.base.flatten(out_flat)):
        np.testing.assert_array_equal(a, b)
    fresh = fr.RNN([fr.LSTMCell(3), fr.GRUCell(4)], return_state=True)
    fresh.build(x.shape)
    fresh.set_weights(layer.get_weights())
    for a, b in zip(fr.layers.base.flatten(fresh(x, initial_state=nested)),
                    fr.layers.base.flatten(out_nested)):
        np.testing.assert_allclose(a, b, atol=1e-6)
    layer.reset_states()
    assert all(np.all(s == 0) for s in fr.layers.base.flatten(layer.states))


def test_non_stateful_layer_states_are_none():
    assert fr.LSTM(3).states == [None, None]
    assert fr.GRU(3).states == [None]
    assert fr.RNN([fr.LSTMCell(2), fr.GRUCell(2)]).states == [[None, None], None]


def test_stateful_layer_serializes_concurrent_calls():
    rng = np.random.default_rng(15)
    layer = fr.LSTM(8, stateful=True)
    x = rng.normal(0, 1, (2, 3, 4)).astype("float32")
    layer(x)
    reference = fr.LSTM(8, stateful=True)
    reference.build(x.shape)
    reference.set_weights(layer.get_weights())
    layer.reset_states()
    n_threads, calls = 8, 25
    threads = [threading.Thread(target=lambda: [layer(x) for _ in range(calls)])
               for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for _ in range(n_threads * calls):    # identical inputs: the order does not matter
        reference(x)
    for a, b in zip(layer.states, reference.states):
        np.testing.assert_array_equal(a, b)


def test_one_layer_serves_many_threads():
    rng = np.random.default_rng(16)
    layer = fr.GRU(16, return_sequences=True)
    inputs = [rng.normal(0, 1, (rng.integers(1, 5), rng.integers(1, 30), 6)).astype("float32")
              for _ in range(24)]
    layer(inputs[0])
    expected = [layer(x) for x in inputs]
    results = [None] * len(inputs)

    def work(k):
        for _ in range(20):
            results[k] = layer(inputs[k])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(inputs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, want in zip(results, expected):
        np.testing.assert_array_equal(got, want)


def test_first_call_builds_once_under_concurrency():
    layer = fr.LSTM(4)
    x = np.ones((2, 3, 5), "float32")
    barrier = threading.Barrier(8)
    outputs = []

    def work():
        barrier.wait()
        outputs.append(layer(x))

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(layer.weights) == 3
    for out in outputs:
        np.testing.assert_array_equal(out, outputs[0])


# --------------------------------------------------------------------------
# custom cells (the Python step loop)
# --------------------------------------------------------------------------

class MinimalRNNCell(fr.Layer):
    """The seed's cell: state_size set before super().__init__()."""

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
        output = fr.backend.dot(inputs, self.kernel) + fr.backend.dot(states[0],
                                                                      self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("mask_kind", ["none", "rows", "holes"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("zero_output_for_mask", [False, True])
def test_custom_cell_matches_linear_simple_rnn(go_backwards, mask_kind, return_sequences,
                                               zero_output_for_mask):
    """A custom linear cell and SimpleRNN(activation=None, use_bias=False) agree."""
    rng = np.random.default_rng(17)
    kwargs = dict(go_backwards=go_backwards, return_sequences=return_sequences,
                  return_state=True, zero_output_for_mask=zero_output_for_mask)
    custom = fr.RNN(MinimalRNNCell(H), **kwargs)
    builtin = fr.SimpleRNN(H, activation=None, use_bias=False, **kwargs)
    custom.build((B, T, I))
    builtin.build((B, T, I))
    weights = randomize(custom, rng, scale=0.5)
    builtin.set_weights(weights)
    x = rng.normal(0, 1, (B, T, I))
    mask = make_mask(mask_kind, rng)
    init = rng.normal(0, 1, (B, H))
    got_out, got_state = custom(x, mask=mask, initial_state=[init])
    want_out, want_state = builtin(x, mask=mask, initial_state=init)
    np.testing.assert_allclose(got_out, want_out, atol=1e-5)
    np.testing.assert_allclose(got_state, want_state, atol=1e-5)
    want, (want_h,) = oracle_layer("simple", weights, x, activation="linear", mask=mask,
                                   initial_state=[init], **{k: v for k, v in kwargs.items()
                                                            if k != "return_state"})
    np.testing.assert_allclose(got_out, want, atol=1e-5)


class ConstantsCell(fr.Layer):
    """h' = x W + h U + c V, with the constant c passed at every step."""

    def __init__(self, units, constant_size, **kwargs):
        super().__init__(**kwargs)
        self.units, self.constant_size, self.state_size = units, constant_size, units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), "uniform")
        self.recurrent_kernel = self.add_weight("recurrent", (self.units, self.units), "uniform")
        self.constant_kernel = self.add_weight("constant", (self.constant_size, self.units),
                                               "uniform")
        self.built = True

    def get_config(self):
        return dict(super().get_config(), units=self.units, constant_size=self.constant_size)

    def call(self, inputs, states, constants):
        [prev], [constant] = states, constants
        output = inputs @ self.kernel + prev @ self.recurrent_kernel + \
            constant @ self.constant_kernel
        return output, [output]


def test_custom_cell_with_constants():
    rng = np.random.default_rng(18)
    layer = fr.RNN(ConstantsCell(4, 3), return_sequences=True)
    x, constant = rng.normal(size=(B, T, I)), rng.normal(size=(B, 3))
    out = layer(x, constants=[constant])
    cell = layer.cell
    h, want = np.zeros((B, 4)), []
    for t in range(T):
        h = x[:, t] @ cell.kernel + h @ cell.recurrent_kernel + constant @ cell.constant_kernel
        want.append(h)
    np.testing.assert_allclose(out, np.stack(want, 1), atol=1e-5)
    # tf.keras's list form: [inputs, *constants] with num_constants
    restored = fr.RNN.from_config(dict(layer.get_config(), num_constants=1),
                                  custom_objects={"ConstantsCell": ConstantsCell})
    assert restored._num_constants == 1
    with pytest.raises(ValueError, match="constants"):
        fr.LSTM(2)(x, constants=[constant])


class TwoStateCell(fr.AbstractRNNCell):
    """Tuple state_size: a vector state and a (2, 3) matrix state; nested output."""

    @property
    def state_size(self):
        return (4, fr.TensorShape([2, 3]))

    @property
    def output_size(self):
        return [4, fr.TensorShape([2, 3])]

    def build(self, input_shape):
        self.w = self.add_weight("w", (input_shape[-1], 4), "uniform")
        self.built = True

    def call(self, inputs, states):
        vector, matrix = states
        new_vector = np.tanh(inputs @ self.w + vector)
        new_matrix = matrix * 0.5 + new_vector[:, :2, None]
        return [new_vector, new_matrix], (new_vector, new_matrix)


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_custom_cell_with_tuple_and_matrix_states(go_backwards, return_sequences):
    rng = np.random.default_rng(19)
    layer = fr.RNN(TwoStateCell(), return_sequences=return_sequences, return_state=True,
                   go_backwards=go_backwards)
    x = rng.normal(size=(B, T, I)).astype("float32")
    mask = make_mask("rows", rng)
    init = [rng.normal(size=(B, 4)), rng.normal(size=(B, 2, 3))]
    out_v, out_m, state_v, state_m = layer(x, mask=mask, initial_state=init)  # tf.keras order
    w = layer.cell.w.astype(np.float64)
    v, m = init
    prev, outs = [np.zeros((B, 4)), np.zeros((B, 2, 3))], []
    for t in (range(T - 1, -1, -1) if go_backwards else range(T)):
        nv = np.tanh(x[:, t] @ w + v)
        nm = m * 0.5 + nv[:, :2, None]
        keep = mask[:, t]
        nv, nm = np.where(keep[:, None], nv, v), np.where(keep[:, None, None], nm, m)
        out = [np.where(keep[:, None], nv, prev[0]), np.where(keep[:, None, None], nm, prev[1])]
        v, m, prev = nv, nm, out
        outs.append(out)
    if return_sequences:
        want = [np.stack([o[0] for o in outs], 1), np.stack([o[1] for o in outs], 1)]
    else:
        want = prev
    np.testing.assert_allclose(out_v, want[0], atol=1e-5)
    np.testing.assert_allclose(out_m, want[1], atol=1e-5)
    np.testing.assert_allclose(state_v, v, atol=1e-5)
    np.testing.assert_allclose(state_m, m, atol=1e-5)
    assert out_m.shape == ((B, T, 2, 3) if return_sequences else (B, 2, 3))


def test_custom_cell_stateful_with_matrix_state():
    layer = fr.RNN(TwoStateCell(), stateful=True, return_state=True)
    x = np.ones((2, 3, 5), "float32")
    _, _, v1, m1 = layer(x)
    vector, matrix = layer.states
    assert matrix.shape == (2, 2, 3)
    np.testing.assert_array_equal(matrix, m1)
    layer.reset_states(states=[np.zeros((2, 4)), np.ones((2, 2, 3))])
    np.testing.assert_array_equal(layer.states[1], np.ones((2, 2, 3)))
    with pytest.raises(ValueError, match=r"states\[1\]"):
        layer.reset_states(states=[np.zeros((2, 4)), np.ones((2, 3, 2))])


def test_nested_inputs_reach_the_cell_as_a_structure():
    class PairCell(fr.Layer):
        state_size = 3

        def call(self, inputs, states):
            a, b = inputs
            out = states[0] + a[:, :3] * b[:, :3]
            return out, [out]

    layer = fr.RNN(PairCell(), return_sequences=True)
    a, b = np.ones((2, 4, 3), "float32"), np.full((2, 4, 5), 2.0, "float32")
    out = layer((a, b))
    np.testing.assert_allclose(out[:, -1], np.full((2, 3), 8.0))


def test_cell_get_initial_state_is_used():
    class OnesStartCell(fr.AbstractRNNCell):
        state_size = 2

        def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
            return np.ones((batch_size, 2), dtype)

        def call(self, inputs, states):
            return states[0] + inputs[:, :2], states[0] + inputs[:, :2]

    out = fr.RNN(OnesStartCell())(np.ones((3, 4, 2), "float32"))
    np.testing.assert_array_equal(out, np.full((3, 2), 5.0))


def test_abstract_cell_without_output_size_uses_first_state():
    class NoOutputSize(fr.AbstractRNNCell):
        state_size = [3, 7]

        def call(self, inputs, states):
            return states[0] + 1, [states[0] + 1, states[1]]

    cell = NoOutputSize()
    with pytest.raises(NotImplementedError):
        _ = cell.output_size
    out, s0, s1 = fr.RNN(cell, return_state=True, return_sequences=True)(np.ones((2, 4, 1)))
    assert out.shape == (2, 4, 3) and s1.shape == (2, 7)
    np.testing.assert_array_equal(out[:, -1], np.full((2, 3), 4.0))


# --------------------------------------------------------------------------
# TfLiteRNNCell
# --------------------------------------------------------------------------

@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", [None, "relu", python_tanh])
def test_tflite_cell_matches_simple_rnn_oracle(dtype, activation):
    rng = np.random.default_rng(20)
    cell = fr.TfLiteRNNCell(H, activation=activation)
    layer = fr.RNN(cell, return_sequences=True, return_state=True, go_backwards=True)
    x = rng.normal(0, 1, (B, T, I)).astype(dtype)
    layer(x)                                   # takes x's dtype (TfLite's dtype=None)
    assert cell.dtype == np.dtype(dtype).name
    names = [r.name for r in cell._weight_records]
    assert names == ["input_weights", "recurrent_weights", "bias"]
    input_w, recurrent_w = rng.uniform(-1, 1, (H, I)), rng.uniform(-1, 1, (H, H))
    bias = rng.uniform(-1, 1, H)
    layer.set_weights([input_w, recurrent_w, bias])
    assert (cell._kernel_weights is None) == (activation is python_tanh)
    mask = make_mask("holes", rng)
    out, state = layer(x, mask=mask)
    name = "tanh" if activation in (None, python_tanh) else activation
    want, (want_h,) = run_rnn("simple", x, input_w.T, recurrent_w.T, bias, activation_name=name,
                              mask=mask, go_backwards=True, return_sequences=True)
    assert_close(out, want, dtype)
    assert_close(state, want_h, dtype)
    # one step, TFLite formula: act([x, h] @ concat([W_in, W_rec], 1).T + b)
    h = rng.normal(size=(B, H)).astype(dtype)
    step_out, step_state = cell(x[:, 0], h)
    act = ACTIVATIONS[name]
    want_step = act(np.concatenate([x[:, 0], h], 1) @ np.concatenate([input_w, recurrent_w],
                                                                      1).T + bias)
    np.testing.assert_allclose(step_out, want_step, atol=TOL[dtype])
    assert step_state is step_out


def test_tflite_cell_states_api():
    cell = fr.TfLiteRNNCell(4, dtype="float64")
    assert cell.state_size == 4 and cell.output_size == 4
    zero = cell.zero_state(3, "float32")
    assert zero.shape == (3, 4) and zero.dtype == np.float32 and not zero.any()
    init = cell.get_initial_state(inputs=np.ones((5, 2), "float64"))
    assert init.shape == (5, 4) and init.dtype == np.float64
    assert cell.get_initial_state(batch_size=2, dtype="float32").shape == (2, 4)
    config = cell.get_config()
    assert config["num_units"] == 4 and config["activation"] == "tanh"
    assert fr.TfLiteRNNCell.from_config(config).get_config() == config


# --------------------------------------------------------------------------
# dropout
# --------------------------------------------------------------------------

def masked_reference(kind, weights, x, cell, implementation):
    """One forward pass applying the call's cached dropout masks, Keras's formulas."""
    kernel, recurrent, bias = (np.asarray(w, np.float64) for w in weights)
    count = {"simple": 1, "lstm": 4}.get(kind, 3)
    dp = cell.get_dropout_mask_for_cell(x[:, 0], True, count)
    rdp = cell.get_recurrent_dropout_mask_for_cell(np.zeros((x.shape[0], H)), True, count)
    if count == 1:
        dp, rdp = [dp], [rdp]
    dp = [1.0] * count if dp is None or dp[0] is None else dp
    rdp = [1.0] * count if rdp is None or rdp[0] is None else rdp
    if implementation == 2:
        dp = [dp[0]] * count
    sig, tanh = ACTIVATIONS["sigmoid"], np.tanh
    Wk, Uk = np.split(kernel, count, 1), np.split(recurrent, count, 1)
    h = np.zeros((x.shape[0], H))
    c = np.zeros_like(h)
    for t in range(x.shape[1]):
        xs = [(x[:, t] * m) @ w for m, w in zip(dp, Wk)]
        hs = [h * m for m in rdp]
        if kind == "simple":
            h = tanh(xs[0] + bias + hs[0] @ Uk[0])
        elif kind == "lstm":
            bs = np.split(bias, 4)
            z = [xs[k] + hs[k] @ Uk[k] + bs[k] for k in range(4)]
            c = sig(z[1]) * c + sig(z[0]) * tanh(z[2])
            h = sig(z[3]) * tanh(c)
        else:
            b_in, b_rec = (bias[0], bias[1]) if kind == "gru" else (bias, np.zeros_like(bias))
            bi, br = np.split(b_in, 3), np.split(b_rec, 3)
            zg = sig(xs[0] + bi[0] + hs[0] @ Uk[0] + br[0])
            rg = sig(xs[1] + bi[1] + hs[1] @ Uk[1] + br[1])
            if kind == "gru":
                cand = tanh(xs[2] + bi[2] + rg * (hs[2] @ Uk[2] + br[2]))
            else:
                cand = tanh(xs[2] + bi[2] + (rg * hs[2]) @ Uk[2])
            h = zg * h + (1 - zg) * cand
    return h


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("rates", [(0.5, 0.0), (0.0, 0.4), (0.3, 0.3)])
@pytest.mark.parametrize("implementation", [1, 2])
def test_dropout_in_training_applies_the_cached_masks(kind, rates, implementation):
    rng = np.random.default_rng(21)
    dropout, recurrent_dropout = rates
    kwargs = {} if kind == "simple" else {"implementation": implementation}
    # seeded: with 12 mask entries an unseeded draw keeps every one 1.4% of the time
    layer = make_layer(kind, dropout=dropout, recurrent_dropout=recurrent_dropout, seed=3,
                       **kwargs)
    layer.build((B, T, I))
    weights = randomize(layer, rng, scale=1.0)
    x = rng.normal(0, 1, (B, T, I))
    out = layer(x, training=True)
    effective = 1 if recurrent_dropout else implementation
    want = masked_reference(kind, weights, x, layer.cell, effective)
    np.testing.assert_allclose(out, want, atol=1e-5)
    if dropout:
        masks = layer.cell.get_dropout_mask_for_cell(x[:, 0], True, 1 if kind == "simple" else 3)
        values = np.unique(np.concatenate([np.ravel(m) for m in np.atleast_1d(masks)]))
        np.testing.assert_allclose(values, [0.0, 1.0 / (1.0 - dropout)], rtol=1e-6)
    # a new call draws new masks; inference ignores dropout
    assert not np.array_equal(layer(x, training=True), out)
    plain = make_layer(kind)
    plain.build((B, T, I))
    plain.set_weights(weights)
    for training in (None, False, 0):
        np.testing.assert_array_equal(layer(x, training=training), plain(x))


def test_dropout_mask_methods_cache_and_reset():
    cell = fr.LSTMCell(3, dropout=0.5, recurrent_dropout=0.5)
    x = np.ones((4, 6), "float32")
    masks = cell.get_dropout_mask_for_cell(x, True, count=4)
    assert len(masks) == 4 and masks[0].shape == (4, 6) and masks[0].dtype == np.float32
    assert cell.get_dropout_mask_for_cell(x, True, count=4) is masks
    cell.reset_dropout_mask()
    assert cell.get_dropout_mask_for_cell(x, True, count=4) is not masks
    rec = cell.get_recurrent_dropout_mask_for_cell(np.ones((4, 3)), True, count=4)
    cell.reset_recurrent_dropout_mask()
    assert cell.get_recurrent_dropout_mask_for_cell(np.ones((4, 3)), True, 4) is not rec
    cell.reset_dropout_mask()
    assert all(np.all(m == 1) for m in cell.get_dropout_mask_for_cell(x, False, count=4))
    assert fr.LSTMCell(3).get_dropout_mask_for_cell(x, True) is None


# --------------------------------------------------------------------------
# edge values and placeholders
# --------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("python_loop", [False, True])
def test_zero_steps_and_empty_batch(kind, python_loop):
    activation = python_tanh if python_loop else "tanh"
    layer = make_layer(kind, activation=activation, return_sequences=True, return_state=True)
    layer.build((B, T, I))
    init = [np.full((B, H), 0.5)] * N_STATES[kind]
    out, *states = layer(np.zeros((B, 0, I)), initial_state=init)
    assert out.shape == (B, 0, H) and out.dtype == np.float32
    for s in states:
        np.testing.assert_array_equal(s, np.full((B, H), 0.5))
    out, *states = layer(np.zeros((0, T, I)))
    assert out.shape == (0, T, H) and all(s.shape == (0, H) for s in states)
    last = make_layer(kind, activation=activation)
    last.build((B, T, I))
    np.testing.assert_array_equal(last(np.zeros((B, 0, I))), np.zeros((B, H)))


@pytest.mark.parametrize("kind", KINDS)
def test_nan_and_inf_inputs_are_computed_through(kind):
    layer = make_layer(kind, return_sequences=True)
    x = np.ones((2, 4, 3), "float32")
    x[0, 1, 0] = np.nan
    x[1, 2, 1] = np.inf
    out = layer(x)
    assert out.shape == (2, 4, H)
    assert np.isnan(out[0, 1:]).any()
    assert np.isfinite(out[0, 0]).all() and np.isfinite(out[1, :2]).all()


def test_strided_fortran_and_list_inputs():
    rng = np.random.default_rng(24)
    layer = fr.LSTM(3, return_sequences=True)
    x = rng.normal(size=(4, 6, 5)).astype("float32")
    want = layer(x)
    np.testing.assert_array_equal(layer(np.asfortranarray(x)), want)
    wide = np.zeros((4, 12, 10), "float32")
    wide[:, ::2, ::2] = x
    np.testing.assert_array_equal(layer(wide[:, ::2, ::2]), want)
    np.testing.assert_allclose(layer(x.tolist()), want)


def test_keras_list_form_of_inputs_and_initial_state():
    rng = np.random.default_rng(25)
    layer = fr.LSTM(3, return_state=True)
    x, h, c = rng.normal(size=(2, 4, 5)), rng.normal(size=(2, 3)), rng.normal(size=(2, 3))
    for a, b in zip(layer([x, h, c]), layer(x, initial_state=[h, c])):
        np.testing.assert_array_equal(a, b)


def test_float64_inputs_to_float32_layer_are_cast_once():
    layer = fr.LSTM(3)
    out = layer(np.ones((2, 4, 3), "float64"))
    assert out.dtype == np.float32
    out64 = fr.LSTM(3, dtype="float64")(np.ones((2, 4, 3), "float32"))
    assert out64.dtype == np.float64
    assert fr.LSTM(3, dtype={"class_name": "DTypePolicy", "config": {"name": "float64"}}).dtype \
        == "float64"


def test_placeholders_give_output_shapes():
    x = fr.Input((None, 5))
    assert fr.LSTM(3)(x).shape == (None, 3)
    seq, h, c = fr.LSTM(3, return_sequences=True, return_state=True)(x)
    assert (seq.shape, h.shape, c.shape) == ((None, None, 3), (None, 3), (None, 3))
    out, (h1, c1), h2 = fr.RNN([fr.LSTMCell(2), fr.GRUCell(4)], return_state=True)(
        fr.Input((7, 5), batch_size=2))
    assert (out.shape, h1.shape, c1.shape, h2.shape) == ((2, 4), (2, 2), (2, 2), (2, 4))
    tm = fr.GRU(3, time_major=True, return_sequences=True)(fr.Input(batch_shape=(9, None, 5)))
    assert tm.shape == (9, None, 3)
    layer = fr.LSTM(3)
    layer(fr.Input((None, 5), dtype="float64"))
    assert layer.cell.kernel.shape == (5, 12)


def test_compute_mask_follows_keras():
    mask = np.ones((2, 3), bool)
    assert fr.LSTM(2).compute_mask(None, mask) is None
    assert fr.LSTM(2, return_sequences=True).compute_mask(None, mask) is mask
    assert fr.LSTM(2, return_sequences=True, return_state=True).compute_mask(None, mask) == \
        [mask, None, None]
    assert fr.LSTM(2).supports_masking and not fr.Layer().supports_masking


# --------------------------------------------------------------------------
# weights, losses, constraints
# --------------------------------------------------------------------------

def test_regularizer_losses_are_penalties_of_current_weights():
    layer = fr.LSTM(3, kernel_regularizer="l2",
                    recurrent_regularizer=fr.regularizers.L1L2(l1=0.1, l2=0.2),
                    bias_regularizer=lambda w: float(np.sum(w)))
    layer.build((2, 4, 5))
    weights = [np.full(w.shape, 0.5) for w in layer.get_weights()]
    layer.set_weights(weights)
    kernel, recurrent, bias = weights
    want = [0.01 * np.sum(kernel ** 2), 0.1 * np.sum(np.abs(recurrent)) + 0.2 * np.sum(
        recurrent ** 2), np.sum(bias)]
    np.testing.assert_allclose(layer.losses, want, rtol=1e-6)
    assert fr.LSTM(3).losses == []


def test_constraints_are_stored_callable_and_applied_on_demand():
    layer = fr.SimpleRNN(3, kernel_constraint="non_neg",
                         recurrent_constraint=fr.constraints.MaxNorm(0.5))
    assert callable(layer.cell.kernel_constraint)
    x = np.ones((1, 2, 4), "float32")
    layer(x)
    before = layer(x)
    kernel, recurrent_kernel, bias = layer.get_weights()
    layer.set_weights([-np.ones_like(kernel), recurrent_kernel, bias])
    assert np.all(layer.cell.kernel == -1.0)  # not constrained: nothing applies it per call
    layer.apply_constraints()
    assert np.all(layer.cell.kernel >= 0)
    norms = np.sqrt((layer.cell.recurrent_kernel ** 2).sum(axis=0))
    assert np.all(norms <= 0.5 + 1e-6)
    assert not np.array_equal(before, layer(x))   # the kernel cache followed the new weights


def test_set_weights_refreshes_the_kernel_cache_and_get_weights_copies():
    rng = np.random.default_rng(22)
    layer = fr.GRU(3, return_sequences=True)
    x = rng.normal(size=(2, 5, 4)).astype("float32")
    layer(x)
    cache = layer.cell._kernel_weights
    weights = randomize(layer, rng)
    assert layer.cell._kernel_weights is not cache
    got = layer.get_weights()
    got[0][...] = 99.0
    np.testing.assert_allclose(layer.get_weights()[0], weights[0], rtol=1e-6)
    want, _ = oracle_layer("gru", weights, x, return_sequences=True)
    assert_close(layer(x), want, np.float32)


def test_initializers_and_unit_forget_bias():
    layer = fr.LSTM(4, kernel_initializer=fr.initializers.RandomNormal(seed=3),
                    recurrent_initializer={"class_name": "Orthogonal",
                                           "config": {"gain": 2.0, "seed": 1}},
                    bias_initializer="ones")
    layer.build((1, 2, 6))
    kernel, recurrent, bias = layer.get_weights()
    np.testing.assert_allclose(kernel, fr.initializers.RandomNormal(seed=3)((6, 16)))
    np.testing.assert_allclose(recurrent @ recurrent.T, 4.0 * np.eye(4), atol=1e-5)
    np.testing.assert_array_equal(bias, np.ones(16))
    default = fr.LSTM(4)
    default.build((1, 2, 6))
    np.testing.assert_array_equal(default.get_weights()[2],
                                  np.r_[np.zeros(4), np.ones(4), np.zeros(8)])
    no_forget = fr.LSTM(4, unit_forget_bias=False)
    no_forget.build((1, 2, 6))
    np.testing.assert_array_equal(no_forget.get_weights()[2], np.zeros(16))


def test_layer_weights_order_and_trainable_flags():
    layer = fr.RNN([fr.LSTMCell(2), fr.GRUCell(3, trainable=False)])
    layer.build((1, 2, 4))
    shapes = [w.shape for w in layer.weights]
    assert shapes == [(4, 8), (2, 8), (8,), (2, 9), (3, 9), (2, 9)]
    assert [w.shape for w in layer.trainable_weights] == shapes[:3]
    assert [w.shape for w in layer.non_trainable_weights] == shapes[3:]
    layer.trainable = False
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 6


def test_weights_change_only_through_set_weights():
    """In-place writes would bypass the kernels' prepared copies (their transposes):
    the arrays are read-only, so a stale mix of old and new weights cannot happen."""
    layer = fr.LSTM(3)
    x = np.ones((2, 4, 5), "float32")
    layer(x)
    with pytest.raises(ValueError, match="read-only"):
        layer.cell.kernel[...] = 0.0
    weights = layer.get_weights()
    weights[0][...] = 0.0                     # get_weights returns writable copies
    layer.set_weights(weights)
    assert np.all(layer.cell.kernel == 0.0) and not layer.cell.kernel.flags.writeable
    want, _ = run_rnn("lstm", x, *layer.get_weights())
    np.testing.assert_allclose(layer(x), want, atol=1e-5)
