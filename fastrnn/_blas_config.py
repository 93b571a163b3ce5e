"""Choose OpenBLAS's kernels for CPUs it misdetects, before scipy's BLAS loads.

OpenBLAS builds with DYNAMIC_ARCH pick their kernels from the CPU model when the
library loads.  Versions that predate a CPU fall back to an older core: AMD Zen 4 /
Zen 5 CPUs, which have AVX-512, are run with the AVX2 "Haswell" kernels, at half
the single-core sgemm throughput (measured 120 vs 225 GFLOP/s on a Zen 5).  When
the CPU has the SkylakeX instruction set (AVX-512 F, CD, BW, DQ, VL) and is an AMD
CPU, fastrnn asks for the SkylakeX kernels through OpenBLAS's documented
``OPENBLAS_CORETYPE`` variable, only while scipy's BLAS loads, then restores the
environment.

Nothing is done when the user set ``OPENBLAS_CORETYPE`` themselves, when
``FASTRNN_OPENBLAS_CORETYPE=0``, or when scipy's BLAS was already loaded (then it is
too late; ``python -m fastrnn info`` shows the kernels in use).
"""
import os
import sys

_SKYLAKEX_FLAGS = {"avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"}

#: The core type fastrnn asked OpenBLAS for, or None.
requested_coretype = None


def _cpu_flags_and_vendor():
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            text = f.read(65536)
    except OSError:
        return set(), ""
    flags, vendor = set(), ""
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "flags" and not flags:
            flags = set(value.split())
        elif key == "vendor_id" and not vendor:
            vendor = value.strip()
    return flags, vendor


def load_scipy_blas():
    """Import scipy's BLAS, with SkylakeX kernels on AMD AVX-512 CPUs (see module doc)."""
    global requested_coretype
    already_loaded = "scipy.linalg.cython_blas" in sys.modules
    wanted = (not already_loaded
              and "OPENBLAS_CORETYPE" not in os.environ
              and os.environ.get("FASTRNN_OPENBLAS_CORETYPE", "1") != "0"
              and sys.platform.startswith("linux"))
    if wanted:
        flags, vendor = _cpu_flags_and_vendor()
        wanted = vendor == "AuthenticAMD" and _SKYLAKEX_FLAGS <= flags
    if not wanted:
        import scipy.linalg.cython_blas  # noqa: F401
        return
    os.environ["OPENBLAS_CORETYPE"] = "SkylakeX"
    try:
        import scipy.linalg.cython_blas  # noqa: F401
        requested_coretype = "SkylakeX"
    finally:
        del os.environ["OPENBLAS_CORETYPE"]
