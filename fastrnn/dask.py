"""Scoring on Dask: :func:`predict` maps a fastrnn model over the blocks of a ``dask.array``.

The model enters the task graph once, as a single key that every block's task
depends on (``dask.delayed(model)``): the distributed scheduler sends it to each
worker once, not once per task.  Each block runs ``predict`` in the worker thread
that executes it, with fastrnn's kernels and BLAS single-threaded inside: the
worker's threads are the parallelism.  Needs the ``[dask]`` extra:
``pip install "fastrnn[dask]"``.

Examples
--------
>>> import dask.array as da                                      # doctest: +SKIP
>>> import fastrnn.dask
>>> from fastrnn.convert import load_keras
>>> model = load_keras("classifier.keras")
>>> x = da.from_zarr("sequences.zarr")                 # (batch, time, features), chunked on batch
>>> scores = fastrnn.dask.predict(model, x)            # lazy
>>> scores.to_zarr("scores.zarr")                      # computed block by block on the cluster
"""
import contextlib
import threading
import time
from typing import Any, Optional

import numpy as np

from . import _predict
from . import _validation as check
from .layers.base import flatten

__all__ = ["predict"]

_lock = threading.Lock()
_blocks_running = 0
_restore = None


@contextlib.contextmanager
def single_threaded():
    """One thread for fastrnn's kernels and for BLAS while any block of this process runs:
    the worker's threads (one block each) are the parallelism.  Both settings are
    process-wide: the first block in sets them, the last one out restores them."""
    global _blocks_running, _restore
    from threadpoolctl import threadpool_limits

    from . import _threads

    with _lock:
        if _blocks_running == 0:
            blas = threadpool_limits(1, user_api="blas")
            previous = _threads._explicit
            _threads.set_num_threads(1)

            def _restore():
                _threads.set_num_threads(previous)
                blas.restore_original_limits()
        _blocks_running += 1
    try:
        yield
    finally:
        with _lock:
            _blocks_running -= 1
            if _blocks_running == 0:
                _restore()
                _restore = None


def _predict_block(block, lengths, model, batch_size):
    """One block's first output (the task each block of :func:`predict` runs)."""
    with single_threaded():
        (output,) = _predict.predict_model(model, block, batch_size, 0, lengths, keep=[0])
    return output


def _dask_array():
    try:
        import dask
        import dask.array as da
    except ImportError:
        raise ImportError('fastrnn.dask needs dask: pip install "fastrnn[dask]"') from None
    return dask, da


