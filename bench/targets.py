"""The project's performance targets (issue 8), evaluated on a run's results, and the
figures reported beside them.

They are reported, never used to steer the benchmark. Every figure is a median measured
side by side in the same run; "the best peer" of a row is the fastest of torch, ONNX
Runtime, OpenVINO and TensorFlow (those that ran it) on the same workload at the same
thread count:

- B=1, 1 thread: fastrnn <= 0.6x the best peer on the (T=100, I=64, H=128) LSTM, GRU and
  SimpleRNN; <= 0.8x on the (T=50, I=256, H=512) LSTM;
- throughput, 1 thread: LSTM and GRU at (B=64, T=100, I=128, H=256) and (B=8, same)
  <= 0.9x the best peer (the fraction of the sgemm roofline is shown);
- 2 threads: the B=64 rows <= 0.9x the best peer at 2 threads, and fastrnn's 2-thread
  throughput >= 1.8x its own 1-thread throughput;
- float64: fastrnn's time <= 2.2x its float32 time on the same shape (the shapes above).

Figures without a limit: the per-call overhead of a B=1, T=1 call; the per-step time of
the B=1 rows against the L2 bound (bytes of the recurrent kernel / the measured L2 read
bandwidth); variable-length batches (``lengths=`` vs the mask path vs the peers); the
subnormal-state slowdown per backend; ``layer.step``; fastrnn's packed weight memory.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

from .backends import PEERS
from .report import fmt_time
from .runner import CaseResult
from .workloads import GATES, LATENCY_SHAPES, THROUGHPUT_SHAPES, Suite, Workload

#: The thread count of the multi-threaded targets.
MULTI = 2


class Medians:
    """``{(workload id, backend, threads): median}`` of a run's timed results."""

    def __init__(self, results: List[CaseResult]) -> None:
        self._m = {(r.workload, r.backend, r.threads): r.stats["median"]
                   for r in results if r.stats}
        self._status = {(r.workload, r.backend, r.threads): r.status for r in results}

    def status(self, wl: Workload, backend: str = "fastrnn", threads: int = 1) -> Optional[str]:
        """``ok``, ``mismatch`` or ``error``; None if the backend did not run ``wl``."""
        return self._status.get((wl.id, backend, threads))

    def get(self, wl: Workload, backend: str = "fastrnn", threads: int = 1) -> Optional[float]:
        return self._m.get((wl.id, backend, threads))

    def best_peer(self, wl: Workload, threads: int = 1) -> Tuple[Optional[str], Optional[float]]:
        """The fastest peer on ``wl`` at ``threads`` and its median (None, None if none ran)."""
        timed = [(m, p) for p in PEERS if (m := self.get(wl, p, threads)) is not None]
        if not timed:
            return None, None
        median, peer = min(timed)
        return peer, median


@dataclass(frozen=True)
class Target:
    """``value <= limit`` (``at_most``) or ``value >= limit``, where ``value`` is

    - ``best_peer``: fastrnn's time / the best peer's time on ``workload`` at ``threads``;
    - ``scaling``: fastrnn's 1-thread time / its ``MULTI``-thread time on ``workload``;
    - ``float64``: fastrnn's float64 time on ``workload`` / its float32 time.
    """

    label: str
    kind: str
    workload: Workload
    limit: float
    threads: int = 1
    at_most: bool = True

    def evaluate(self, medians: Medians, rooflines: Dict[str, dict]) -> dict:
        """The target's value, verdict (None: not measured) and what it was compared with."""
        mine = medians.get(self.workload, threads=self.threads)
        detail, other = "", None
        if self.kind == "best_peer":
            peer, other = medians.best_peer(self.workload, self.threads)
            detail = f"best peer {peer}" if peer else "no peer timed"
            fraction = _roofline_fraction(self.workload, mine, rooflines.get(str(self.threads)))
            if fraction is not None and self.workload.batch > 1:
                detail += f"; fastrnn at {100 * fraction:.0f}% of the sgemm roofline"
        elif self.kind == "scaling":
            mine, other = medians.get(self.workload), medians.get(self.workload, threads=MULTI)
            detail = f"1 thr / {MULTI} thr time"
        elif self.kind == "float64":
            other = medians.get(self.workload.with_(dtype="float32"))
            detail = "fastrnn float64 / float32 time"
        value = None if mine is None or other is None else mine / other
        met = None if value is None else (value <= self.limit if self.at_most
                                          else value >= self.limit)
        return {"label": self.label, "kind": self.kind, "workload": self.workload.id,
                "threads": self.threads, "limit": self.limit,
                "op": "<=" if self.at_most else ">=", "value": value, "met": met,
                "detail": detail}


