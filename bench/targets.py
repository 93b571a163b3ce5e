"""The project's performance targets, evaluated on a run's results (met / not met).

They are reported, never used to steer the benchmark. All are measured side by side
in the same pass, at one thread per backend, on medians:

- fastrnn time <= 0.6x ONNX Runtime's on the B=1 (T=100, I=64, H=128) LSTM;
- <= 0.9x ONNX Runtime's on the B=1 (T=50, I=256, H=512) LSTM;
- <= 1.05x PyTorch's on every throughput workload;
- a streaming step under 3 microseconds at B=1, H=128 (every cell measured);
- at least 4x faster than the NumPy per-step loop on the B=1 (T=100, I=64, H=128) LSTM.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from .runner import CaseResult
from .workloads import LATENCY_SHAPES, Suite, Workload

THREADS = 1


@dataclass(frozen=True)
class Target:
    """``fastrnn median / peer median <= limit`` (or ``fastrnn median <= limit`` seconds
    when ``peer`` is None) on ``workload`` at one thread."""

    label: str
    workload: Workload
    peer: Optional[str]
    limit: float

    def evaluate(self, medians: Dict[tuple, float]) -> dict:
        """The target's value and verdict from ``{(workload id, backend, threads): median}``."""
        mine = medians.get((self.workload.id, "fastrnn", THREADS))
        other = 1.0 if self.peer is None else medians.get((self.workload.id, self.peer, THREADS))
        value = None if mine is None or other is None else mine / other
        return {
            "label": self.label, "workload": self.workload.id, "peer": self.peer,
            "threads": THREADS, "limit": self.limit,
            "value": value, "unit": "s" if self.peer is None else "fastrnn/peer time",
            "met": None if value is None else value <= self.limit,
        }


def targets_for(suite: Suite) -> List[Target]:
    """Every target, on the workloads of the issue (measured or not in this suite)."""
    b, t, i, h = LATENCY_SHAPES[0]
    small = Workload("LSTM", b, t, i, h)
    b, t, i, h = LATENCY_SHAPES[1]
    large = Workload("LSTM", b, t, i, h)
    targets = [
        Target(f"LSTM {small.label}: fastrnn <= 0.6x onnxruntime", small, "onnxruntime", 0.6),
        Target(f"LSTM {large.label}: fastrnn <= 0.9x onnxruntime", large, "onnxruntime", 0.9),
    ]
    for wl in suite.in_group("throughput"):
        if wl.dtype == "float32":
            targets.append(Target(f"{wl.cell} {wl.label}: fastrnn <= 1.05x torch", wl,
                                  "torch", 1.05))
    for wl in suite.in_group("streaming"):
        if wl.dtype == "float32":
            targets.append(Target(f"{wl.cell} streaming step B={wl.batch} H={wl.units}: < 3 us",
                                  wl, None, 3e-6))
    targets.append(Target(f"LSTM {small.label}: fastrnn >= 4x NumPy per-step (time <= 0.25x)",
                          small, "numpy", 0.25))
    return targets


def evaluate(suite: Suite, results: List[CaseResult]) -> List[dict]:
    """Each target's value and met / not met (``None``: not measured in this run)."""
    medians = {(r.workload, r.backend, r.threads): r.stats["median"]
               for r in results if r.stats}
    return [t.evaluate(medians) for t in targets_for(suite)]
