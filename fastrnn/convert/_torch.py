"""PyTorch ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` -> fastrnn layers; torch is never imported.

Gate orders and biases (torch rows are gate blocks of ``weight_ih`` ``(G*H, I)``;
Keras columns are gate blocks of ``kernel`` ``(I, G*H)``):

========  ===================  ========================================  ======================
torch     torch gates          fastrnn / Keras layer                     biases
========  ===================  ========================================  ======================
LSTM      i, f, g, o           ``LSTM`` gates i, f, c, o (same order)    ``b_ih + b_hh``
GRU       r, z, n              ``GRU(reset_after=True)`` gates z, r, h   ``[b_ih, b_hh]`` (2, 3H)
RNN       --                   ``SimpleRNN(activation=tanh / relu)``     ``b_ih + b_hh``
========  ===================  ========================================  ======================

``kernel = weight_ih.T`` and ``recurrent_kernel = weight_hh.T`` (blocks
reordered for the GRU).  torch's GRU keeps ``b_hn`` inside the reset product,
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``: that is Keras's
``reset_after=True``, whose bias row 1 is the recurrent bias.
"""
import collections
import collections.abc
import re
from typing import Any, Optional, Tuple, Union

import numpy as np

from .. import _validation as check
from ..layers.recurrent import GRU, LSTM, SimpleRNN
from ..layers.wrappers import Bidirectional
from . import _torch_heads as _heads

__all__ = ["TorchRNN", "from_torch", "keras_weights_from_torch"]


def _transposed(w_ih, w_hh, b_ih, b_hh):
    """torch LSTM / RNN weights as Keras ``[kernel, recurrent_kernel, bias]`` (biases summed)."""
    weights = [w_ih.T, w_hh.T]
    if b_ih is not None:
        weights.append(b_ih + b_hh)
    return weights


def _zrh(array):
    """torch's GRU gate blocks (r, z, n), stacked on axis 0, in Keras's order (z, r, h)."""
    r, z, n = np.split(array, 3, axis=0)
    return np.concatenate([z, r, n], axis=0)


def _gru(w_ih, w_hh, b_ih, b_hh):
    """torch GRU weights as Keras ``GRU(reset_after=True)`` weights (bias ``(2, 3H)``)."""
    weights = [_zrh(w_ih).T, _zrh(w_hh).T]
    if b_ih is not None:
        weights.append(np.stack([_zrh(b_ih), _zrh(b_hh)]))
    return weights


_Mode = collections.namedtuple("_Mode", "gates layer layer_kwargs n_states to_keras")
#: torch ``mode`` -> gates per unit, fastrnn layer class and arguments, states, weight mapping.
MODES = {
    "LSTM": _Mode(4, LSTM, {}, 2, _transposed),
    "GRU": _Mode(3, GRU, {"reset_after": True}, 1, _gru),
    "RNN_TANH": _Mode(1, SimpleRNN, {"activation": "tanh"}, 1, _transposed),
    "RNN_RELU": _Mode(1, SimpleRNN, {"activation": "relu"}, 1, _transposed),
}
_KEY = re.compile(r"(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?")


def keras_weights_from_torch(mode, w_ih, w_hh, b_ih=None, b_hh=None):
    """One direction of one torch layer as the Keras / fastrnn layer's ``get_weights()``.

    Parameters
    ----------
    mode : {"LSTM", "GRU", "RNN_TANH", "RNN_RELU"}
    w_ih, w_hh : arrays ``(gates * hidden, input)``, ``(gates * hidden, hidden)``
    b_ih, b_hh : arrays ``(gates * hidden,)``, or None (``bias=False``)

    Returns
    -------
    list of arrays: ``[kernel, recurrent_kernel]`` and the bias if any.
    """
    return MODES[check.choice(mode, "mode", list(MODES))].to_keras(w_ih, w_hh, b_ih, b_hh)


