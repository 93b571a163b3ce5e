"""Pure-NumPy reference of tf.keras (Keras 2) recurrent semantics, in float64.

This is the oracle the kernels and the API are tested against.  It is written
independently of fastrnn: one plain per-step loop, whole-matrix formulas, the
gate equations exactly as tf.keras states them.  Weights are in Keras layout.

Masking follows ``tf.keras.backend.rnn``: at a masked step the states are
carried forward unchanged and the output is the previous step's output (zeros
before the first step), or zeros when ``zero_output_for_mask`` is set; the
returned "last output" is the output of the last processed step.
"""
import numpy as np

_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _sigmoid(x):
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


ACTIVATIONS = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": lambda x: np.clip(0.2 * x + 0.5, 0.0, 1.0),
    "relu": lambda x: np.maximum(x, 0.0),
    "elu": lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0.0))),
    "selu": lambda x: _SELU_SCALE * np.where(x > 0, x, _SELU_ALPHA * np.expm1(np.minimum(x, 0.0))),
    "softplus": lambda x: np.logaddexp(0.0, x),
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "exponential": np.exp,
    "swish": lambda x: x * _sigmoid(x),
    "silu": lambda x: x * _sigmoid(x),
}


def activation(name):
    """The float64 NumPy function for a Keras activation name (None = linear)."""
    return ACTIVATIONS["linear" if name is None else name]


def simple_rnn_step(x, states, kernel, recurrent_kernel, bias, act):
    """h' = act(x W + h U + b)."""
    (h,) = states
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    h_new = act(z)
    return h_new, [h_new]


def lstm_step(x, states, kernel, recurrent_kernel, bias, act, rec_act):
    """Gates i, f, c, o: c' = f*c + i*act(zc); h' = o*act(c')."""
    h, c = states
    z = x @ kernel + h @ recurrent_kernel
    if bias is not None:
        z = z + bias
    zi, zf, zc, zo = np.split(z, 4, axis=-1)
    i, f, o = rec_act(zi), rec_act(zf), rec_act(zo)
    c_new = f * c + i * act(zc)
    h_new = o * act(c_new)
    return h_new, [h_new, c_new]


def gru_step(x, states, kernel, recurrent_kernel, bias, act, rec_act, reset_after):
    """Gates z, r, h.

    reset_after=True:  hh = act(x Wh + bx_h + r * (h Uh + bh_h))
    reset_after=False: hh = act(x Wh + b_h + (r * h) Uh)
    h' = z * h + (1 - z) * hh
    """
    (h,) = states
    units = h.shape[-1]
    if bias is None:
        b_in = b_rec = np.zeros(3 * units)
    elif reset_after:
        b_in, b_rec = bias[0], bias[1]
    else:
        b_in, b_rec = bias, np.zeros(3 * units)
    xw = x @ kernel + b_in
    xz, xr, xh = xw[..., :units], xw[..., units:2 * units], xw[..., 2 * units:]
    uz, ur, uh = (recurrent_kernel[:, :units], recurrent_kernel[:, units:2 * units],
                  recurrent_kernel[:, 2 * units:])
    if reset_after:
        hu = h @ recurrent_kernel + b_rec
        z = rec_act(xz + hu[..., :units])
        r = rec_act(xr + hu[..., units:2 * units])
        hh = act(xh + r * hu[..., 2 * units:])
    else:
        z = rec_act(xz + h @ uz)
        r = rec_act(xr + h @ ur)
        hh = act(xh + (r * h) @ uh)
    h_new = z * h + (1.0 - z) * hh
    return h_new, [h_new]


def run_rnn(cell, x, kernel, recurrent_kernel, bias=None, *, activation_name="tanh",
            recurrent_activation_name="sigmoid", reset_after=True, mask=None,
            initial_state=None, time_major=False, go_backwards=False,
            return_sequences=False, zero_output_for_mask=False):
    """Run one recurrent layer over a sequence, tf.keras semantics, float64.

    Parameters
    ----------
    cell : {"simple", "lstm", "gru"}
    x : array (batch, time, features), or (time, batch, features) if time_major.
    mask : bool array (batch, time), or (time, batch) if time_major; None = all steps.
    initial_state : list of (batch, units) arrays; None = zeros.

    Returns
    -------
    output, states : the last output (batch, units) or every output in processing
        order, (batch, time, units) / (time, batch, units); and the final states.
    """
    x = np.asarray(x, dtype=np.float64)
    kernel = np.asarray(kernel, dtype=np.float64)
    recurrent_kernel = np.asarray(recurrent_kernel, dtype=np.float64)
    bias = None if bias is None else np.asarray(bias, dtype=np.float64)
    if time_major:
        x = np.swapaxes(x, 0, 1)
        if mask is not None:
            mask = np.swapaxes(np.asarray(mask), 0, 1)
    batch, steps = x.shape[0], x.shape[1]
    units = recurrent_kernel.shape[0]
    act = activation(activation_name)
    rec_act = activation(recurrent_activation_name)
    n_states = 2 if cell == "lstm" else 1
    if initial_state is None:
        states = [np.zeros((batch, units)) for _ in range(n_states)]
    else:
        states = [np.array(s, dtype=np.float64).reshape(batch, units) for s in initial_state]

    def step(xt, st):
        if cell == "simple":
            return simple_rnn_step(xt, st, kernel, recurrent_kernel, bias, act)
        if cell == "lstm":
            return lstm_step(xt, st, kernel, recurrent_kernel, bias, act, rec_act)
        if cell == "gru":
            return gru_step(xt, st, kernel, recurrent_kernel, bias, act, rec_act, reset_after)
        raise ValueError(cell)

    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    prev_output = np.zeros((batch, units))
    outputs = []
    for t in order:
        out, new_states = step(x[:, t], states)
        if mask is not None:
            m = np.asarray(mask[:, t], dtype=bool)[:, None]
            masked_out = np.zeros_like(out) if zero_output_for_mask else prev_output
            out = np.where(m, out, masked_out)
            new_states = [np.where(m, ns, s) for ns, s in zip(new_states, states)]
        states = new_states
        prev_output = out
        outputs.append(out)
    if return_sequences:
        seq = np.stack(outputs, axis=1) if outputs else np.zeros((batch, 0, units))
        output = np.swapaxes(seq, 0, 1) if time_major else seq
    else:
        output = prev_output
    return output, states
