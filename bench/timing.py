"""The timer: warmup, adaptive repeats, interleaved rounds and per-call statistics.

Every call is timed on its own with ``time.perf_counter_ns`` (so p99 is a per-call
figure), with the garbage collector disabled while timing. The number of repeats adapts
to a time budget per case: calls are repeated until the budget is spent, with at least
``min_repeats`` and at most ``max_repeats`` calls. When several backends are timed on
the same workload the budget is split into ``rounds`` and the backends take turns, in
a rotating order, so that a slow drift of a shared, noisy machine hits every backend
alike instead of whichever happened to run during it.
"""
from __future__ import annotations

import gc
import time
from dataclasses import asdict, dataclass
from typing import Callable, Dict, Hashable, List, TypeVar

import numpy as np


@dataclass(frozen=True)
class TimingSettings:
    """How long and how often to time one case (one backend on one workload)."""

    budget_s: float = 1.5        # total timed seconds per case, all rounds together
    rounds: int = 3              # interleaved rounds (budget and repeats split across them)
    min_repeats: int = 7         # timed calls per case, at least
    max_repeats: int = 50_000    # and at most
    warmup_s: float = 0.1        # untimed calls before the first round, for this long
    warmup_calls: int = 1        # and at least this many (after the checked call)

    def to_dict(self) -> dict:
        return asdict(self)


FULL = TimingSettings()
QUICK = TimingSettings(budget_s=0.25, rounds=2, min_repeats=3, max_repeats=20_000,
                       warmup_s=0.03, warmup_calls=1)


@dataclass(frozen=True)
class Stats:
    """Statistics of per-call times, in seconds."""

    n: int
    median: float
    p99: float
    mean: float
    min: float
    max: float
    iqr: float

    @classmethod
    def from_ns(cls, samples_ns: List[int]) -> "Stats":
        s = np.asarray(samples_ns, dtype=np.float64) * 1e-9
        q1, med, q3, p99 = np.percentile(s, [25, 50, 75, 99])
        return cls(int(s.size), float(med), float(p99), float(s.mean()), float(s.min()),
                   float(s.max()), float(q3 - q1))

    def to_dict(self) -> dict:
        return asdict(self)


#: A case's minimum repeat count gives way once it has run this many times its budget
#: (a very slow case, e.g. on a busy machine, still gets one call per round).
HARD_CAP = 5


def _run_for(fn: Callable[[], object], seconds: float, min_calls: int, max_calls: int,
             samples: List[int]) -> None:
    """Time calls of ``fn`` into ``samples``: for ``seconds`` and at least ``min_calls``
    calls (but never more than ``max_calls``, nor past ``HARD_CAP * seconds`` after the
    first call)."""
    clock = time.perf_counter_ns
    start = clock()
    deadline = start + int(seconds * 1e9)
    hard_deadline = start + int(HARD_CAP * seconds * 1e9)
    n = 0
    while n < max_calls:
        now = clock()
        if n > 0 and (now >= hard_deadline or (n >= min_calls and now >= deadline)):
            break
        t0 = clock()
        fn()
        samples.append(clock() - t0)
        n += 1


def warm_up(fn: Callable[[], object], settings: TimingSettings) -> None:
    """Untimed calls: at least ``warmup_calls``, and for ``warmup_s`` seconds."""
    _run_for(fn, settings.warmup_s, settings.warmup_calls, settings.max_repeats, [])


Key = TypeVar("Key", bound=Hashable)


def measure_interleaved(fns: Dict[Key, Callable[[], object]], settings: TimingSettings,
                        ) -> Dict[Key, Stats]:
    """Time every function of ``fns`` (already warm) in interleaved rounds; stats per key."""
    samples: Dict[Key, List[int]] = {name: [] for name in fns}
    names = list(fns)
    per_round_s = settings.budget_s / settings.rounds
    per_round_min = -(-settings.min_repeats // settings.rounds)
    per_round_max = max(1, settings.max_repeats // settings.rounds)
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        for r in range(settings.rounds):
            k = r % len(names)
            for name in names[k:] + names[:k]:
                _run_for(fns[name], per_round_s, per_round_min, per_round_max, samples[name])
    finally:
        if gc_was_enabled:
            gc.enable()
    return {name: Stats.from_ns(s) for name, s in samples.items()}


def measure(fn: Callable[[], object], settings: TimingSettings) -> Stats:
    """Warm up and time one function."""
    warm_up(fn, settings)
    return measure_interleaved({"fn": fn}, settings)["fn"]


def timer_overhead_ns(n: int = 10_000) -> float:
    """Median cost of one back-to-back pair of ``perf_counter_ns`` calls, in ns."""
    clock = time.perf_counter_ns
    d = []
    for _ in range(n):
        t0 = clock()
        d.append(clock() - t0)
    return float(np.median(d))
