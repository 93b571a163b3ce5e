"""What is measured: workloads (cell x batch x time x input x units x dtype) and suites.

A workload is one call shape. Sequence workloads time one whole-sequence call
``layer(x)`` with ``x`` of shape ``(batch, steps, input_size)``; streaming workloads time
one single-timestep call on a stateful layer (state carried between calls) and are
checked over ``check_steps`` consecutive steps.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Tuple

#: Number of gate blocks per cell (the width of the kernels is ``gates * units``).
GATES: Dict[str, int] = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

CELLS: Tuple[str, ...] = ("LSTM", "GRU", "SimpleRNN")

#: Groups a workload can belong to; the report has one section per group.
GROUPS: Tuple[str, ...] = ("latency", "streaming", "throughput", "sweep_T", "sweep_B")

#: Steps of a streaming check sequence (timing uses one step per call).
STREAM_CHECK_STEPS = 16


@dataclass(frozen=True)
class Workload:
    """One call shape of one cell in one dtype."""

    cell: str
    batch: int
    steps: int
    input_size: int
    units: int
    dtype: str = "float32"
    streaming: bool = False

    @property
    def id(self) -> str:
        """A stable name, also used as a file name for reference outputs."""
        kind = "stream" if self.streaming else "seq"
        return (f"{self.cell}-{kind}-B{self.batch}-T{self.steps}-I{self.input_size}"
                f"-H{self.units}-{self.dtype}")

    @property
    def label(self) -> str:
        """A short human-readable shape for tables."""
        if self.streaming:
            return f"B={self.batch} 1 step/call I={self.input_size} H={self.units}"
        return f"B={self.batch} T={self.steps} I={self.input_size} H={self.units}"

    @property
    def check_steps(self) -> int:
        """Timesteps in the input used to cross-check outputs."""
        return STREAM_CHECK_STEPS if self.streaming else self.steps

    @property
    def flops(self) -> int:
        """Flops of one timed call: 2 * the multiply-adds of the two matmuls per step.

        Per step: ``[x, h] @ [[kernel], [recurrent_kernel]]``, that is
        ``2 * B * (I + H) * gates * H``; element-wise work is not counted.
        """
        per_step = 2 * self.batch * (self.input_size + self.units) * GATES[self.cell] * self.units
        return per_step * self.steps

    def with_(self, **changes) -> "Workload":
        """A copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Plain fields, for JSON and for passing to a worker process."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "Workload":
        """Inverse of :meth:`to_dict`."""
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls)})


# Base shapes (batch, steps, input, units) of the issue, in order.
LATENCY_SHAPES = [(1, 100, 64, 128), (1, 50, 256, 512), (1, 15, 250, 200), (1, 63, 96, 32)]
STREAMING_SHAPE = (1, 1, 64, 128)
THROUGHPUT_SHAPES = [(64, 100, 128, 256), (64, 25, 512, 512), (256, 50, 512, 1024)]
SWEEP_T = [1, 10, 50, 100, 200]          # LSTM, B=1, I=64, H=128
SWEEP_B = [1, 8, 32, 64, 128]            # LSTM, T=100, I=128, H=256


@dataclass
class Suite:
    """An ordered set of distinct workloads and the groups they are reported in."""

    workloads: Dict[str, Workload] = dataclasses.field(default_factory=dict)
    groups: Dict[str, List[str]] = dataclasses.field(
        default_factory=lambda: {g: [] for g in GROUPS})

    def add(self, group: str, wl: Workload) -> None:
        """Add ``wl`` to ``group``; a workload already present is measured only once."""
        self.workloads.setdefault(wl.id, wl)
        if wl.id not in self.groups[group]:
            self.groups[group].append(wl.id)

    def in_group(self, group: str) -> List[Workload]:
        """The workloads of one group, in insertion order."""
        return [self.workloads[i] for i in self.groups[group]]

    def to_dict(self) -> dict:
        """Workloads (with their flop counts) and groups, for the JSON report."""
        return {
            "workloads": [dict(w.to_dict(), id=w.id, flops=w.flops)
                          for w in self.workloads.values()],
            "groups": self.groups,
        }


def _seq(cell, shape, dtype="float32") -> Workload:
    b, t, i, h = shape
    return Workload(cell, b, t, i, h, dtype)


def _stream(cell, dtype="float32") -> Workload:
    b, t, i, h = STREAMING_SHAPE
    return Workload(cell, b, t, i, h, dtype, streaming=True)


def build_suite(quick: bool, cells: Tuple[str, ...] = CELLS, float64: bool = True) -> Suite:
    """The workloads of a full run, or of a ``--quick`` run (a subset).

    Full: every latency, streaming and throughput shape for every cell in float32,
    the same in float64 (run only by the backends that support it), and the two LSTM
    sweeps of the chart. Quick: the first latency shape, streaming and the first
    throughput shape for LSTM and GRU (float32 only), and a shortened sweep.
    """
    suite = Suite()
    if quick:
        cells = tuple(c for c in cells if c in ("LSTM", "GRU"))
        latency, throughput = LATENCY_SHAPES[:1], THROUGHPUT_SHAPES[:1]
        sweep_t, sweep_b = [1, 10, 100], [1, 8, 64]
        dtypes = ("float32",)
    else:
        latency, throughput, sweep_t, sweep_b = LATENCY_SHAPES, THROUGHPUT_SHAPES, SWEEP_T, SWEEP_B
        dtypes = ("float32", "float64") if float64 else ("float32",)
    for dtype in dtypes:
        for cell in cells:
            for shape in latency:
                suite.add("latency", _seq(cell, shape, dtype))
            suite.add("streaming", _stream(cell, dtype))
            for shape in throughput:
                suite.add("throughput", _seq(cell, shape, dtype))
    if "LSTM" in cells:
        b, _, i, h = LATENCY_SHAPES[0]
        for t in sweep_t:
            suite.add("sweep_T", Workload("LSTM", b, t, i, h))
        _, t, i, h = THROUGHPUT_SHAPES[0]
        for b in sweep_b:
            suite.add("sweep_B", Workload("LSTM", b, t, i, h))
    return suite
