"""Batch prediction, shared by ``Sequential``, the recurrent layers and ``from_torch`` models.

One loop (:func:`predict_batches`) slices the input into batches along its
batch axis, runs the model on each, and writes each batch's results into
output arrays allocated once, after the first batch (so the peak memory beyond
the outputs is one batch's worth, whatever the input size).  The input is only
ever sliced: a memory-mapped ``.npy`` or a Zarr array is read batch by batch.

``lengths`` (int ``(batch,)``, valid steps ``t < lengths[b]``) is checked once and
passed to each batch's call, sliced, as the layers' own ``lengths=`` argument.
"""
import sys
import time
from typing import Any, Optional, Union

import numpy as np

from . import _validation as check
from .layers.base import flatten

__all__ = ["DEFAULT_BATCH_SIZE", "batch_size_arg", "verbose_arg", "predict_batches",
           "predict_model", "layer_predict"]

#: tf.keras's default ``batch_size`` for ``predict``.
DEFAULT_BATCH_SIZE = 32

#: With ``verbose="auto"``, the bar appears (on a terminal) once a run has lasted this long.
AUTO_DELAY_SECONDS = 1.0


def batch_size_arg(batch_size):
    """``batch_size`` as a positive int (None: tf.keras's default, 32)."""
    if batch_size is None:
        return DEFAULT_BATCH_SIZE
    return check.positive_int(batch_size, "batch_size")


def verbose_arg(verbose):
    """``verbose`` as 0 (silent), 1 (progress bar), 2 (one line at the end) or ``"auto"``."""
    if isinstance(verbose, str):
        return check.choice(verbose, "verbose", ["auto"])
    if isinstance(verbose, (bool, np.bool_)):
        return int(verbose)
    if isinstance(verbose, (int, np.integer)) and int(verbose) in (0, 1, 2):
        return int(verbose)
    raise ValueError(f"verbose must be 0, 1, 2 or 'auto', got {verbose!r}")


def _sliceable(x, name="x"):
    """``x`` itself when it is an array that slices lazily (ndarray, memmap, Zarr), else
    ``np.asarray(x)``; its dtype must be real numbers."""
    if not (hasattr(x, "shape") and hasattr(x, "dtype") and hasattr(x, "__getitem__")):
        x = check.regular_array(x, name)
    if np.dtype(x.dtype).kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers, got dtype {x.dtype}")
    if len(x.shape) < 1:
        raise ValueError(f"{name} must have a batch axis, got a scalar")
    return x


class _Progress:
    """A tqdm bar on stderr (sequences/s and ETA) for verbose 1, a summary line for 2."""

    def __init__(self, verbose, total, file=None):
        self.verbose, self.total, self.done = verbose, total, 0
        self.file = sys.stderr if file is None else file
        self.start = time.time()
        self.bar = None
        self.show = verbose == 1 or (verbose == "auto" and _is_terminal(self.file))

    def update(self, rows):
        """Count ``rows`` more sequences done (the bar appears after the first batch, so
        that a bad input gives its error alone)."""
        self.done += rows
        if self.show and self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=self.total, unit="seq", file=self.file, dynamic_ncols=True,
                            delay=AUTO_DELAY_SECONDS if self.verbose == "auto" else 0.0)
            self.bar.start_t = self.start       # rates and ETA count the first batch
        if self.bar is not None:
            self.bar.update(rows)

    def close(self):
        if self.bar is not None:
            self.bar.close()
        elif self.verbose == 2:
            seconds = time.time() - self.start
            print(f"{self.done}/{self.total} sequences in {seconds:.2f} s "
                  f"({self.done / max(seconds, 1e-9):.0f} sequences/s)", file=self.file)


def _is_terminal(file):
    try:
        return file.isatty()
    except (AttributeError, ValueError):
        return False


def _take(array, axis, rows):
    """``array[rows]`` along ``axis`` (a view for a NumPy array, a read for Zarr)."""
    return array[(slice(None),) * axis + (rows,)]


