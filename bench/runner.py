"""One pass: every backend on every workload at one thread setting, checked then timed.

For each workload: each backend prepares its case and computes its output, which is
checked against the reference; backends that agree are warmed up and then timed in
interleaved rounds (:func:`bench.timing.measure_interleaved`), together with the
variants of the same shape that follow it. The same code runs in the
main process (in-process backends) and in a worker process (isolated backends).

References live in a directory shared with worker processes (:class:`References`):
fastrnn is checked against the float64 NumPy oracle; the peers against fastrnn's
output when fastrnn passed its check, else against the oracle.
"""
from __future__ import annotations

import itertools
import os
import sys
import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Tuple

import numpy as np

from .backends import Backend
from .backends.numpy_backend import reference_output
from .check import compare
from .machine import CpuMeter
from .timing import TimingSettings, measure_interleaved, warm_up
from .weights import make_input, valid_steps, weights_for
from .workloads import Workload

REFERENCE_BACKEND = "fastrnn"


@dataclass
class CaseResult:
    """One backend on one workload at one thread setting.

    ``status``: ``ok`` (checked and timed), ``mismatch`` (output disagrees: not timed),
    ``error`` (raised while preparing or running: not timed).
    """

    workload: str
    backend: str
    threads: int
    status: str
    check: Optional[dict] = None
    stats: Optional[dict] = None
    note: str = ""
    background_cores: Optional[float] = None  # other load while timed (see CpuMeter)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "CaseResult":
        return cls(**d)


class References:
    """Reference outputs on disk, shared by the main process and its workers."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def _path(self, wl: Workload, kind: str) -> Path:
        return self.dir / f"{wl.id}.{kind}.npy"

    def oracle(self, wl: Workload, weights, x) -> np.ndarray:
        """The float64 NumPy output of ``wl`` (computed once, shared by both dtypes)."""
        path = self._path(wl.with_(dtype="float64"), "oracle")
        if path.exists():
            return np.load(path)
        out = reference_output(wl, weights, x)
        np.save(path, out)
        return out

    def store(self, wl: Workload, output: np.ndarray) -> None:
        """Keep fastrnn's output of ``wl`` as the peers' reference."""
        np.save(self._path(wl, REFERENCE_BACKEND), output)

    def for_backend(self, name: str, wl: Workload, weights, x) -> Tuple[np.ndarray, str]:
        """The reference ``name`` is checked against, and what it is."""
        path = self._path(wl, REFERENCE_BACKEND)
        if name != REFERENCE_BACKEND and path.exists():
            return np.load(path), REFERENCE_BACKEND
        return self.oracle(wl, weights, x), "numpy-float64"


Progress = Callable[[Workload, int, List[CaseResult]], None]


def run_pass(backends: Dict[str, Backend], workloads: Iterable[Workload], threads: int,
             settings: TimingSettings, refs: References,
             progress: Optional[Progress] = None) -> List[CaseResult]:
    """Check and time every backend of ``backends`` (fastrnn first) on every workload.

    Consecutive workloads of the same plain shape (a row and its variants, which
    :meth:`bench.workloads.Suite.run_order` puts together) are timed in the same
    interleaved rounds, so that a ratio between them (subnormal / normal, lengths /
    mask) sees the same machine. The caller has set the thread pools
    (:func:`bench.threads.pinned` and each backend's ``set_threads``).
    """
    results: List[CaseResult] = []
    for _, group in itertools.groupby(workloads, key=lambda wl: wl.plain):
        checked: List[Tuple[Workload, List[CaseResult]]] = []
        calls: Dict[Tuple[str, str], Callable[[], object]] = {}
        done: Dict[Tuple[str, str], CaseResult] = {}
        for wl in group:
            names = [n for n, b in backends.items() if b.supports(wl)]
            if not names:
                continue
            weights, x = weights_for(wl), make_input(wl)
            for name in names:
                done[wl.id, name], call = _check_one(name, backends[name], wl, weights, x,
                                                     threads, refs)
                if call is not None:
                    calls[wl.id, name] = call
            checked.append((wl, [done[wl.id, n] for n in names]))
        if calls:
            for call in calls.values():
                warm_up(call, settings)
            meter = CpuMeter()
            for key, stats in measure_interleaved(calls, settings).items():
                done[key].stats = stats.to_dict()
            background = meter.other_cores()
            for key in calls:
                done[key].background_cores = background
        for wl, case_results in checked:
            results.extend(case_results)
            if progress is not None:
                progress(wl, threads, case_results)
    return results


def _check_one(name: str, backend: Backend, wl: Workload, weights, x, threads: int,
               refs: References) -> Tuple[CaseResult, Optional[Callable[[], object]]]:
    """Prepare ``backend`` on ``wl`` and check its output; the timed call if it agrees."""
    result = CaseResult(wl.id, name, threads, "error")
    try:
        prepared = backend.prepare(wl, weights, x, threads)
        output = prepared.output()
        reference, against = refs.for_backend(name, wl, weights, x)
        check = compare(output, reference, wl.dtype, against,
                        valid_steps(wl) if wl.ragged else None)
    except Exception as exc:  # a backend failing must not stop the run
        result.note = f"{type(exc).__name__}: {exc}"
        print(f"  ! {name} on {wl.id}: {result.note}", file=sys.stderr)
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        return result, None
    result.check = check.to_dict()
    if not check.ok:
        result.status = "mismatch"
        result.note = (f"max |diff| {check.max_abs_err:.3g} vs {check.against} > tol "
                       f"{check.tol:g}: not timed")
        return result, None
    if name == REFERENCE_BACKEND:
        refs.store(wl, output)
    result.status = "ok"
    return result, prepared.call

