"""Reporting: progress lines, derived figures, and the terminal / JSON / Markdown / PNG outputs.

Derived figures, per timed result (same workload, same thread setting):

- ``gflops``: the workload's matmul flops (:attr:`Workload.flops`) / median time;
- ``roofline_fraction``: ``gflops`` / the measured GEMM peak (best sgemm call for float32,
  dgemm for float64) at the same thread count;
- ``fastrnn_ratio``: fastrnn's median / this backend's median (below 1: fastrnn is faster).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .backends import REGISTRY
from .workloads import GROUPS, Workload

#: A median is marked ``*`` when other processes kept this many cores busy meanwhile.
BUSY_CORES = 0.25

GROUP_TITLES = {
    "latency": "Latency, B=1 (one whole-sequence call)",
    "streaming": "Streaming (one timestep per call, state carried)",
    "throughput": "Throughput (one whole-sequence call)",
    "ragged": "Variable lengths (lengths uniform in 1..T; padding not compared)",
    "denormal": "Subnormal states (LSTM output-gate bias -95) and the same layer with normal values",
    "sweep_T": "Sweep: LSTM latency vs sequence length (chart)",
    "sweep_B": "Sweep: LSTM throughput vs batch size (chart)",
}


# ----------------------------------------------------------------------------- formatting
def fmt_time(seconds: Optional[float]) -> str:
    """A duration with a unit that keeps 3-4 significant digits (ns, us, ms, s)."""
    if seconds is None:
        return ""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.4g} {unit}"
    return f"{seconds / 1e-9:.4g} ns"


def _fmt(value: Optional[float], spec: str) -> str:
    return "" if value is None else format(value, spec)


# ----------------------------------------------------------------------------- progress
class Progress:
    """Progress lines on stderr: ``[done/total elapsed] what``."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.t0 = total, 0, time.monotonic()

    def _print(self, msg: str) -> None:
        elapsed = time.monotonic() - self.t0
        print(f"[{self.done:>3}/{self.total} {elapsed:5.0f}s] {msg}", file=sys.stderr, flush=True)

    def note(self, msg: str) -> None:
        """A line without progress."""
        self._print(msg)

    def advance(self, steps: int, msg: str) -> None:
        """``steps`` units of work done elsewhere (a worker)."""
        self.done += steps
        self._print(msg)

    def case(self, wl: Workload, threads: int, results) -> None:
        """One workload done at one thread setting: each backend's median or status."""
        self.done += 1
        parts = [f"{r.backend} {fmt_time(r.stats['median'])}" if r.stats else
                 f"{r.backend} {r.status.upper()}" for r in results]
        bg = results[0].background_cores
        load = f"  [other load {bg:.2f} cores]" if bg is not None and bg >= 0.1 else ""
        self._print(f"{threads} thr {wl.id}: " + " | ".join(parts) + load)

    def cold(self, rec: dict) -> None:
        """One cold-start worker done."""
        self.done += 1
        if "error" in rec:
            self._print(f"cold {rec['backend']} {rec['workload']}: {rec['error']}")
        else:
            self._print(f"cold {rec['backend']} {rec['workload']}: first call "
                        f"{fmt_time(rec['first_call_s'])}, peak RSS {rec['rss_peak_mib']:.0f} MiB")


# ----------------------------------------------------------------------------- figures
def derive(record: dict) -> None:
    """Add ``gflops``, ``roofline_fraction`` and ``fastrnn_ratio`` to every timed result."""
    flops = {w["id"]: w["flops"] for w in record["suite"]["workloads"]}
    dtypes = {w["id"]: w["dtype"] for w in record["suite"]["workloads"]}
    fastrnn = {(r["workload"], r["threads"]): r["stats"]["median"]
               for r in record["results"] if r["backend"] == "fastrnn" and r["stats"]}
    for r in record["results"]:
        if not r["stats"]:
            continue
        median = r["stats"]["median"]
        r["gflops"] = flops[r["workload"]] / median / 1e9
        peak = record["rooflines"].get(str(r["threads"]), {}).get(dtypes[r["workload"]])
        r["roofline_fraction"] = r["gflops"] / peak["best_gflops"] if peak else None
        mine = fastrnn.get((r["workload"], r["threads"]))
        r["fastrnn_ratio"] = None if mine is None else mine / median


def _backend_order(record: dict) -> List[str]:
    return [b for b in REGISTRY if b in record["backends"]]


