"""The subprocess side: ``python -m bench.worker JOB.json RESULT.json``.

A worker is a fresh interpreter (possibly another one, e.g. a virtualenv with
TensorFlow) running one job:

- ``probe``: can the backend be imported here, and which versions?
- ``cold``: the cold start of one backend on one workload, and its peak memory:
  import time, build time (layer / session and weights), the first and second call,
  and the resident set size (:class:`PeakMemory`): the process's peak, and the peak
  over what was resident just before the build — what the backend allocated for the
  case on top of the interpreter, its imported libraries, weights and inputs.
- ``measure``: a whole pass (:func:`bench.runner.run_pass`) for a backend whose threads
  can only be set before first use (TensorFlow).
"""
from __future__ import annotations

import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Optional, TextIO

from .backends import BackendUnavailable, load
from .runner import References, run_pass
from .threads import can_pin, pinned
from .timing import TimingSettings
from .weights import make_input, weights_for
from .workloads import Workload


def _status_mib(key: str) -> Optional[float]:
    """A ``Vm*`` figure of ``/proc/self/status`` (``VmRSS``, ``VmHWM``) in MiB; None if absent."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return None


def _reset_peak() -> bool:
    """Reset this process's peak RSS (``VmHWM``) to its current RSS (Linux >= 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def _ru_maxrss_mib() -> float:
    """``getrusage`` peak RSS in MiB. On Linux it can include the parent's RSS at fork
    time, so it is only the fallback when ``/proc`` is not there."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10  # bytes vs KiB


class PeakMemory:
    """Peak resident memory of this process, and the part of it due to one case.

    ``start()`` records the resident size and restarts the peak from there, ``stop()``
    reads the peak: ``case_mib = peak since start - resident at start``.
    """

    def start(self) -> None:
        self.peak_before = _status_mib("VmHWM")
        self.rss_before = _status_mib("VmRSS")
        self.reset = _reset_peak()

    def stop(self) -> dict:
        peak = _status_mib("VmHWM")
        if peak is None or self.rss_before is None:
            return {"memory_method": "getrusage ru_maxrss (whole process)",
                    "rss_before_build_mib": None, "rss_peak_mib": _ru_maxrss_mib(),
                    "rss_case_mib": None}
        method = "VmHWM/VmRSS of /proc/self/status"
        if self.reset:
            method += ", peak reset via /proc/self/clear_refs before the build"
        return {"memory_method": method, "rss_before_build_mib": self.rss_before,
                "rss_peak_mib": max(peak, self.peak_before or 0.0),
                "rss_case_mib": max(0.0, peak - self.rss_before) if self.reset else None}


def probe(job: dict) -> dict:
    """Whether the backend loads in this interpreter, and its versions."""
    try:
        cls = load(job["backend"])
    except BackendUnavailable as exc:
        return {"available": False, "note": str(exc), "python": sys.executable}
    return {"available": True, "versions": cls.versions(), "python": sys.executable}


def cold(job: dict) -> dict:
    """Cold start and peak memory of one backend on one workload in this fresh process."""
    wl = Workload.from_dict(job["workload"])
    threads = job["threads"]
    t0 = time.perf_counter()
    backend = load(job["backend"])()
    import_s = time.perf_counter() - t0
    backend.set_threads(threads)
    with pinned(threads):
        weights = weights_for(wl)
        x = make_input(wl)
        memory = PeakMemory()
        memory.start()
        t0 = time.perf_counter()
        prepared = backend.prepare(wl, weights, x, threads)
        build_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        prepared.call()
        first_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        prepared.call()
        second_s = time.perf_counter() - t0
        for _ in range(3):  # a few more, in case a later call allocates more
            prepared.call()
        peaks = memory.stop()
    return dict(workload=wl.id, backend=job["backend"], threads=threads, import_s=import_s,
                build_s=build_s, first_call_s=first_s, second_call_s=second_s, **peaks)


def measure(job: dict, out: TextIO) -> dict:
    """A pass of one backend over the job's workloads at the job's thread count; progress
    lines go to ``out``."""
    name, threads = job["backend"], job["threads"]
    backend = load(name)()
    how = backend.set_threads(threads)  # first, before the library runs anything
    if not can_pin():
        how += " (no threadpoolctl in this interpreter: other pools not limited)"
    workloads = [Workload.from_dict(d) for d in job["workloads"]]
    settings = TimingSettings(**job["timing"])
    total = sum(backend.supports(wl) for wl in workloads)
    count = [0]

    def progress(wl, t, results) -> None:
        count[0] += 1
        r = results[0]
        figure = f"{r.stats['median'] * 1e3:.4g} ms" if r.stats else r.status
        print(f"  [{name} {count[0]}/{total}] {t} thr {wl.id}: {figure}", file=out, flush=True)

    with pinned(threads):
        results = run_pass({name: backend}, workloads, threads, settings,
                           References(Path(job["refs_dir"])), progress)
    return {"threads_how": how, "results": [r.to_dict() for r in results]}


def redirect_native_stderr(log: Path) -> TextIO:
    """Send file descriptor 2 — where native libraries log (TensorFlow's banners) — to
    ``log``; return a stream on the original stderr, for progress lines."""
    sys.stderr.flush()
    original = os.dup(2)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    os.dup2(fd, 2)
    os.close(fd)
    return os.fdopen(original, "w", buffering=1)


def main(argv=None) -> int:
    """Run the job in ``argv[0]`` and write its JSON result to ``argv[1]``; the job's
    ``log`` file receives this process's stderr."""
    job_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    job = json.loads(Path(job_path).read_text())
    console = redirect_native_stderr(Path(job["log"])) if job.get("log") else sys.stderr
    try:
        if job["mode"] == "measure":
            result = measure(job, console)
        else:
            result = {"probe": probe, "cold": cold}[job["mode"]](job)
    except BackendUnavailable as exc:
        result = {"error": f"unavailable: {exc}"}
    except Exception as exc:  # reported by the parent, which carries on
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
