"""Explicit-state streaming: ``get_initial_state(batch_size=n)`` and ``step(inputs, states)``.

A stream is a set of states the caller holds (one session of a server, say); the layer
or model holds none of it, so one object serves any number of streams from any number
of threads.  ``step`` takes one timestep ``(batch, features)`` (token ids ``(batch,)``
for a model that starts with ``Embedding``) or a chunk of them ``(batch, t, features)``,
and returns ``(outputs, new_states)``; it never modifies the states it is given unless
they are also passed as ``out``.

States:

* an RNN layer: its cell's state structure, as :attr:`fastrnn.RNN.states` lists it
  (LSTM ``[h, c]``; GRU / SimpleRNN ``[h]``; stacked cells one entry per cell);
* a ``Sequential`` model: a list with one such entry per recurrent layer, in order.

Masks follow tf.keras: a row whose step is masked keeps its state, and its output
repeats its previous output -- for a stream, the output of its last valid step, or its
initial state before any (zeros with ``zero_output_for_mask=True``).  ``Masking`` and
``Embedding(mask_zero=True)`` layers make the mask of each step.

Stepping a sequence frame by frame, or chunk by chunk, gives the whole-sequence call's
outputs and final states (bitwise for the built-in cells: the same kernels run).
"""
from typing import Any, List, Optional, Tuple

import numpy as np

from .. import _engine
from .. import _validation as check
from .base import call_accepts, flatten, is_nested, pack_as, pinned_weights

__all__ = ["rnn_initial_state", "rnn_step", "model_initial_state", "model_step",
           "FRAME_LAYERS"]

#: Layers that act on each timestep alone, so a model streams through them frame by frame.
FRAME_LAYERS = frozenset({
    "InputLayer", "Dense", "Embedding", "Masking", "Dropout", "Activation",
    "LayerNormalization", "BatchNormalization", "GaussianNoise", "GaussianDropout",
    "SpatialDropout1D", "ActivityRegularization"})


def _structure(layer):
    if layer._state_shapes is None:
        layer._structure()


def _check_streamable(layer):
    if getattr(layer, "go_backwards", False):
        raise ValueError(f"layer {layer.name!r} runs backwards (go_backwards=True): a stream "
                         f"only goes forwards, so it cannot be stepped")
    if getattr(layer, "time_major", False):
        raise ValueError(f"layer {layer.name!r} is time-major: step takes batch-major inputs; "
                         f"use a layer with time_major=False")
    if not layer.built:
        raise ValueError(f"layer {layer.name!r} is not built: build it or call it once "
                         f"before streaming")


def rnn_initial_state(layer, batch_size: int) -> List[Any]:
    """A recurrent layer's initial states for ``batch_size`` rows, in its cell's structure."""
    if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, (int, np.integer)) \
            or batch_size < 0:
        raise ValueError(f"get_initial_state: batch_size must be a non-negative integer, "
                         f"got {batch_size!r}")
    _check_streamable(layer)
    _structure(layer)
    flat = [np.ascontiguousarray(s, dtype=d)
            for s, d in zip(layer._cell_initial_state(batch_size), layer._state_dtypes)]
    return pack_as(layer._state_spec, flat) if is_nested(layer._state_spec) else flat


def _flat_states(layer, states, batch):
    """``states`` (nested or flat) as the flat list of arrays the cells take, validated."""
    flat = flatten(states)
    shapes = layer._state_shapes
    if len(flat) != len(shapes):
        raise ValueError(f"step: layer {layer.name!r} has {len(shapes)} state array(s), "
                         f"states holds {len(flat)}")
    return [s if type(s) is np.ndarray and s.dtype == d and s.shape == (batch,) + shape
            and s.flags.c_contiguous
            else check.state_array(s, f"states[{k}]", (batch,) + shape, d)
            for k, (s, shape, d) in enumerate(zip(flat, shapes, layer._state_dtypes))]


def rnn_step(layer, inputs, states, mask=None, out: Optional[list] = None) -> Tuple[Any, Any]:
    """One timestep (or a chunk) of a recurrent layer; see the module docstring."""
    cells = layer._cells
    if (len(cells) == 1 and type(inputs) is np.ndarray and inputs.ndim == 2
            and layer._kernel_capable and not layer.go_backwards and layer.built):
        weights = cells[0]._kernel_weights     # the common case: one built-in cell, one frame
        if weights is not None:
            return _engine.step(weights, inputs, states, mask, layer.zero_output_for_mask, out)
    _check_streamable(layer)
    _structure(layer)
    x = inputs if type(inputs) is np.ndarray else np.asarray(inputs)
    chunk = x.ndim == 3
    batch = x.shape[0] if x.ndim else 0
    flat = _flat_states(layer, states, batch)
    out_flat = None if out is None else _flat_states(layer, out, batch)
    weights = layer._cell_kernel_weights()
    if weights is None:
        output, new = _python_steps(layer, x, flat, mask, chunk)
        if out_flat is not None:
            for buf, value in zip(out_flat, new):
                buf[...] = value
            new = out_flat
    elif chunk:
        output, new = _kernel_chunk(layer, weights, x, flat, mask, out_flat)
    else:
        output, new, offset = x, [], 0
        zero = layer.zero_output_for_mask
        for w in weights:
            cell_states = flat[offset:offset + w.n_states]
            cell_out = None if out_flat is None else out_flat[offset:offset + w.n_states]
            offset += w.n_states
            output, cell_new = _engine.step(w, output, cell_states, mask, zero, cell_out)
            new.extend(cell_new)
    nested = pack_as(layer._state_spec, new) if is_nested(layer._state_spec) else new
    return output, nested


