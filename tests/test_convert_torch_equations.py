"""from_torch on NumPy state_dicts against torch's documented equations (no torch needed).

The reference below is the torch.nn.LSTM / GRU / RNN documentation written in NumPy
(float64), layer by layer and direction by direction; test_convert_torch.py checks the
same against torch itself when it is installed.
"""
import itertools

import numpy as np
import pytest

from fastrnn.convert import from_torch

GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 5, 2


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def torch_step(mode, x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step of torch's equations; returns ``(h, c)``."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if mode == "LSTM":
        i, f, g, o = np.split(gi + gh, 4, axis=-1)
        c = sigmoid(f) * c + sigmoid(i) * np.tanh(g)
        return sigmoid(o) * np.tanh(c), c
    if mode == "GRU":
        (i_r, i_z, i_n), (h_r, h_z, h_n) = np.split(gi, 3, -1), np.split(gh, 3, -1)
        r, z = sigmoid(i_r + h_r), sigmoid(i_z + h_z)
        n = np.tanh(i_n + r * h_n)
        return (1 - z) * n + z * h, c
    pre = gi + gh
    return (np.tanh(pre) if mode == "RNN_TANH" else np.maximum(pre, 0)), c


def torch_reference(mode, state, x, num_layers, directions):
    """``(output, h_n, c_n)`` of torch's module for time-major ``x``, zero initial states."""
    h_n, c_n = [], []
    for layer in range(num_layers):
        outputs = []
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [state.get(name + suffix, 0.0)
                       for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h = c = np.zeros((x.shape[1], HIDDEN))
            steps = range(x.shape[0] - 1, -1, -1) if direction else range(x.shape[0])
            out = np.zeros(x.shape[:2] + (HIDDEN,))
            for t in steps:
                h, c = torch_step(mode, x[t], h, c, *weights)
                out[t] = h
            outputs.append(out)
            h_n.append(h)
            c_n.append(c)
        x = np.concatenate(outputs, axis=-1)
    return x, np.stack(h_n), np.stack(c_n)


def random_state_dict(mode, num_layers, directions, bias, rng):
    scale = 0.5 if mode == "RNN_RELU" else 1.5
    rows, state = GATES[mode] * HIDDEN, {}
    for layer, direction in itertools.product(range(num_layers), range(directions)):
        suffix = f"_l{layer}" + ("_reverse" if direction else "")
        inputs = INPUT if layer == 0 else directions * HIDDEN
        shapes = {"weight_ih": (rows, inputs), "weight_hh": (rows, HIDDEN)}
        if bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        for name, shape in shapes.items():
            state[name + suffix] = rng.uniform(-scale, scale, shape)
    return state


@pytest.mark.parametrize("mode,num_layers,directions,bias,batch_first", list(
    itertools.product(GATES, [1, 2], [1, 2], [True, False], [False, True])))
def test_from_numpy_state_dict_follows_torch_equations(mode, num_layers, directions, bias,
                                                       batch_first):
    rng = np.random.default_rng(3)
    state = random_state_dict(mode, num_layers, directions, bias, rng)
    x = 2 * rng.normal(size=(STEPS, BATCH, INPUT))
    rnn = from_torch(state, mode=mode, batch_first=batch_first)
    assert (rnn.num_layers, rnn.bidirectional, rnn.bias) == (num_layers, directions == 2, bias)
    assert rnn.dtype == np.float64
    output, states = rnn(x.transpose(1, 0, 2) if batch_first else x)
    if batch_first:
        output = output.transpose(1, 0, 2)
    want_output, want_h, want_c = torch_reference(mode, state, x, num_layers, directions)
    np.testing.assert_allclose(output, want_output, rtol=0, atol=1e-10)
    if mode == "LSTM":
        np.testing.assert_allclose(states[0], want_h, rtol=0, atol=1e-10)
        np.testing.assert_allclose(states[1], want_c, rtol=0, atol=1e-10)
    else:
        np.testing.assert_allclose(states, want_h, rtol=0, atol=1e-10)