def _pack(structure, leaves):
    """``structure`` rebuilt around ``leaves``, lists as lists and tuples as tuples."""
    it = iter(leaves)

    def rebuild(node):
        if isinstance(node, (list, tuple)):
            return type(node)(rebuild(child) for child in node)
        return next(it)

    return rebuild(structure)


def predict_batches(run, x, *, batch_size=None, verbose="auto", lengths=None, mask=None,
                    time_major=False, output_axes=0, keep=None, allocate=None, file=None):
    """Run ``run`` over ``x`` batch by batch into outputs allocated once.

    Parameters
    ----------
    run : callable ``run(x_batch, mask_batch, lengths_batch) -> output``
        ``output`` is an array or a nested list / tuple of arrays;
        ``mask_batch`` is None or the mask's rows of the batch (input's
        layout), ``lengths_batch`` None or the batch's lengths.
    x : array-like, NumPy memmap or Zarr array
        Batch along axis 0 (axis 1 when ``time_major``); only sliced.
    batch_size : int, optional
        Rows per call, default 32.
    verbose : {"auto", 0, 1, 2}
        0 silent; 1 a tqdm bar on stderr (sequences/s, ETA); 2 one line at
        the end; "auto" the bar when stderr is a terminal and the run lasts
        more than a second.
    lengths : int array (batch,), optional
        Valid steps per row (checked here, sliced for each batch).
    mask : boolean array, optional
        ``(batch, time)`` (``(time, batch)`` when ``time_major``).
    time_major : bool
        The input's (and mask's) batch axis is 1.
    output_axes : int or callable
        The batch axis of the output leaves: one for all, or
        ``output_axes(n_leaves) -> list of int``.
    keep : list of int, optional
        Indices of the flat output leaves to return (default all, in the
        output's structure; with ``keep``, a list of the kept leaves).
    allocate : callable ``allocate(index, shape, dtype) -> array``, optional
        Makes each output (default ``np.empty``): a memory map, a Zarr array...
    file : stream, optional
        Where progress goes (default stderr).

    Returns
    -------
    The outputs, with the structure ``run`` returns (or the list of kept leaves).
    """
    batch_size = batch_size_arg(batch_size)
    verbose = verbose_arg(verbose)
    x = _sliceable(x)
    axis = 1 if time_major else 0
    if (lengths is not None or mask is not None) and len(x.shape) < 2:
        raise ValueError(f"x must have a batch and a time axis to use lengths or mask, got "
                         f"shape {tuple(x.shape)}")
    n = int(x.shape[axis])
    steps = int(x.shape[1 - axis]) if len(x.shape) >= 2 else 0
    if lengths is not None:
        lengths = check.sequence_lengths(lengths, n, steps)
    if mask is not None:   # validated once (a uint8 copy, None when all true)
        mask = check.sequence_mask(mask, n, steps, time_major=time_major)
    allocate = allocate or (lambda index, shape, dtype: np.empty(shape, dtype))
    progress = _Progress(verbose, n, file)
    structure = outputs = axes = None
    try:
        for start in range(0, max(n, 1), batch_size):
            rows = slice(start, min(n, start + batch_size))
            result = run(np.asarray(_take(x, axis, rows)),
                         None if mask is None else _take(mask, axis, rows),
                         None if lengths is None else lengths[rows])
            leaves = flatten(result)
            if outputs is None:
                structure = result
                axes = output_axes(len(leaves)) if callable(output_axes) else \
                    [output_axes] * len(leaves)
                chosen = range(len(leaves)) if keep is None else keep
                outputs = {}
                for k in chosen:
                    leaf, ax = np.asarray(leaves[k]), axes[k]
                    shape = leaf.shape[:ax] + (n,) + leaf.shape[ax + 1:]
                    outputs[k] = allocate(k, shape, leaf.dtype)
            for k, out in outputs.items():
                out[(slice(None),) * axes[k] + (rows,)] = leaves[k]
            progress.update(rows.stop - start)
    finally:
        progress.close()
    if keep is not None:
        return [outputs[k] for k in keep]
    return _pack(structure, [outputs[k] for k in range(len(outputs))])


def _time_major(layer):
    """Whether ``layer`` (a recurrent layer or a wrapper of one) takes time-major inputs."""
    inner = getattr(layer, "forward_layer", layer)
    return bool(getattr(inner, "time_major", False))