def _kernel_chunk(layer, weights, x, flat, mask, out_flat):
    """A chunk (batch, t, features) through the whole-sequence kernels, cell by cell."""
    new, offset, output = [], 0, x
    for i, w in enumerate(weights):
        cell_states = flat[offset:offset + w.n_states]
        if out_flat is None:
            buffers = [s.copy() for s in cell_states]
        else:
            buffers = out_flat[offset:offset + w.n_states]
            for buf, s in zip(buffers, cell_states):
                if buf is not s:
                    buf[...] = s
        offset += w.n_states
        output, cell_new = _engine.run_sequence(
            w, output, mask=mask, state_buffers=buffers, return_sequences=True,
            zero_output_for_mask=layer.zero_output_for_mask and i == len(weights) - 1,
            stream=True)
        new.extend(cell_new)
    return output, new


def _python_steps(layer, x, flat, mask, chunk):
    """Custom cells: ``cell.call`` per step, tf.keras masking (previous output: zeros);
    every step reads the weights the chunk began with."""
    with pinned_weights(layer):
        return _step_loop(layer, x, flat, mask, chunk)


def _step_loop(layer, x, flat, mask, chunk):
    cell = layer.cell
    frames = [x[:, t] for t in range(x.shape[1])] if chunk else [x]
    masks = None
    if mask is not None:
        m = np.asarray(mask, bool)
        masks = [m[:, t] for t in range(m.shape[1])] if chunk else [m]
    spec, nested = layer._state_spec, is_nested(layer._state_spec)
    unwrap = getattr(cell, "_unwrap_single_state", False)
    states, outputs, previous = list(flat), [], None
    for t, frame in enumerate(frames):
        cell_states = pack_as(spec, states) if nested else (states[0] if unwrap else [states[0]])
        result, new_states = cell.call(frame.astype(layer._compute_dtype, copy=False),
                                       cell_states)
        result = np.asarray(result)
        new_states = [np.asarray(s) for s in flatten(new_states)]
        if masks is not None and not masks[t].all():
            keep = masks[t].reshape(-1, *([1] * (result.ndim - 1)))
            fill = np.zeros_like(result) if layer.zero_output_for_mask or previous is None \
                else previous
            result = np.where(keep, result, fill)
            new_states = [np.where(masks[t].reshape(-1, *([1] * (n.ndim - 1))), n, s)
                          for n, s in zip(new_states, states)]
        states, previous = new_states, result
        outputs.append(result)
    output = np.stack(outputs, axis=1) if chunk else outputs[0]
    return output, states


# ---- models -------------------------------------------------------------------------

def _recurrent(layer):
    return hasattr(layer, "_state_shapes") and hasattr(layer, "_cells")


def _model_plan(model):
    """``(plan, recurrent layer count)``: each layer with how it is stepped, checked once
    per layer list (and again if layers are added or removed)."""
    layers = model._layers
    cached = model.__dict__.get("_stream_plan")
    if cached is not None and len(cached[0]) == len(layers) and all(
            a is b for a, b in zip(cached[0], layers)):
        return cached[1:]
    layers = tuple(layers)
    plan = []
    for layer in layers:
        name = type(layer).__name__
        if _recurrent(layer):
            plan.append(("rnn", layer))
        elif name == "Masking":     # zeroing the inputs is skipped when an RNN is next
            plan.append(("masking", layer))
        elif name in FRAME_LAYERS:
            plan.append(("mask" if call_accepts(layer, "mask") else "plain", layer))
        else:
            raise ValueError(f"model {model.name!r} cannot be streamed: layer {layer.name!r} "
                             f"({name}) does not act on one timestep at a time (streaming "
                             f"supports recurrent layers and {sorted(FRAME_LAYERS)})")
    for i, (kind, layer) in enumerate(plan):
        if kind == "masking" and i + 1 < len(plan) and plan[i + 1][0] == "rnn":
            plan[i] = ("mask_only", layer)
    cached = (layers, plan, sum(kind == "rnn" for kind, _ in plan))
    model.__dict__["_stream_plan"] = cached
    return cached[1:]


def model_initial_state(model, batch_size: int) -> List[Any]:
    """A Sequential model's initial states: one entry per recurrent layer."""
    if not model.built:
        raise ValueError(f"model {model.name!r} is not built: build it or call it once "
                         f"before streaming")
    return [rnn_initial_state(layer, batch_size) for kind, layer in _model_plan(model)[0]
            if kind == "rnn"]


def model_step(model, inputs, states, mask=None) -> Tuple[Any, List[Any]]:
    """One timestep (or a chunk) of a Sequential model; see the module docstring."""
    plan, n_recurrent = _model_plan(model)
    if not isinstance(states, (list, tuple)) or len(states) != n_recurrent:
        raise ValueError(f"step: model {model.name!r} has {n_recurrent} recurrent "
                         f"layer(s), so states must be a list of {n_recurrent} entries "
                         f"(get_initial_state(batch_size) makes one)")
    x, new_states, k = inputs, [], 0
    for kind, layer in plan:
        if kind == "rnn":
            x, layer_states = rnn_step(layer, x, states[k], mask)
            new_states.append(layer_states)
            k += 1
            if not layer.return_sequences:
                mask = None
        elif kind == "masking" or kind == "mask_only":   # the mask of each step
            x = check.as_real_array(x, "inputs", layer._compute_dtype)
            keep = layer._keep(x)
            mask = keep if mask is None else mask & keep
            if kind == "masking":
                x = x * keep[..., None].astype(x.dtype)
        else:
            if not layer.built:
                y = layer(x, mask=mask) if kind == "mask" and mask is not None else layer(x)
            else:
                y = layer.call(x, mask=mask) if kind == "mask" and mask is not None \
                    else layer.call(x)
            mask = layer.compute_mask(x, mask)
            x = y
    return x, new_states
