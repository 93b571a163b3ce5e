"""fastrnn's intra-op threads: how many batch slices a kernel call runs in parallel.

The kernels split a batch of two rows or more into slices, one per thread (OpenMP),
each running the whole time loop on its rows.  By default fastrnn uses OpenMP's thread
count (``OMP_NUM_THREADS``, else the number of cores), so threadpoolctl's
``threadpool_limits(n, user_api="openmp")`` limits it; :func:`set_num_threads` sets it
for the whole process instead.  Batch 1 and small calls run on the calling thread.
"""
from contextlib import contextmanager
from typing import Iterator, Optional

from ._kernels import _rnn

#: Below this many multiply-adds a call runs on one thread (a parallel region costs
#: a few microseconds).
MIN_PARALLEL_WORK = 1 << 20

_explicit: Optional[int] = None


def _checked(n) -> Optional[int]:
    if n is None:
        return None
    if isinstance(n, bool) or not hasattr(n, "__index__") or int(n) < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer or None, got {n!r}")
    return int(n)


def set_num_threads(n: Optional[int]) -> None:
    """Set the threads fastrnn's kernels use (``None``: back to OpenMP's default).

    Parameters
    ----------
    n : int >= 1, or None

    Examples
    --------
    >>> import fastrnn as fr
    >>> fr.set_num_threads(2)
    >>> fr.get_num_threads()
    2
    >>> fr.set_num_threads(None)
    """
    global _explicit
    _explicit = _checked(n)


def get_num_threads() -> int:
    """The threads a large batch would use now (the setting, else OpenMP's default)."""
    return _explicit if _explicit is not None else max(1, _rnn.omp_max_threads())


@contextmanager
def num_threads(n: Optional[int]) -> Iterator[None]:
    """``with fr.num_threads(n):`` -- :func:`set_num_threads` for the block, then restore.

    The setting is process-wide: do not nest it from several Python threads at once.
    """
    global _explicit
    previous, _explicit = _explicit, _checked(n)
    try:
        yield
    finally:
        _explicit = previous


def for_call(batch: int, work: int) -> int:
    """Threads for one kernel call of ``batch`` rows and ``work`` multiply-adds."""
    if batch < 2 or work < MIN_PARALLEL_WORK:
        return 1
    return max(1, min(get_num_threads(), batch, work // MIN_PARALLEL_WORK))