def group_table(record: dict, group: str) -> tuple:
    """Headers and rows of one group's table (the same for terminal and Markdown)."""
    threads = record["meta"]["threads"]
    wls = {w["id"]: w for w in record["suite"]["workloads"]}
    by_key = {(r["workload"], r["backend"], r["threads"]): r for r in record["results"]}
    cold = {(c["workload"], c["backend"]): c for c in record["cold"] if "error" not in c}
    with_cold = group in ("latency", "streaming", "throughput") and bool(cold)
    headers = ["cell", "dtype", "shape", "backend"]
    for t in threads:
        headers += [f"{t}thr median", "p99", "GFLOP/s", "%peak", "fr/this"]
    if with_cold:
        headers += ["cold 1st call", "peak RSS MiB (+case)"]
    rows = []
    for wid in record["suite"]["groups"][group]:
        w = Workload.from_dict(wls[wid])
        first = True
        for b in _backend_order(record):
            cells = [r for r in (by_key.get((wid, b, t)) for t in threads)]
            if not any(cells):
                continue
            row = [w.cell if first else "", w.dtype if first else "", w.label if first else "", b]
            first = False
            for r in cells:
                row += _result_cells(r)
            if with_cold:
                c = cold.get((wid, b))
                row += ([fmt_time(c["first_call_s"]),
                         f"{c['rss_peak_mib']:.0f} (+{_fmt(c['rss_case_mib'], '.1f')})"]
                        if c else ["", ""])
            rows.append(row)
    return headers, rows


def _result_cells(r: Optional[dict]) -> List[str]:
    """The five per-thread cells of one result."""
    if r is None:
        return [""] * 5
    if not r["stats"]:
        what = r["status"].upper()
        if r.get("check"):
            what += f" {r['check']['max_abs_err']:.2g}"
        return [what, "", "", "", ""]
    s = r["stats"]
    frac = r.get("roofline_fraction")
    busy = (r.get("background_cores") or 0.0) >= BUSY_CORES
    return [fmt_time(s["median"]) + ("*" if busy else ""), fmt_time(s["p99"]), _fmt(r.get("gflops"), ".3g"),
            "" if frac is None else f"{100 * frac:.1f}%", _fmt(r.get("fastrnn_ratio"), ".2f")]


def format_text(headers: Sequence[str], rows: Sequence[Sequence[str]], n_left: int = 4) -> str:
    """An aligned plain-text table: the first ``n_left`` columns (labels) left-aligned,
    the figures right-aligned."""
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows)]

    def line(cells):
        return "  ".join(str(c).ljust(w) if i < n_left else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in rows])


def format_markdown(headers: Sequence[str], rows: Sequence[Sequence[str]], n_left: int = 4) -> str:
    """A GitHub-flavoured Markdown table, aligned as :func:`format_text`."""
    align = ["---" if i < n_left else "---:" for i in range(len(headers))]
    out = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    out += ["| " + " | ".join(str(c).replace("*", r"\*") for c in r) + " |" for r in rows]
    return "\n".join(out)


# ----------------------------------------------------------------------------- sections
def _header_lines(record: dict) -> List[str]:
    """Machine, backends, thread settings, roofline: plain lines for both text and MD."""
    m = record["machine"]
    meta = record["meta"]
    lines = [f"fastrnn benchmark ({meta['mode']} run, {meta['started']}, {meta['duration_s']} s)",
             f"machine: {m['cpu']}, {m['usable_cores']} usable cores, {m['platform']}, "
             f"Python {m['python']}, NumPy {m['numpy']}, SciPy {m['scipy']}; "
             f"repository at {m.get('git') or 'no commit'}",
             f"load average: start {_load(m.get('load_average'))}, "
             f"end {_load(meta.get('load_average_end'))}"]
    blas = [f"{p.get('internal_api')} {p.get('version')} ({p.get('prefix')}"
            + (f", {p['architecture']} kernels" if p.get("architecture") else "") + ")"
            for p in m["thread_pools"]]
    lines.append("thread pools seen by threadpoolctl: " + "; ".join(blas))
    lines.append("environment: " + (", ".join(f"{k}={v}" for k, v in m["environment"].items())
                                    or "no threading variables set"))
    lines.append("backends:")
    for name, info in record["backends"].items():
        if info["available"]:
            versions = ", ".join(f"{k} {v}" for k, v in info["versions"].items())
            where = f" (worker: {info['python']})" if info.get("isolated") else ""
            lines.append(f"  {name}: {versions}{where}")
        else:
            lines.append(f"  {name}: SKIPPED - {info['note']}")
    lines.append("threads (each pass also limits every BLAS/OpenMP pool with threadpoolctl):")
    for t, how in record["threads_how"].items():
        lines.append(f"  {t} thread(s): " + "; ".join(f"{b}: {h}" for b, h in how.items()))
    roof = []
    for t, peaks in record["rooflines"].items():
        bg = peaks.get("background_cores")
        roof.append(f"{t} thr sgemm {peaks['float32']['best_gflops']:.1f} "
                    f"(median {peaks['float32']['median_gflops']:.1f}), "
                    f"dgemm {peaks['float64']['best_gflops']:.1f} "
                    f"(median {peaks['float64']['median_gflops']:.1f})"
                    + ("" if bg is None else f", other load {bg:.2f} cores"))
    lines.append("GEMM roofline = best of repeated 1024^3 scipy.linalg.blas sgemm/dgemm calls "
                 "before each pass, GFLOP/s: " + "; ".join(roof))
    l2 = record.get("l2_bandwidth")
    if l2:
        lines.append(f"L2 read bandwidth (1 thread, best call, {l2['passes']} reads of a "
                     f"{l2['buffer_bytes'] // 1024} KiB float32 buffer per call): np.max "
                     f"{l2['max_gbps']:.1f} GB/s, np.sum {l2['sum_gbps']:.1f} GB/s; "
                     f"the L2 bound uses {l2['best_gbps']:.1f} GB/s")
    t = meta["timing"]
    lines.append(f"timing: perf_counter_ns per call, gc off, budget {t['budget_s']} s per case in "
                 f"{t['rounds']} interleaved rounds, >= {t['min_repeats']} calls, warmup "
                 f">= {t['warmup_calls']} calls / {t['warmup_s']} s; "
                 f"timer overhead {m['timer']['overhead_ns']:.0f} ns")
    lines.append("columns: median / p99 per call (warm); GFLOP/s = 2*B*T*(I+H)*gates*H / median; "
                 "%peak = of the GEMM roofline at the same thread count; fr/this = fastrnn time / "
                 "this backend's time (< 1: fastrnn faster); cold = first call in a fresh process "
                 "(1 thread); peak RSS = peak resident memory of that process, +case = its "
                 "peak over the resident memory before the build; "
                 f"* = other processes kept >= {BUSY_CORES} cores busy while it was timed")
    lines.append("other load while timing (cores busy with other processes, mean / max over "
                 "workloads): " + "; ".join(_background(record)))
    return lines


