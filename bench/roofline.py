"""The machine's matrix-multiply peak and L2 read bandwidth, measured in the same run.

``scipy.linalg.blas.sgemm`` (and ``dgemm`` for float64 figures) on square Fortran-ordered
matrices, timed like any case; ``2 n^3 / best time`` is the peak a recurrent layer's
GFLOP/s is divided by (the best call rather than the median: a peak is what the machine
can do, and the best call is the figure least disturbed by other processes). scipy's BLAS
is also the one fastrnn's kernels call.
"""
from __future__ import annotations

from typing import Dict, Optional

import numpy as np
from numpy.lib.stride_tricks import as_strided

from .machine import CpuMeter
from .threads import pinned
from .timing import TimingSettings, measure


def gemm_gflops(dtype: str, n: int, threads: int, settings: TimingSettings) -> Dict[str, float]:
    """GFLOP/s of an ``n x n`` GEMM in ``dtype`` on ``threads`` threads (median and best)."""
    from scipy.linalg import blas

    gemm = blas.sgemm if dtype == "float32" else blas.dgemm
    rng = np.random.default_rng(0)
    a = np.asfortranarray(rng.standard_normal((n, n)), dtype=dtype)
    b = np.asfortranarray(rng.standard_normal((n, n)), dtype=dtype)
    with pinned(threads):
        stats = measure(lambda: gemm(1.0, a, b), settings)
    flops = 2.0 * n ** 3
    return {"n": n, "median_gflops": flops / stats.median / 1e9,
            "best_gflops": flops / stats.min / 1e9, "repeats": stats.n}


def measure_roofline(threads: int, settings: TimingSettings, n: int = 1024) -> Dict[str, object]:
    """``{"float32": {...}, "float64": {...}, "background_cores": ...}`` at ``threads``."""
    meter = CpuMeter()
    peaks: Dict[str, object] = {dtype: gemm_gflops(dtype, n, threads, settings)
                                for dtype in ("float32", "float64")}
    peaks["background_cores"] = meter.other_cores()
    return peaks


L2_BUFFER_BYTES = 256 * 1024
L2_PASSES = 16


def l2_read_bandwidth(settings: TimingSettings, nbytes: int = L2_BUFFER_BYTES,
                      passes: int = L2_PASSES) -> Dict[str, Optional[float]]:
    """Read bandwidth (GB/s) of ``passes`` reads of an ``nbytes`` float32 buffer per call,
    best call of ``np.max`` and of ``np.sum``, one thread; ``best_gbps`` the higher."""
    buffer = np.ones(nbytes // 4, np.float32)
    view = as_strided(buffer, shape=(passes, buffer.size), strides=(0, buffer.itemsize),
                      writeable=False)
    meter = CpuMeter()
    gbps: Dict[str, float] = {}
    with pinned(1):
        for name, reduce in (("max", view.max), ("sum", view.sum)):
            gbps[f"{name}_gbps"] = passes * nbytes / measure(reduce, settings).min / 1e9
    return {"buffer_bytes": nbytes, "passes": passes, **gbps,
            "best_gbps": max(gbps.values()), "background_cores": meter.other_cores()}
