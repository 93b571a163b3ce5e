"""fastrnn's LSTM kernel path against the NumPy per-step loop: ``python -m bench.lstm_vs_numpy``.

B=1, T=100, I=64, H=128, float32, one thread each, checked then timed side by side
(the same code as the full suite). The project requires fastrnn to be at least 4x
faster; the exit status is 0 when it is, 1 when it is not, 2 when fastrnn cannot run.
"""
from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path
from typing import List, Optional

from .backends import BackendUnavailable, load
from .report import fmt_time
from .runner import References, run_pass
from .threads import pinned
from .timing import FULL
from .workloads import LATENCY_SHAPES, Workload

REQUIRED_SPEEDUP = 4.0


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.lstm_vs_numpy", description=__doc__)
    p.add_argument("--budget", type=float, default=FULL.budget_s, help="timed seconds per backend")
    p.add_argument("--threads", type=int, default=1, help="BLAS threads (default 1)")
    args = p.parse_args(argv)

    b, t, i, h = LATENCY_SHAPES[0]
    wl = Workload("LSTM", b, t, i, h)
    try:
        backends = {name: load(name)() for name in ("fastrnn", "numpy")}
    except BackendUnavailable as exc:
        print(f"cannot run: {exc}", file=sys.stderr)
        return 2
    for backend in backends.values():
        backend.set_threads(args.threads)
    settings = dataclasses.replace(FULL, budget_s=args.budget)
    with tempfile.TemporaryDirectory(prefix="bench-refs-") as tmp, pinned(args.threads):
        results = {r.backend: r for r in run_pass(backends, [wl], args.threads, settings,
                                                  References(Path(tmp)))}
    for name, r in results.items():
        figure = (f"median {fmt_time(r.stats['median'])}, p99 {fmt_time(r.stats['p99'])}, "
                  f"{r.stats['n']} calls" if r.stats else f"{r.status}: {r.note}")
        print(f"{name:8s} LSTM {wl.label}, {args.threads} thread(s): {figure}")
    medians = {name: r.stats["median"] for name, r in results.items() if r.stats}
    if len(medians) < len(results):
        return 2
    speedup = medians["numpy"] / medians["fastrnn"]
    met = speedup >= REQUIRED_SPEEDUP
    print(f"fastrnn is {speedup:.2f}x faster than the NumPy per-step loop "
          f"(required >= {REQUIRED_SPEEDUP:g}x): {'MET' if met else 'NOT MET'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