def _numpy(value, name):
    """A tensor or array-like as a NumPy array of real numbers."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    return check.as_real_array(value, name, None)


class _TorchSpec:
    """A torch recurrent module's structure and weights, read from its state_dict."""

    def __init__(self, state, mode, batch_first):
        self.mode, self.batch_first = mode, batch_first
        arrays = {}
        for key, value in state.items():
            match = _KEY.fullmatch(str(key))
            if match is None:
                hint = " (LSTM proj_size is not supported)" if str(key).startswith(
                    "weight_hr") else ""
                raise ValueError(f"from_torch: unexpected state_dict key {key!r}{hint}")
            kind, layer, reverse = match.groups()
            arrays[kind, int(layer), int(bool(reverse))] = _numpy(value, key)
        if ("weight_hh", 0, 0) not in arrays or ("weight_ih", 0, 0) not in arrays:
            raise ValueError("from_torch: the state_dict has no weight_ih_l0 / weight_hh_l0")
        self.num_layers = 1 + max(layer for _, layer, _ in arrays)
        self.directions = 1 + max(reverse for _, _, reverse in arrays)
        self.bias = ("bias_ih", 0, 0) in arrays
        self.hidden_size = arrays["weight_hh", 0, 0].shape[-1]
        self.input_size = arrays["weight_ih", 0, 0].shape[-1]
        dtype = arrays["weight_ih", 0, 0].dtype
        self.dtype = np.dtype(np.float64 if dtype == np.float64 else np.float32)
        self.arrays = arrays
        self._check_shapes()

    def _expected_shapes(self, layer):
        rows = MODES[self.mode].gates * self.hidden_size
        inputs = self.input_size if layer == 0 else self.directions * self.hidden_size
        shapes = {"weight_ih": (rows, inputs), "weight_hh": (rows, self.hidden_size)}
        if self.bias:
            shapes.update(bias_ih=(rows,), bias_hh=(rows,))
        return shapes

    def _check_shapes(self):
        expected = {}
        for layer in range(self.num_layers):
            for direction in range(self.directions):
                for kind, shape in self._expected_shapes(layer).items():
                    expected[kind, layer, direction] = shape
        for key in sorted(set(expected) | set(self.arrays)):
            name = f"{key[0]}_l{key[1]}{'_reverse' if key[2] else ''}"
            if key not in self.arrays:
                raise ValueError(f"from_torch: state_dict key {name!r} is missing")
            if key not in expected:
                raise ValueError(f"from_torch: unexpected state_dict key {name!r}")
            if self.arrays[key].shape != expected[key]:
                raise ValueError(f"from_torch: {name} has shape {self.arrays[key].shape}, "
                                 f"expected {expected[key]} for a {self.mode} with "
                                 f"hidden_size={self.hidden_size}")

    def keras_weights(self, layer, direction):
        """The fastrnn weights of one direction of one layer."""
        get = self.arrays.get
        return MODES[self.mode].to_keras(
            get(("weight_ih", layer, direction)), get(("weight_hh", layer, direction)),
            get(("bias_ih", layer, direction)), get(("bias_hh", layer, direction)))