def _background(record: dict) -> List[str]:
    """Per thread setting: mean and max of the background load measured per workload."""
    out = []
    for t in record["meta"]["threads"]:
        loads = [r["background_cores"] for r in record["results"]
                 if r["threads"] == t and r.get("background_cores") is not None]
        if loads:
            out.append(f"{t} thr {sum(loads) / len(loads):.2f} / {max(loads):.2f}")
    return out or ["not measured"]


def _load(load) -> str:
    return "n/a" if not load else " ".join(f"{x:.2f}" for x in load)


def _target_lines(record: dict) -> List[str]:
    """The targets (met / not met), then the figures reported without a limit."""
    lines = ["targets (medians measured side by side; best peer = fastest of "
             "torch/onnxruntime/openvino/tensorflow on the row; reported, not tuned for):"]
    for t in record["targets"]:
        verdict = {True: "MET    ", False: "NOT MET", None: "n/a    "}[t["met"]]
        value = ("not measured in this run" if t["value"] is None else
                 f"{t['value']:.3f}x (limit {t['op']} {t['limit']}x; {t['detail']})")
        lines.append(f"  [{verdict}] {t['label']}: {value}")
    lines.append("figures (no limit):")
    lines += [f"  {f['label']}: {f['text']}" for f in record.get("figures", [])]
    for m in record.get("weight_memory", []):
        lines.append(f"  weight memory, {m['cell']} I={m['input_size']} H={m['units']} "
                     f"{m['dtype']}: fastrnn's packed copy {m['packed_bytes'] / 1024:.0f} KiB = "
                     f"{m['packed_bytes'] / m['keras_bytes']:.2f}x the Keras-layout weights "
                     f"({m['keras_bytes'] / 1024:.0f} KiB)")
    return lines


def summary_table(record: dict, threads: int) -> tuple:
    """fastrnn's median and its time over each peer's, per reported workload, at ``threads``."""
    peers = [b for b in _backend_order(record) if b != "fastrnn"]
    by_key = {(r["workload"], r["backend"]): r for r in record["results"]
              if r["threads"] == threads}
    wls = {w["id"]: w for w in record["suite"]["workloads"]}
    headers = ["cell", "dtype", "shape", "fastrnn median"] + [f"/ {p}" for p in peers]
    rows = []
    for group in ("latency", "streaming", "throughput"):
        for wid in record["suite"]["groups"][group]:
            mine = by_key.get((wid, "fastrnn"))
            if mine is None:
                continue
            w = Workload.from_dict(wls[wid])
            row = [w.cell, w.dtype, w.label, _result_cells(mine)[0]]
            for p in peers:
                r = by_key.get((wid, p))
                row.append("" if r is None else
                           _fmt(r.get("fastrnn_ratio"), ".2f") if r["stats"] else r["status"].upper())
            rows.append(row)
    return headers, rows