def _roofline_fraction(wl: Workload, median: Optional[float], peaks: Optional[dict],
                       ) -> Optional[float]:
    """``wl``'s GFLOP/s at ``median`` over the measured GEMM peak of its dtype."""
    if median is None or not peaks or wl.dtype not in peaks:
        return None
    return wl.flops / median / 1e9 / peaks[wl.dtype]["best_gflops"]


def _seq(cell: str, shape: Tuple[int, int, int, int], dtype: str = "float32") -> Workload:
    return Workload(cell, *shape, dtype=dtype)


def targets() -> List[Target]:
    """Every target of issue 8, on its workloads (measured or not in this run)."""
    small, large = LATENCY_SHAPES[0], LATENCY_SHAPES[1]
    big_batch, small_batch = THROUGHPUT_SHAPES[0], THROUGHPUT_SHAPES[1]
    out = [Target(f"{cell} {_seq(cell, shape).label}: fastrnn <= {limit}x best peer",
                  "best_peer", _seq(cell, shape), limit)
           for cell, shape, limit in (("LSTM", small, 0.6), ("LSTM", large, 0.8),
                                      ("GRU", small, 0.6), ("SimpleRNN", small, 0.6))]
    for cell in ("LSTM", "GRU"):
        for shape in (big_batch, small_batch):
            wl = _seq(cell, shape)
            out.append(Target(f"{cell} {wl.label}: fastrnn <= 0.9x best peer", "best_peer",
                              wl, 0.9))
    for cell in ("LSTM", "GRU"):
        wl = _seq(cell, big_batch)
        out.append(Target(f"{cell} {wl.label}, {MULTI} thr: fastrnn <= 0.9x best peer at "
                          f"{MULTI} thr", "best_peer", wl, 0.9, threads=MULTI))
        out.append(Target(f"{cell} {wl.label}: fastrnn {MULTI}-thr throughput >= 1.8x its "
                          "1-thr", "scaling", wl, 1.8, at_most=False))
    for cell in ("LSTM", "GRU", "SimpleRNN"):
        for shape in (small, large, big_batch, small_batch):
            wl = _seq(cell, shape, "float64")
            out.append(Target(f"{cell} {wl.label} float64: <= 2.2x fastrnn float32", "float64",
                              wl, 2.2))
    return out


def evaluate(suite: Suite, results: List[CaseResult], rooflines: Dict[str, dict]) -> List[dict]:
    """Each target's value and met / not met (``None``: not measured in this run). The
    float64 targets of shapes the suite has no float64 workload for are left out."""
    medians = Medians(results)
    return [t.evaluate(medians, rooflines) for t in targets()
            if t.kind != "float64" or t.workload.id in suite.workloads]


# ----------------------------------------------------------------------------- figures
def figures(suite: Suite, results: List[CaseResult], l2: Optional[dict]) -> List[dict]:
    """The figures reported without a limit, each ``{"label", "text", ...values}``."""
    medians = Medians(results)
    bounds = [_l2_bound(wl, medians, l2) for wl in suite.in_group("latency")
              if wl.dtype == "float32"]
    return ([_overhead(medians)] + [b for b in bounds if b is not None]
            + _ragged(suite, medians) + _denormal(suite, medians) + _step(suite, medians))


