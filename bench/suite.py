"""The orchestration of a run: backends, passes per thread setting, workers, cold starts.

1. Find the backends: in-process ones are imported here; isolated ones (TensorFlow) are
   probed in a worker under their interpreter. A backend that is missing is a note.
2. For every thread setting: measure the sgemm/dgemm roofline, pin the pools, run a
   pass of the in-process backends (fastrnn first, whose outputs become the peers'
   references), then one worker per isolated backend for the same workloads.
3. Cold starts and peak memory: one fresh worker per backend and workload, 1 thread.
4. fastrnn's packed weight memory per workload, the L2 read bandwidth (measured before
   the passes), the targets and the figures reported beside them.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from . import targets as targets_mod
from .backends import ISOLATED, REGISTRY, Backend, BackendUnavailable, load
from .machine import REPO, machine_info
from .report import Progress
from .roofline import l2_read_bandwidth, measure_roofline
from .runner import CaseResult, References, run_pass
from .threads import pinned, thread_settings
from .timing import TimingSettings
from .weights import weights_for
from .workloads import Suite, Workload

COLD_TIMEOUT_S = 900


@dataclass
class Config:
    """What to run (from the command line)."""

    quick: bool
    suite: Suite
    timing: TimingSettings
    backends: List[str] = field(default_factory=lambda: list(REGISTRY))
    threads: List[int] = field(default_factory=thread_settings)
    cold: str = "all"                       # "all", "first" (one workload) or "none"
    python: Dict[str, str] = field(default_factory=dict)  # backend -> interpreter


def spawn(python: str, job: dict, timeout: Optional[float] = None) -> dict:
    """Run ``job`` in ``python -m bench.worker`` from the repository root; its result.

    The worker's stderr (library logging) goes to a log file whose last lines are the
    error when the worker dies; its progress lines come through on our stderr.
    """
    with tempfile.TemporaryDirectory(prefix="bench-job-") as tmp:
        job_path, result_path, log = (Path(tmp, f) for f in ("job.json", "result.json", "log"))
        job_path.write_text(json.dumps(dict(job, log=str(log))))
        try:
            proc = subprocess.run([python, "-m", "bench.worker", str(job_path), str(result_path)],
                                  cwd=REPO, timeout=timeout, stdout=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return {"error": f"{type(exc).__name__}: {exc}"}
        if not result_path.exists():
            tail = log.read_text(errors="replace").strip().splitlines()[-3:] if log.exists() else []
            return {"error": f"worker exited with {proc.returncode}: {' | '.join(tail)}"}
        return json.loads(result_path.read_text())


def discover(config: Config) -> Tuple[Dict[str, Backend], Dict[str, dict]]:
    """The in-process backends that load, and every requested backend's availability."""
    instances: Dict[str, Backend] = {}
    availability: Dict[str, dict] = {}
    for name in config.backends:
        python = config.python.get(name, sys.executable)
        if name in ISOLATED:
            info = spawn(python, {"mode": "probe", "backend": name}, timeout=300)
            if "error" in info:
                info = {"available": False, "note": info["error"], "python": python}
            if not info["available"]:
                info["note"] += f" (in {python}; choose the interpreter with --tf-python)"
            info["isolated"] = True
        else:
            try:
                cls = load(name)
            except BackendUnavailable as exc:
                info = {"available": False, "note": str(exc)}
            else:
                instances[name] = cls()
                info = {"available": True, "versions": cls.versions()}
            info.update(isolated=False, python=sys.executable)
        if not info["available"]:
            print(f"  - {name}: skipped ({info['note']})", file=sys.stderr)
        availability[name] = info
    return instances, availability


def workloads_at(config: Config, threads: int) -> List[Workload]:
    """The workloads of the pass at ``threads``: all of them (in :meth:`Suite.run_order`),
    except that ``--quick`` runs only the float32 throughput rows (those of the
    multi-thread targets) above one thread."""
    if not config.quick or threads == 1:
        return config.suite.run_order()
    return [wl for wl in config.suite.in_group("throughput") if wl.dtype == "float32"]


def backends_at(config: Config, threads: int, instances: Dict[str, Backend]
                ) -> Dict[str, Backend]:
    """The in-process backends of the pass at ``threads``: all, except that ``--quick``
    leaves the NumPy reference (no target's peer) out above one thread."""
    if not config.quick or threads == 1:
        return instances
    return {name: b for name, b in instances.items() if name != "numpy"}


def cold_workloads(config: Config) -> List[Workload]:
    """Workloads that get cold-start and memory figures: float32 latency, streaming and
    throughput without variants (``all``), or the first latency workload (``first``)."""
    if config.cold == "none":
        return []
    wls = [wl for g in ("latency", "streaming", "throughput")
           for wl in config.suite.in_group(g) if wl.dtype == "float32" and not wl.variant]
    return wls[:1] if config.cold == "first" else wls


