"""Command line: ``python -m bench [--quick] [--out DIR] [...]`` from the repository root.

Progress goes to stderr while the run goes; the table goes to stdout at the end, and
``results.json``, ``results.md`` and ``sweeps.png`` to ``--out``.
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from pathlib import Path
from typing import List, Optional

from .backends import ISOLATED, REGISTRY
from .machine import REPO
from .report import derive, terminal_report, write_all
from .suite import Config, run
from .threads import thread_settings
from .timing import FULL, QUICK
from .workloads import CELLS, build_suite


def _csv(kind, choices=None):
    """An argparse type for comma-separated values of ``kind``, checked against ``choices``."""
    def parse(text: str) -> list:
        values = [kind(v) for v in text.split(",") if v]
        bad = [v for v in values if choices is not None and v not in choices]
        if bad:
            raise argparse.ArgumentTypeError(f"unknown {bad}; choose from {list(choices)}")
        return values
    return parse


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=(
        "Benchmark fastrnn against the NumPy per-step reference, PyTorch, ONNX Runtime "
        "and TensorFlow (each when installed)."))
    p.add_argument("--quick", action="store_true",
                   help="a run of about a minute: a subset of workloads, fewer repeats")
    p.add_argument("--out", type=Path, default=REPO / "bench" / "results",
                   help="output directory (default: bench/results/)")
    p.add_argument("--backends", type=_csv(str, REGISTRY), default=list(REGISTRY),
                   help="comma-separated subset of: " + ",".join(REGISTRY))
    p.add_argument("--cells", type=_csv(str, CELLS), default=list(CELLS),
                   help="comma-separated subset of: " + ",".join(CELLS))
    p.add_argument("--threads", type=_csv(int), default=None,
                   help="thread counts (default: 1 and all cores)")
    p.add_argument("--budget", type=float, default=None,
                   help="timed seconds per case (default: 1.5, quick: 0.25)")
    p.add_argument("--cold", choices=("all", "first", "none"), default=None,
                   help="cold-start/memory subprocesses for all workloads (full run default), "
                        "the first one (quick default) or none")
    p.add_argument("--no-float64", action="store_true",
                   help="skip the float64 workloads (fastrnn and NumPy only)")
    p.add_argument("--tf-python", default=os.environ.get("BENCH_TF_PYTHON", sys.executable),
                   help="interpreter with TensorFlow for the tensorflow backend "
                        "(default: $BENCH_TF_PYTHON, else this one)")
    return p.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    timing = QUICK if args.quick else FULL
    if args.budget is not None:
        timing = dataclasses.replace(timing, budget_s=args.budget)
    config = Config(
        quick=args.quick,
        suite=build_suite(args.quick, tuple(args.cells), float64=not args.no_float64),
        timing=timing,
        backends=[b for b in REGISTRY if b in args.backends],
        threads=thread_settings(args.threads),
        cold=args.cold or ("first" if args.quick else "all"),
        python={name: args.tf_python for name in ISOLATED},
    )
    record = run(config)
    derive(record)
    print(terminal_report(record))
    paths = write_all(record, args.out)
    print("\nwrote " + ", ".join(str(p) for p in paths.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
