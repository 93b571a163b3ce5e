"""What is measured: workloads (cell x batch x time x input x units x dtype) and suites.

A workload is one call shape. Sequence workloads time one whole-sequence call
``layer(x)`` with ``x`` of shape ``(batch, steps, input_size)``; streaming workloads time
one single-timestep call on a stateful layer (state carried between calls) and are
checked over ``check_steps`` consecutive steps.

A workload's ``variant`` selects a special case of the same shape (see ``VARIANTS``):
variable-length batches (``lengths`` and ``mask``), states decaying into subnormal
numbers (``denormal``) and fastrnn's explicit ``layer.step`` (``step``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Dict, List, Tuple

#: Number of gate blocks per cell (the width of the kernels is ``gates * units``).
GATES: Dict[str, int] = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}

CELLS: Tuple[str, ...] = ("LSTM", "GRU", "SimpleRNN")

#: Groups a workload can belong to; the report has one section per group.
GROUPS: Tuple[str, ...] = ("latency", "streaming", "throughput", "ragged", "denormal",
                           "sweep_T", "sweep_B")

#: Special cases of a shape. ``lengths``: each row b of the batch is valid for its first
#: ``lengths[b]`` steps (uniform in 1..T, :func:`bench.weights.make_lengths`), passed as
#: sequence lengths; ``mask``: the same batch passed as a boolean mask (fastrnn's mask
#: path); ``denormal``: an LSTM whose output-gate bias is -95, so that h decays into the
#: subnormal range at every step; ``step``: a streaming step through ``layer.step``.
VARIANTS: Tuple[str, ...] = ("", "lengths", "mask", "denormal", "step")

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
    variant: str = ""

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"variant must be one of {VARIANTS}, got {self.variant!r}")

    @property
    def id(self) -> str:
        """A stable name, also used as a file name for reference outputs."""
        kind = "stream" if self.streaming else "seq"
        return (f"{self.cell}-{kind}-B{self.batch}-T{self.steps}-I{self.input_size}"
                f"-H{self.units}-{self.dtype}" + (f"-{self.variant}" if self.variant else ""))

    @property
    def label(self) -> str:
        """A short human-readable shape for tables."""
        if self.streaming:
            shape = f"B={self.batch} 1 step/call I={self.input_size} H={self.units}"
        else:
            shape = f"B={self.batch} T={self.steps} I={self.input_size} H={self.units}"
        return shape + (f" {VARIANT_LABELS[self.variant]}" if self.variant else "")

    @property
    def ragged(self) -> bool:
        """Whether rows have their own lengths (``lengths`` or ``mask`` variant)."""
        return self.variant in ("lengths", "mask")

    @property
    def plain(self) -> "Workload":
        """The same shape without its variant."""
        return self.with_(variant="")

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
        return cls(**{f.name: d[f.name] for f in dataclasses.fields(cls) if f.name in d})


VARIANT_LABELS = {"lengths": "lengths=", "mask": "mask", "denormal": "subnormal h",
                  "step": "layer.step"}

# Base shapes (batch, steps, input, units) of the issues, in order. The first two latency
# shapes and the first two throughput shapes carry targets (bench.targets).
LATENCY_SHAPES = [(1, 100, 64, 128), (1, 50, 256, 512), (1, 15, 250, 200), (1, 63, 96, 32)]
STREAMING_SHAPE = (1, 1, 64, 128)
THROUGHPUT_SHAPES = [(64, 100, 128, 256), (8, 100, 128, 256), (64, 25, 512, 512),
                     (256, 50, 512, 1024)]
RAGGED_SHAPE = (64, 100, 128, 256)       # LSTM, lengths uniform in 1..T
DENORMAL_SHAPES = [(1, 100, 64, 128), (64, 100, 128, 256)]   # LSTM, output-gate bias -95
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

    def run_order(self) -> List[Workload]:
        """Every workload, each variant right after its plain twin when the suite has it
        (so that, say, the subnormal case is timed next to the normal one)."""
        plain = [wl for wl in self.workloads.values() if not wl.variant]
        variants = [wl for wl in self.workloads.values() if wl.variant]
        order: List[Workload] = []
        for wl in plain:
            order.append(wl)
            order += [v for v in variants if v.plain == wl]
        return order + [v for v in variants if v.plain.id not in self.workloads]

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


def _seq(cell: str, shape: Tuple[int, int, int, int], dtype: str = "float32",
         variant: str = "") -> Workload:
    b, t, i, h = shape
    return Workload(cell, b, t, i, h, dtype, variant=variant)


def _stream(cell: str, dtype: str = "float32", variant: str = "") -> Workload:
    b, t, i, h = STREAMING_SHAPE
    return Workload(cell, b, t, i, h, dtype, streaming=True, variant=variant)


def build_suite(quick: bool, cells: Tuple[str, ...] = CELLS, float64: bool = True) -> Suite:
    """The workloads of a full run, or of a ``--quick`` run (a subset).

    Full: every latency, streaming and throughput shape for every cell in float32, the
    same in float64 (run only by the backends that support it), the variable-length and
    subnormal LSTM cases, the ``layer.step`` streaming case and the two LSTM sweeps of
    the chart. Quick: the workloads of every target (bench.targets: the first latency
    shape for every cell, the second for LSTM, the B=64 and B=8 throughput shapes for
    LSTM and GRU, LSTM float64 at the first latency and throughput shapes), LSTM and GRU
    streaming, the first variable-length and subnormal cases, and a shortened sweep.
    """
    suite = Suite()
    if quick:
        pairs = [c for c in cells if c in ("LSTM", "GRU")]
        latency = [(c, LATENCY_SHAPES[0]) for c in cells] + \
                  [(c, LATENCY_SHAPES[1]) for c in cells if c == "LSTM"]
        streaming = pairs
        throughput = [(c, shape) for c in pairs for shape in THROUGHPUT_SHAPES[:2]]
        in_float64 = {("LSTM", LATENCY_SHAPES[0]), ("LSTM", THROUGHPUT_SHAPES[0])}
        denormal, sweep_t, sweep_b = DENORMAL_SHAPES[:1], [1, 10, 100], [1, 8, 64]
    else:
        latency = [(c, shape) for c in cells for shape in LATENCY_SHAPES]
        streaming = list(cells)
        throughput = [(c, shape) for c in cells for shape in THROUGHPUT_SHAPES]
        in_float64 = set(latency + throughput)
        denormal, sweep_t, sweep_b = DENORMAL_SHAPES, SWEEP_T, SWEEP_B
    for dtype in ("float32", "float64") if float64 else ("float32",):
        for group, cases in (("latency", latency), ("throughput", throughput)):
            for cell, shape in cases:
                if dtype == "float32" or (cell, shape) in in_float64:
                    suite.add(group, _seq(cell, shape, dtype))
        for cell in streaming:
            if dtype == "float32" or not quick:
                suite.add("streaming", _stream(cell, dtype))
    if "LSTM" in cells:
        suite.add("streaming", _stream("LSTM", variant="step"))
        for variant in ("lengths", "mask"):
            suite.add("ragged", _seq("LSTM", RAGGED_SHAPE, variant=variant))
        for shape in denormal:
            suite.add("denormal", _seq("LSTM", shape))  # the reference: same layer, normal h
            suite.add("denormal", _seq("LSTM", shape, variant="denormal"))
        b, _, i, h = LATENCY_SHAPES[0]
        for t in sweep_t:
            suite.add("sweep_T", Workload("LSTM", b, t, i, h))
        _, t, i, h = THROUGHPUT_SHAPES[0]
        for b in sweep_b:
            suite.add("sweep_B", Workload("LSTM", b, t, i, h))
    return suite