def run(config: Config) -> dict:
    """Run the whole benchmark; the record of every figure (see :mod:`bench.report`)."""
    started = time.time()
    instances, availability = discover(config)
    isolated = [n for n in config.backends if n in ISOLATED and availability[n]["available"]]
    machine = machine_info()
    l2 = l2_read_bandwidth(config.timing)
    progress = Progress(sum(len(workloads_at(config, n)) for n in config.threads)
                        * (bool(instances) + len(isolated))
                        + len(cold_workloads(config)) * (len(instances) + len(isolated)))
    results, threads_how, rooflines = run_passes(config, instances, isolated, availability,
                                                 progress)
    cold = run_cold(config, list(instances) + isolated, availability, progress)
    memory = weight_memory(config.suite) if "fastrnn" in instances else []
    return {
        "meta": {
            "mode": "quick" if config.quick else "full",
            "started": _dt.datetime.fromtimestamp(started).isoformat(timespec="seconds"),
            "duration_s": round(time.time() - started, 1),
            "argv": sys.argv,
            "timing": config.timing.to_dict(),
            "threads": config.threads,
            "cold": config.cold,
            "load_average_end": os.getloadavg() if hasattr(os, "getloadavg") else None,
        },
        "machine": machine,
        "backends": availability,
        "threads_how": threads_how,
        "rooflines": rooflines,
        "l2_bandwidth": l2,
        "suite": config.suite.to_dict(),
        "results": [r.to_dict() for r in results],
        "cold": cold,
        "weight_memory": memory,
        "targets": targets_mod.evaluate(config.suite, results, rooflines),
        "figures": targets_mod.figures(config.suite, results, l2),
    }


def run_passes(config: Config, instances: Dict[str, Backend], isolated: List[str],
               availability: Dict[str, dict], progress: Progress,
               ) -> Tuple[List[CaseResult], Dict[str, Dict[str, str]], Dict[str, dict]]:
    """One pass per thread setting: the GEMM roofline, the in-process backends, then a
    worker per isolated backend (checked against the references the in-process pass
    left on disk). Returns the results, how threads were set, and the rooflines."""
    results: List[CaseResult] = []
    threads_how: Dict[str, Dict[str, str]] = {}
    rooflines: Dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-refs-") as refs_dir:
        refs = References(Path(refs_dir))
        for n in config.threads:
            workloads = workloads_at(config, n)
            how = threads_how[str(n)] = {}
            for name, backend in instances.items():
                how[name] = backend.set_threads(n)
            progress.note(f"{n} thread(s): sgemm/dgemm roofline (scipy.linalg.blas, 1024^3)")
            rooflines[str(n)] = measure_roofline(n, config.timing)
            with pinned(n):
                results += run_pass(backends_at(config, n, instances), workloads, n,
                                    config.timing, refs, progress.case)
            for name in isolated:
                python = availability[name]["python"]
                progress.note(f"{name}: worker process with {n} thread(s) ({python})")
                out = spawn(python, {"mode": "measure", "backend": name, "threads": n,
                                     "workloads": [w.to_dict() for w in workloads],
                                     "timing": config.timing.to_dict(), "refs_dir": refs_dir})
                if "error" in out:
                    progress.note(f"{name} failed: {out['error']}")
                    availability[name]["note"] = out["error"]
                    continue
                how[name] = out["threads_how"]
                results += [CaseResult.from_dict(d) for d in out["results"]]
                progress.advance(len(workloads), f"{name} {n} thread(s) done")
    return results, threads_how, rooflines


def run_cold(config: Config, names: List[str], availability: Dict[str, dict],
             progress: Progress) -> List[dict]:
    """One fresh worker per backend and cold workload, at one thread."""
    records = []
    for wl in cold_workloads(config):
        for name in names:
            out = spawn(availability[name]["python"],
                        {"mode": "cold", "backend": name, "threads": 1, "workload": wl.to_dict()},
                        timeout=COLD_TIMEOUT_S)
            out.setdefault("workload", wl.id)
            out.setdefault("backend", name)
            records.append(out)
            progress.cold(out)
    return records



def weight_memory(suite: Suite) -> List[dict]:
    """fastrnn's packed weight bytes and the Keras-layout bytes, per (cell, I, H, dtype)
    of the suite's plain workloads."""
    from .backends.fastrnn_backend import packed_weight_bytes

    seen: Dict[tuple, dict] = {}
    for wl in suite.workloads.values():
        key = (wl.cell, wl.input_size, wl.units, wl.dtype)
        if wl.variant or key in seen:
            continue
        sizes = packed_weight_bytes(wl, weights_for(wl))
        seen[key] = dict(cell=wl.cell, input_size=wl.input_size, units=wl.units,
                         dtype=wl.dtype, **sizes)
    return list(seen.values())