def predict(model: Any, x: Any, lengths: Any = None, batch_size: Optional[int] = None) -> Any:
    """A model's output for a ``dask.array`` of sequences, as a lazy ``dask.array``.

    Parameters
    ----------
    model : fastrnn model
        A ``Sequential`` (``fastrnn.convert.load_keras``), a recurrent layer,
        or a ``from_torch`` model.  Sent to each worker once.
    x : dask.array
        ``(batch, time, features)`` (``(time, batch, features)`` for a
        time-major layer or a ``from_torch`` model without ``batch_first``;
        ``(batch, time)`` ids for a model starting with ``Embedding``),
        chunked along the batch axis only.
    lengths : int array (batch,), NumPy or dask, optional
        Valid steps per sequence (rechunked to ``x``'s batch chunks).
    batch_size : int, optional
        Sequences per call inside each block (default 32).

    Returns
    -------
    dask.array
        The model's output (its first output for a model returning several:
        torch's ``output`` for a ``from_torch`` model), one block per block of
        ``x``, with the same batch chunks.

    Raises
    ------
    TypeError
        ``x`` is not a dask array.
    ValueError
        ``x`` is chunked along its time or feature axes (the message says how
        to rechunk), or ``lengths`` does not fit.
    """
    dask, da = _dask_array()
    if not isinstance(x, da.Array):
        raise TypeError(f"x must be a dask.array, got {type(x).__name__} (for NumPy arrays use "
                        f"model.predict)")
    if x.ndim < 2:
        raise ValueError(f"x must have a batch and a time axis, got shape {x.shape}")
    if np.dtype(x.dtype).kind not in "biuf":
        raise TypeError(f"x must contain real numbers, got dtype {x.dtype}")
    batch_size = _predict.batch_size_arg(batch_size)
    _, time_major, output_axes = _predict._plan(model)
    axis = 1 if time_major else 0
    if any(np.isnan(size) for size in x.shape) or any(
            np.isnan(c) for chunks in x.chunks for c in chunks):
        raise ValueError("x has unknown chunk sizes: call x.compute_chunk_sizes() first")
    split = [k for k in range(x.ndim) if k != axis and x.numblocks[k] != 1]
    if split:
        whole = ", ".join(f"{k}: -1" for k in range(x.ndim) if k != axis)
        raise ValueError(f"x must be chunked along its batch axis ({axis}) only, but axes "
                         f"{split} have {[x.numblocks[k] for k in split]} chunks: use "
                         f"x.rechunk({{{whole}}})")
    n, steps = x.shape[axis], x.shape[1 - axis]
    batch_chunks = x.chunks[axis]
    if lengths is not None:
        if isinstance(lengths, da.Array):
            if lengths.shape != (n,) or np.dtype(lengths.dtype).kind not in "iu":
                raise ValueError(f"lengths must be an integer array of shape ({n},), got "
                                 f"{lengths.dtype} {lengths.shape}")
            lengths = lengths.rechunk((batch_chunks,))
        else:
            lengths = da.from_array(check.sequence_lengths(lengths, n, steps),
                                    chunks=(batch_chunks,))

    # shape and dtype of one block's output, from one row of zeros (ids 0 for an Embedding)
    probe_shape = tuple(1 if k == axis else s for k, s in enumerate(x.shape))
    probe = _predict.predict_model(model, np.zeros(probe_shape, x.dtype), 1, 0)
    leaves = flatten(probe)
    out_axis = (output_axes(len(leaves)) if callable(output_axes) else [output_axes])[0]
    sample = np.asarray(leaves[0])

    shipped = dask.delayed(model, pure=True, traverse=False)     # one key in the graph
    # blockwise indices: x's axes are 0..ndim-1 (only the batch axis has several chunks);
    # the output keeps x's batch index on out_axis, its other axes are new single chunks
    x_index = tuple(range(x.ndim))
    out_index = tuple(axis if k == out_axis else x.ndim + k for k in range(sample.ndim))
    new_axes = {x.ndim + k: size for k, size in enumerate(sample.shape) if k != out_axis}
    lengths_args = (lengths, (axis,)) if lengths is not None else (None, None)
    return da.blockwise(_predict_block, out_index, x, x_index, *lengths_args, shipped, None,
                        batch_size, None, new_axes=new_axes, concatenate=True,
                        dtype=sample.dtype, meta=np.empty((0,) * sample.ndim, sample.dtype),
                        token="fastrnn-predict")


def _bench_sequences_per_second(model, x, *, n_workers, chunk_rows=4096, batch_size=None,
                                repeats=3):
    """Sequences/s of :func:`predict` on a ``LocalCluster(n_workers, processes=True,
    threads_per_worker=1)`` bound to 127.0.0.1 (for the benchmarks); the best of ``repeats``
    runs after one warm-up (which ships the model)."""
    import dask.array as da
    from distributed import Client, LocalCluster

    x = da.from_array(np.asarray(x), chunks=(chunk_rows,) + tuple(np.shape(x)[1:]))
    with LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True,
                      host="127.0.0.1", dashboard_address=None) as cluster, Client(cluster):
        scores = predict(model, x, batch_size=batch_size)
        scores.compute()
        best = float("inf")
        for _ in range(repeats):
            start = time.perf_counter()
            scores.compute()
            best = min(best, time.perf_counter() - start)
    return x.shape[0] / best
