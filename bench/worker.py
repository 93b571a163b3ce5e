"""The subprocess side: ``python -m bench.worker JOB.json RESULT.json``.

A worker is a fresh interpreter (possibly another one, e.g. a virtualenv with
TensorFlow) running one job:

- ``probe``: can the backend be imported here, and which versions?
- ``cold``: the cold start of one backend on one workload, and its peak memory:
  import time, build time (layer / session and weights), the first and second call,
  and the resident set size — peak (``getrusage(RUSAGE_SELF).ru_maxrss``) and just before
  the build (``/proc/self/statm``), so that ``peak - before`` is what the backend
  allocated for the case on top of the interpreter and its imported libraries.
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
from typing import Optional

from .backends import BackendUnavailable, load
from .runner import References, run_pass
from .threads import pinned
from .timing import TimingSettings
from .weights import make_input, make_weights
from .workloads import Workload


def _rss_now_mib() -> Optional[float]:
    """Current resident set size in MiB (Linux ``/proc``), or None elsewhere."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _rss_peak_mib() -> float:
    """Peak resident set size of this process in MiB (``ru_maxrss``)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2 ** 20 if sys.platform == "darwin" else peak / 2 ** 10  # bytes vs KiB


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
        weights = make_weights(wl.cell, wl.input_size, wl.units)
        x = make_input(wl)
        rss_before = _rss_now_mib()
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
    peak = _rss_peak_mib()
    return {
        "workload": wl.id, "backend": job["backend"], "threads": threads,
        "import_s": import_s, "build_s": build_s, "first_call_s": first_s,
        "second_call_s": second_s, "rss_before_build_mib": rss_before,
        "rss_peak_mib": peak,
        "rss_case_mib": None if rss_before is None else max(0.0, peak - rss_before),
    }


def measure(job: dict) -> dict:
    """A pass of one backend over the job's workloads at the job's thread count."""
    name, threads = job["backend"], job["threads"]
    backend = load(name)()
    how = backend.set_threads(threads)  # first, before the library runs anything
    workloads = [Workload.from_dict(d) for d in job["workloads"]]
    settings = TimingSettings(**job["timing"])
    total = sum(backend.supports(wl) for wl in workloads)
    count = [0]

    def progress(wl, t, results) -> None:
        count[0] += 1
        r = results[0]
        figure = f"{r.stats['median'] * 1e3:.4g} ms" if r.stats else r.status
        print(f"  [{name} {count[0]}/{total}] {t} thr {wl.id}: {figure}", file=sys.stderr,
              flush=True)

    with pinned(threads):
        results = run_pass({name: backend}, workloads, threads, settings,
                           References(Path(job["refs_dir"])), progress)
    return {"threads_how": how, "results": [r.to_dict() for r in results]}


MODES = {"probe": probe, "cold": cold, "measure": measure}


def main(argv=None) -> int:
    """Run the job in ``argv[0]`` and write its JSON result to ``argv[1]``."""
    job_path, result_path = (argv if argv is not None else sys.argv[1:])[:2]
    job = json.loads(Path(job_path).read_text())
    try:
        result = MODES[job["mode"]](job)
    except BackendUnavailable as exc:
        result = {"error": f"unavailable: {exc}"}
    except Exception as exc:  # reported by the parent, which carries on
        result = {"error": f"{type(exc).__name__}: {exc}"}
    Path(result_path).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