def _output_axes(layer):
    """``output_axes`` for ``predict_batches``: a time-major layer's sequence outputs have
    their batch on axis 1, its states (and everything else) on axis 0."""
    inner = getattr(layer, "forward_layer", layer)
    if not (_time_major(layer) and getattr(inner, "return_sequences", False)):
        return 0
    n_outputs = 2 if getattr(layer, "merge_mode", "concat") is None else len(
        flatten(getattr(inner, "_output_spec", None) or [None]))

    def axes(n_leaves):
        if not getattr(layer, "return_state", False):
            return [1] * n_leaves
        return [1] * n_outputs + [0] * (n_leaves - n_outputs)

    return axes


def _plan(model):
    """``(run, time_major, output_axes)`` for a fastrnn layer, ``Sequential`` or
    ``from_torch`` model: how :func:`predict_batches` drives it."""
    if hasattr(model, "_forward") and hasattr(model, "batch_first"):      # TorchRNN
        sequence_axis = 0 if model.batch_first else 1       # h_n / c_n: (L * D, B, H)

        def run_torch(batch, batch_mask, batch_lengths):
            return model._forward(batch, None, batch_mask, batch_lengths)

        return (run_torch, not model.batch_first,
                lambda n_leaves: [sequence_axis] + [1] * (n_leaves - 1))

    def run(batch, batch_mask, batch_lengths):
        kwargs = {}
        if batch_mask is not None:
            kwargs["mask"] = batch_mask
        if batch_lengths is not None:
            kwargs["lengths"] = batch_lengths
        return model(batch, **kwargs)

    layers = getattr(model, "_layers", None)                               # Sequential
    if layers is not None and hasattr(model, "_run"):
        return (run, bool(layers) and _time_major(layers[0]),
                _output_axes(layers[-1]) if layers else 0)
    return run, _time_major(model), _output_axes(model)


def predict_model(model, x, batch_size=None, verbose="auto", lengths=None, mask=None, **kwargs):
    """:func:`predict_batches` on a fastrnn layer, ``Sequential`` or ``from_torch`` model
    (``kwargs``: ``keep``, ``allocate``, ``file``)."""
    run, time_major, output_axes = _plan(model)
    if hasattr(model, "_forward") and len(getattr(x, "shape", np.shape(x))) != 3:
        layout = "(B, T, input_size)" if model.batch_first else "(T, B, input_size)"
        raise ValueError(f"x must be 3-D {layout} for predict, got shape {np.shape(x)}")
    return predict_batches(run, x, batch_size=batch_size, verbose=verbose, lengths=lengths,
                           mask=mask, time_major=time_major, output_axes=output_axes, **kwargs)


def layer_predict(self, x: Any, batch_size: Optional[int] = None,
                  verbose: Union[int, str] = "auto", lengths: Any = None,
                  mask: Any = None) -> Any:
    """The outputs for ``x``, computed ``batch_size`` sequences at a time (tf.keras ``predict``).

    Parameters
    ----------
    x : array-like (batch, time, features), or ``(time, batch, features)`` for
        a time-major layer; a NumPy memmap or Zarr array is read batch by batch.
    batch_size : int, optional
        Sequences per call (default 32, as tf.keras).  Results do not depend
        on it for layers that are not stateful.
    verbose : {"auto", 0, 1, 2}, default "auto"
        0 silent; 1 a progress bar on stderr (sequences/s and ETA); 2 one line
        at the end; "auto" the bar only on a terminal, once the run has
        lasted a second.
    lengths : int array (batch,), optional
        Valid steps per sequence (``t < lengths[b]``, post-padding), as the
        layer's ``lengths=``: the same as the equivalent mask (AND ``mask``),
        with the padding skipped.
    mask : boolean array (batch, time), optional
        ``(time, batch)`` for a time-major layer.

    Returns
    -------
    What calling the layer on all of ``x`` returns (an array, or a list with
    ``return_state``), each output allocated once and filled batch by batch.
    """
    return predict_model(self, x, batch_size, verbose, lengths, mask)