class TorchRNN:
    """fastrnn layers computing what a ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` computes.

    Made by :func:`from_torch`.  Each torch layer is one fastrnn layer in
    :attr:`layers` (an ``LSTM`` / ``GRU`` / ``SimpleRNN`` returning sequences
    and states, wrapped in a ``Bidirectional`` with ``merge_mode="concat"``
    for a bidirectional module).  Inference only: the module's inter-layer
    dropout does not apply.

    Attributes
    ----------
    layers : list of Layer
    mode : {"LSTM", "GRU", "RNN_TANH", "RNN_RELU"}
    input_size, hidden_size, num_layers : int
    bidirectional, batch_first, bias : bool
    dtype : numpy dtype (float32, or float64 for a float64 module)
    """

    def __repr__(self) -> str:
        return (f"<TorchRNN mode={self.mode!r} input_size={self.input_size} "
                f"hidden_size={self.hidden_size} num_layers={self.num_layers} "
                f"bidirectional={self.bidirectional} batch_first={self.batch_first} "
                f"bias={self.bias} dtype={self.dtype.name}>")

    def __init__(self, spec: Any) -> None:
        self.mode, self.batch_first = spec.mode, spec.batch_first
        self.input_size, self.hidden_size = spec.input_size, spec.hidden_size
        self.num_layers, self.bidirectional = spec.num_layers, spec.directions == 2
        self.bias, self.dtype = spec.bias, spec.dtype
        self.layers = [self._make_layer(spec, k) for k in range(spec.num_layers)]

    def _make_layer(self, spec, k):
        mode = MODES[spec.mode]
        # zero_output_for_mask: steps past a row's length output zeros, as torch's
        # packed sequences (Bidirectional sets it on its two layers itself)
        layer = mode.layer(spec.hidden_size, return_sequences=True, return_state=True,
                           time_major=not spec.batch_first, use_bias=spec.bias,
                           dtype=spec.dtype.name, name=f"{spec.mode.lower()}_l{k}",
                           zero_output_for_mask=True, **mode.layer_kwargs)
        if spec.directions == 2:
            layer = Bidirectional(layer, name=f"bidirectional_l{k}")
        inputs = spec.input_size if k == 0 else spec.directions * spec.hidden_size
        layer.build((None, None, inputs))
        layer.set_weights([w for d in range(spec.directions) for w in spec.keras_weights(k, d)])
        return layer

    def __call__(self, x: Any, hx: Any = None, lengths: Any = None) -> Tuple[np.ndarray, Any]:
        """Run the sequence: torch's call, torch's shapes.

        Parameters
        ----------
        x : array ``(T, B, input_size)``, ``(B, T, input_size)`` when
            ``batch_first``, or unbatched ``(T, input_size)``.
        hx : optional
            Initial states ``(num_layers * num_directions, B, hidden_size)``
            (``(num_layers * num_directions, hidden_size)`` unbatched), a tuple
            ``(h_0, c_0)`` for an LSTM.  Default zeros.
        lengths : integers ``(B,)``, optional
            Valid steps per sequence, as ``torch.nn.utils.rnn.pack_padded_sequence``
            (sorted or not): outputs past a sequence's length are zeros, ``h_n`` is
            taken at its last valid step (the backward direction starts there).

        Returns
        -------
        ``(output, h_n)``, or ``(output, (h_n, c_n))`` for an LSTM; ``output``
        is ``(T, B, D * hidden_size)`` (batch first if ``batch_first``).
        """
        if hasattr(x, "batch_sizes"):
            raise TypeError("from_torch models take padded arrays, not PackedSequence "
                            "(use predict(x, lengths=...) for packed-sequence results)")
        return self._forward(_numpy(x, "x"), hx, lengths=lengths)

    def _forward(self, x, hx, mask=None, lengths=None):
        """``__call__`` on an array; ``mask`` (in ``x``'s layout) and ``lengths`` mark the
        valid steps."""
        unbatched = x.ndim == 2
        if unbatched:
            x = x[None] if self.batch_first else x[:, None]
        if x.ndim != 3:
            raise ValueError(f"x must be 2-D (unbatched) or 3-D, got shape {x.shape}")
        batch = x.shape[0 if self.batch_first else 1]
        initial = self._initial_states(hx, batch, unbatched)
        if lengths is not None:
            lengths = check.sequence_lengths(lengths, batch, x.shape[1 if self.batch_first else 0])
        finals, output = [], x
        for layer, states in zip(self.layers, initial):
            output, *layer_states = layer(output, mask=mask, lengths=lengths, initial_state=states)
            finals.extend(layer_states)
        if lengths is not None:     # torch's padded output: zeros past each length
            steps = output.shape[1 if self.batch_first else 0]
            valid = np.arange(steps)[None, :] < lengths[:, None]
            output = output * (valid if self.batch_first else valid.T)[..., None]
        n_states = MODES[self.mode].n_states
        final = [np.stack(finals[k::n_states]) for k in range(n_states)]
        if unbatched:
            output = output[0] if self.batch_first else output[:, 0]
            final = [state[:, 0] for state in final]
        return output, (tuple(final) if n_states == 2 else final[0])

    def predict(self, x: Any, batch_size: Optional[int] = None, verbose: Union[int, str] = "auto",
                lengths: Any = None, mask: Any = None) -> Any:
        """``self(x)`` computed ``batch_size`` sequences at a time, with progress.

        Parameters
        ----------
        x : array ``(T, B, input_size)``, or ``(B, T, input_size)`` when
            ``batch_first``; a NumPy memmap or Zarr array is read batch by batch.
        batch_size : int, optional
            Sequences per call (default 32).
        verbose : {"auto", 0, 1, 2}, default "auto"
            0 silent; 1 a progress bar on stderr; 2 one line at the end;
            "auto" the bar only on a terminal, once the run has lasted a second.
        lengths : int array (B,), optional
            torch's ``pack_padded_sequence(x, lengths, enforce_sorted=False)``
            results, padded back: ``output`` is zero past each row's length,
            ``h_n`` (and ``c_n``) are the states at its last valid step (the
            reverse direction starts there).  A length of 0 (which torch
            refuses) gives zeros.
        mask : boolean array, optional
            Valid steps in ``x``'s layout (``(B, T)`` when ``batch_first``,
            else ``(T, B)``); AND ``lengths`` when both are given.

        Returns
        -------
        ``(output, h_n)``, or ``(output, (h_n, c_n))`` for an LSTM, as ``self(x)``.
        """
        from .. import _predict

        if hasattr(x, "detach"):
            x = _numpy(x, "x")
        return _predict.predict_model(self, x, batch_size, verbose, lengths, mask)

    def _initial_states(self, hx, batch, unbatched):
        """Per layer, the flat list of initial states (forward's then backward's), or None."""
        if hx is None:
            return [None] * self.num_layers
        n_states = MODES[self.mode].n_states
        parts = list(hx) if n_states == 2 else [hx]
        if n_states == 2 and len(parts) != 2:
            raise ValueError("hx for an LSTM must be a tuple (h_0, c_0)")
        rows = self.num_layers * (2 if self.bidirectional else 1)
        shape = (rows, self.hidden_size) if unbatched else (rows, batch, self.hidden_size)
        parts = [check.state_array(_numpy(part, "hx"), "hx", shape, self.dtype) for part in parts]
        if unbatched:
            parts = [part[:, None] for part in parts]
        per_row = [[part[row] for part in parts] for row in range(rows)]
        directions = rows // self.num_layers
        return [[state for row in per_row[k * directions:(k + 1) * directions] for state in row]
                for k in range(self.num_layers)]