def _sections(record: dict):
    """``(title, headers, rows, label columns)``: the summaries, then every non-empty group."""
    for t in record["meta"]["threads"]:
        headers, rows = summary_table(record, t)
        if rows:
            yield (f"Summary, {t} thread(s): fastrnn median, and fastrnn time / each peer's "
                   "time (< 1: fastrnn faster)", headers, rows, 3)
    for group in GROUPS:
        if record["suite"]["groups"][group]:
            headers, rows = group_table(record, group)
            if rows:
                yield GROUP_TITLES[group], headers, rows, 4


def terminal_report(record: dict) -> str:
    """Everything, for the terminal."""
    out = _header_lines(record)
    for title, headers, rows, n_left in _sections(record):
        out += ["", f"== {title} ==", format_text(headers, rows, n_left)]
    out += [""] + _target_lines(record)
    return "\n".join(out)


def markdown_report(record: dict, chart: Optional[str]) -> str:
    """Everything, as a Markdown document."""
    head = _header_lines(record)
    out = [f"# {head[0]}", ""] + [f"    {line}" for line in head[1:]]
    for title, headers, rows, n_left in _sections(record):
        out += ["", f"## {title}", "", format_markdown(headers, rows, n_left)]
    out += ["", "## Targets", ""] + [f"    {line}" for line in _target_lines(record)[1:]]
    if chart:
        out += ["", f"![latency and throughput sweeps]({chart})"]
    return "\n".join(out) + "\n"


# ----------------------------------------------------------------------------- chart
def chart(record: dict, path: Path) -> bool:
    """Latency vs T (B=1 LSTM) and GFLOP/s vs B (LSTM) per backend; False without matplotlib."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    wls = {w["id"]: w for w in record["suite"]["workloads"]}
    timed = [r for r in record["results"] if r["stats"]]
    fig, (ax_t, ax_b) = plt.subplots(1, 2, figsize=(12, 4.8))
    styles = ["-", "--", ":", "-."]
    colors = {b: f"C{i}" for i, b in enumerate(REGISTRY)}
    for k, threads in enumerate(record["meta"]["threads"]):
        style = styles[k % len(styles)]
        for ax, group, xkey, metric in ((ax_t, "sweep_T", "steps", "median"),
                                        (ax_b, "sweep_B", "batch", "gflops")):
            ids = set(record["suite"]["groups"][group])
            plotted = False
            for b in _backend_order(record):
                pts = sorted((wls[r["workload"]][xkey],
                              r["stats"]["median"] * 1e3 if metric == "median" else r["gflops"])
                             for r in timed
                             if r["backend"] == b and r["threads"] == threads and r["workload"] in ids)
                if len(pts) >= 2:  # a sweep not run at this thread count has one shared point
                    xs, ys = zip(*pts)
                    ax.plot(xs, ys, style, marker="o", ms=3, color=colors[b],
                            label=f"{b}, {threads} thr")
                    plotted = True
            peak = record["rooflines"].get(str(threads), {}).get("float32")
            if ax is ax_b and plotted and peak:
                ax.axhline(peak["best_gflops"], color="grey", ls=style, lw=0.8,
                           label=f"sgemm peak, {threads} thr")
    first_t, first_b = (wls[ids[0]] if ids else None for ids in
                        (record["suite"]["groups"]["sweep_T"], record["suite"]["groups"]["sweep_B"]))
    if first_t:
        ax_t.set_title(f"LSTM latency, B={first_t['batch']} I={first_t['input_size']} "
                       f"H={first_t['units']}")
    if first_b:
        ax_b.set_title(f"LSTM throughput, T={first_b['steps']} I={first_b['input_size']} "
                       f"H={first_b['units']}")
    ax_t.set(xscale="log", yscale="log", xlabel="sequence length T",
             ylabel="median time per call (ms)")
    ax_b.set(xscale="log", xlabel="batch size B", ylabel="GFLOP/s (median)")
    from matplotlib.ticker import NullFormatter, ScalarFormatter
    for ax, group, xkey in ((ax_t, "sweep_T", "steps"), (ax_b, "sweep_B", "batch")):
        ticks = sorted({wls[i][xkey] for i in record["suite"]["groups"][group]})
        if ticks:
            ax.set_xticks(ticks)
            ax.xaxis.set_major_formatter(ScalarFormatter())
            ax.xaxis.set_minor_formatter(NullFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle(f"fastrnn vs peers on {record['machine']['cpu']} ({record['meta']['mode']} run)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


# ----------------------------------------------------------------------------- files
def write_all(record: dict, out_dir: Path) -> Dict[str, Path]:
    """Write ``results.json``, ``results.md`` and ``sweeps.png`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "results.json", "markdown": out_dir / "results.md"}
    png = out_dir / "sweeps.png"
    if chart(record, png):
        paths["chart"] = png
    paths["json"].write_text(json.dumps(record, indent=1, default=str) + "\n")
    paths["markdown"].write_text(markdown_report(record, png.name if "chart" in paths else None))
    return paths