def _time(seconds: Optional[float]) -> str:
    return fmt_time(seconds) or "not measured"


def _overhead(medians: Medians) -> dict:
    """fastrnn's median on a B=1, T=1 LSTM call (the sweep's first point)."""
    b, _, i, h = LATENCY_SHAPES[0]
    wl = Workload("LSTM", b, 1, i, h)
    mine = medians.get(wl)
    peer, theirs = medians.best_peer(wl)
    text = f"{_time(mine)} per call" + (f" (best peer {peer}: {_time(theirs)})" if peer else "")
    return {"label": f"per-call overhead, LSTM {wl.label}", "text": text, "value": mine}


def _l2_bound(wl: Workload, medians: Medians, l2: Optional[dict]) -> Optional[dict]:
    """Per-step time of a B=1 row against streaming its recurrent kernel from L2."""
    mine = medians.get(wl)
    if mine is None or not l2:
        return None
    u_bytes = wl.units * GATES[wl.cell] * wl.units * 4   # recurrent kernel, float32
    bound = u_bytes / (l2["best_gbps"] * 1e9)
    per_step = mine / wl.steps
    return {"label": f"L2 bound, {wl.cell} {wl.label}",
            "text": f"{_time(per_step)} per step vs {_time(bound)} to read U "
                    f"({u_bytes / 1024:.0f} KiB at {l2['best_gbps']:.0f} GB/s): "
                    f"{per_step / bound:.2f}x the bound",
            "per_step_s": per_step, "bound_s": bound, "ratio": per_step / bound}


def _ragged(suite: Suite, medians: Medians) -> List[dict]:
    """fastrnn with ``lengths=`` against its mask path and each peer's lengths call."""
    out = []
    for wl in suite.in_group("ragged"):
        if wl.variant != "lengths":
            continue
        mine = medians.get(wl)
        others = [("fastrnn mask", medians.get(wl.with_(variant="mask")))]
        others += [(p, medians.get(wl, p)) for p in PEERS]
        parts = [f"{name} {_time(t)} ({mine / t:.2f}x)" for name, t in others
                 if t is not None and mine is not None]
        out.append({"label": f"lengths, {wl.cell} {wl.plain.label}",
                    "text": f"fastrnn lengths= {_time(mine)}; others (fastrnn's time / "
                            "theirs): " + (", ".join(parts) or "none"),
                    "value": mine, "others": dict(others)})
    return out


def _denormal(suite: Suite, medians: Medians) -> List[dict]:
    """Per backend: the subnormal-h case's time / the same layer's with normal values."""
    out = []
    for wl in suite.in_group("denormal"):
        if wl.variant != "denormal":
            continue
        ratios = {b: t / n for b in ("fastrnn", "numpy") + PEERS
                  if (t := medians.get(wl, b)) is not None
                  and (n := medians.get(wl.plain, b)) is not None}
        out.append({"label": f"subnormal h slowdown, {wl.cell} {wl.plain.label}",
                    "text": ", ".join(f"{b} {r:.2f}x" for b, r in ratios.items())
                            or "not measured",
                    "ratios": ratios})
    return out


def _step(suite: Suite, medians: Medians) -> List[dict]:
    """``layer.step`` against the stateful layer's one-step call."""
    out = []
    for wl in suite.in_group("streaming"):
        if wl.variant != "step":
            continue
        mine, stateful, status = medians.get(wl), medians.get(wl.plain), medians.status(wl)
        if status is None:
            text = "not measured: fastrnn's layers have no step() yet"
        elif mine is None:
            text = f"{status.upper()} (see the streaming table)"
        else:
            text = f"{_time(mine)} per step vs {_time(stateful)} for a stateful layer call"
        out.append({"label": f"layer.step, {wl.cell} {wl.plain.label}", "text": text,
                    "value": mine})
    return out