def _settings_of_module(module, given):
    """``(state_dict, mode, batch_first)`` of a torch module; ``given`` arguments must agree."""
    if getattr(module, "proj_size", 0):
        raise ValueError(f"from_torch: LSTM proj_size={module.proj_size} is not supported")
    actual = {"mode": module.mode, "num_layers": module.num_layers,
              "bidirectional": module.bidirectional, "batch_first": module.batch_first,
              "nonlinearity": getattr(module, "nonlinearity", None)}
    for name, value in given.items():
        if value is not None and value != actual[name] and not (
                name == "mode" and _mode(value, actual["nonlinearity"]) == actual["mode"]):
            raise ValueError(f"from_torch: {name}={value!r} but the module has "
                             f"{name}={actual[name]!r}")
    return module.state_dict(), actual["mode"], actual["batch_first"]


def _mode(mode, nonlinearity):
    """A torch mode name, with ``"RNN"`` resolved by ``nonlinearity`` (default tanh)."""
    if mode == "RNN":
        nonlinearity = nonlinearity or "tanh"
        check.choice(nonlinearity, "nonlinearity", ["tanh", "relu"])
        return "RNN_" + nonlinearity.upper()
    check.choice(mode, "mode", list(MODES) + ["RNN"])
    if nonlinearity is not None and mode.startswith("RNN_") and mode != "RNN_" + str(
            nonlinearity).upper():
        raise ValueError(f"from_torch: mode={mode!r} contradicts nonlinearity={nonlinearity!r}")
    return mode


def _select_prefix(state, prefix):
    """The recurrent module's entries of a state_dict, keys without ``prefix``.

    With ``prefix=None`` the keys must be the module's own; a state_dict of a
    whole model (``"lstm.weight_ih_l0"``) raises a ``ValueError`` listing the
    prefixes found.
    """
    keys = [str(k) for k in state]
    if prefix is None:
        if any(_KEY.fullmatch(k) for k in keys) or not keys:
            return state
    else:
        if not isinstance(prefix, str):
            raise TypeError(f"from_torch: prefix must be a string such as 'lstm.', got "
                            f"{prefix!r}")
        selected = {str(k)[len(prefix):]: v for k, v in state.items()
                    if str(k).startswith(prefix) and _KEY.fullmatch(str(k)[len(prefix):])}
        if selected:
            return selected
    found = sorted({k[:match.start()] for k in keys
                    for match in [_KEY.search(k)] if match and match.end() == len(k)})
    given = "" if prefix is None else f"no recurrent weights under prefix={prefix!r}; "
    if found:
        raise ValueError(f"from_torch: {given}the state_dict holds recurrent weights under "
                         f"the prefixes {found}: pass prefix= one of them (e.g. "
                         f"prefix={found[0]!r})")
    raise ValueError(f"from_torch: {given}no recurrent-layer keys (weight_ih_l0, ...) in the "
                     f"state_dict; keys seen: {keys[:8]}{' ...' if len(keys) > 8 else ''}")


