"""Pinning the BLAS and OpenMP thread pools of the process with threadpoolctl.

threadpoolctl only sees the libraries loaded when the limit is applied, so every backend
is imported before a pass starts. Backends with their own pools set them too
(``torch.set_num_threads``, ORT session options, ``tf.config.threading``).
"""
from __future__ import annotations

import contextlib
import importlib.util
import os
from typing import Iterator, List


def all_cores() -> int:
    """Cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def thread_settings(requested: List[int] | None = None) -> List[int]:
    """The thread counts of a run: 1 and all cores (once if the machine has one core)."""
    if requested:
        return list(dict.fromkeys(requested))
    return list(dict.fromkeys([1, all_cores()]))


def can_pin() -> bool:
    """Whether threadpoolctl is importable in this interpreter."""
    return importlib.util.find_spec("threadpoolctl") is not None


@contextlib.contextmanager
def pinned(n: int) -> Iterator[None]:
    """Limit every BLAS and OpenMP pool loaded in this process to ``n`` threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # a worker interpreter without it (say so: see can_pin)
        yield
        return
    with threadpool_limits(limits=n):
        yield


def pools() -> List[dict]:
    """The thread pools threadpoolctl sees (library, API, version, threads)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:  # pragma: no cover
        return []
    keys = ("user_api", "internal_api", "prefix", "version", "num_threads",
            "threading_layer", "architecture", "filepath")
    return [{k: p.get(k) for k in keys if k in p} for p in threadpool_info()]
