"""Machine information for the record: CPU, cores, OS, Python, BLAS libraries, timer."""
from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Dict, Optional

import numpy as np

from .threads import all_cores, pools
from .timing import timer_overhead_ns

REPO = Path(__file__).resolve().parent.parent

#: Prefixes of environment variables that change the threading or the kernels of the
#: libraries (OPENBLAS_CORETYPE, OMP_NUM_THREADS, ...): recorded with the results.
ENVIRONMENT_PREFIXES = ("OPENBLAS_", "OMP_", "GOMP_", "KMP_", "MKL_", "ONEDNN_", "DNNL_",
                        "TF_ENABLE_ONEDNN", "FASTRNN_")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def git_revision() -> Optional[str]:
    """The repository's HEAD commit, with ``+dirty`` if the work tree differs; None if none."""
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True,
                              text=True, timeout=10)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain"], cwd=REPO, capture_output=True,
                               text=True, timeout=10).stdout.strip()
        return head.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info() -> Dict[str, object]:
    """CPU, cores, platform, interpreter, NumPy/SciPy, the BLAS/OpenMP pools, the timer.

    Call after the backends are imported, so that every loaded BLAS is listed.
    """
    import scipy
    import scipy.linalg  # noqa: F401  (loads scipy's BLAS, the one fastrnn calls)

    clock = time.get_clock_info("perf_counter")
    return {
        "cpu": cpu_model(),
        "logical_cpus": os.cpu_count(),
        "usable_cores": all_cores(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "thread_pools": pools(),
        "environment": {k: v for k, v in sorted(os.environ.items())
                        if k.startswith(ENVIRONMENT_PREFIXES)},
        "timer": {"function": "time.perf_counter_ns", "implementation": clock.implementation,
                  "resolution_s": clock.resolution, "overhead_ns": timer_overhead_ns()},
        "load_average": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "git": git_revision(),
    }


class CpuMeter:
    """How many cores other processes (and the hypervisor, as steal time) kept busy.

    Compares the machine's busy time (``/proc/stat``) with this process's own CPU time
    over the same wall time. On a shared machine it tells which figures were taken while
    something else ran; ``None`` where ``/proc/stat`` is not available.
    """

    def __init__(self) -> None:
        self._start = self._sample()

    @staticmethod
    def _sample():
        try:
            fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        except OSError:
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = (int(v) for v in fields[:8])
        busy = (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
        mine = os.times()
        return time.monotonic(), busy, mine.user + mine.system

    def other_cores(self) -> Optional[float]:
        """Average cores busy with other work since this meter was made."""
        end = self._sample()
        if self._start is None or end is None or end[0] <= self._start[0]:
            return None
        wall = end[0] - self._start[0]
        others = (end[1] - self._start[1]) - (end[2] - self._start[2])
        return max(0.0, others / wall)