def from_torch(module_or_state_dict: Any, *, mode: Optional[str] = None,
               num_layers: Optional[int] = None, bidirectional: Optional[bool] = None,
               batch_first: Optional[bool] = None, nonlinearity: Optional[str] = None,
               prefix: Optional[str] = None, **settings: Any) -> Any:
    """A :class:`TorchRNN` equivalent to a ``torch.nn.LSTM``, ``GRU`` or ``RNN``, or the
    fastrnn layer of a head module (``nn.Linear``, ``nn.Embedding``, ``nn.LayerNorm``,
    ``nn.Dropout``, ``nn.Conv1d``, activations, an ``nn.Sequential`` of those).

    Parameters
    ----------
    module_or_state_dict : torch module, dict or NpzFile
        The module itself, or its ``state_dict()`` with NumPy values
        (``{k: v.numpy() for k, v in module.state_dict().items()}``) so that
        torch is not needed at run time -- any mapping, such as what
        ``np.load`` returns for a file written by ``np.savez(path, **state)``.
    mode : {"LSTM", "GRU", "RNN_TANH", "RNN_RELU", "RNN"}, optional
        Required with a state_dict (``"RNN"`` + ``nonlinearity`` also works).
    num_layers : int, optional
        Inferred from the keys; checked when given.
    bidirectional : bool, optional
        Inferred from the keys (``*_reverse``); checked when given.
    batch_first : bool, optional
        Required with a state_dict (torch's layout of ``x`` and ``output``).
    nonlinearity : {"tanh", "relu"}, optional
        For ``mode="RNN"``.
    prefix : str, optional
        For the state_dict of a whole model: the recurrent module's key prefix
        (``"lstm."`` for ``model.lstm``); the other keys are ignored.
    **settings
        With a state_dict and ``mode="Linear"`` / ``"Embedding"`` /
        ``"LayerNorm"`` / ``"Conv1d"`` (a head; ``prefix=`` as above, e.g.
        ``"fc."``): the module's arguments that the state_dict does not hold
        (``padding_idx``; ``eps``, ``normalized_shape``; ``stride``, ``padding``,
        ``dilation``, ``groups``).  See ``fastrnn.convert._torch_heads``.

    Returns
    -------
    TorchRNN
        ``rnn(x, hx=None)`` returns what the module returns: ``(output, h_n)``,
        or ``(output, (h_n, c_n))`` for an LSTM, as NumPy arrays.
        A head gives a fastrnn layer (``Dense``, ``Embedding``, ...) or a
        ``Sequential``.

    Raises
    ------
    ValueError
        Unsupported module (``proj_size``), missing / unexpected keys, wrong
        shapes, or arguments that contradict the module or its weights.
    """
    if _heads.is_head(module_or_state_dict, mode):      # Linear, Embedding, ..., Sequential
        return _heads.from_torch_head(module_or_state_dict, mode=mode, prefix=prefix,
                                      **settings)
    if settings:
        raise TypeError(f"from_torch: unexpected argument(s) {sorted(settings)}")
    given = {"mode": mode, "num_layers": num_layers, "bidirectional": bidirectional,
             "batch_first": batch_first, "nonlinearity": nonlinearity}
    if hasattr(module_or_state_dict, "state_dict") and hasattr(module_or_state_dict, "mode"):
        state, mode, batch_first = _settings_of_module(module_or_state_dict, given)
    elif isinstance(module_or_state_dict, collections.abc.Mapping):
        if mode is None or batch_first is None:
            raise ValueError("from_torch: with a state_dict, pass mode= ('LSTM', 'GRU', "
                             "'RNN_TANH', 'RNN_RELU') and batch_first=")
        state = _select_prefix({k: module_or_state_dict[k] for k in module_or_state_dict},
                               prefix)
        mode = _mode(mode, nonlinearity)
    else:
        raise TypeError(f"from_torch needs a torch.nn.LSTM / GRU / RNN or its state_dict "
                        f"(a dict or the NpzFile of np.load), got "
                        f"{type(module_or_state_dict).__name__}")
    spec = _TorchSpec(state, mode, bool(batch_first))
    for name, value in (("num_layers", spec.num_layers),
                        ("bidirectional", spec.directions == 2)):
        if given[name] is not None and given[name] != value:
            raise ValueError(f"from_torch: {name}={given[name]!r} but the weights are for "
                             f"{name}={value!r}")
    return TorchRNN(spec)
