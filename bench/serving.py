"""Serving and scoring rows: ``python -m bench.serving [--quick]``.

Measured on fastrnn alone (the peers' rows are in ``python -m bench``), medians of
repeated runs, the process's threads as the rows say:

- the explicit-state ``step`` of one LSTM / GRU / SimpleRNN H=128 layer at B=1, and a
  ``stateful=True`` layer's one-frame call against it (target: at most 1.5x);
- the step of a small model (Masking -> GRU(16, return_sequences) -> GRU(8) -> Dense)
  against its single GRU(16) layer's step (target: at most 3x);
- 1000 B=1 T=40 requests through one shared model, serially and from 2 Python threads
  (target: at least 1.6x the serial requests per second);
- ``predict`` sequences/s of a BiLSTM model at 1 and 2 fastrnn threads, and through
  ``fastrnn.dask.predict`` on a ``LocalCluster`` of 1 and 2 worker processes (loopback).
"""
from __future__ import annotations

import argparse
import statistics
import time
import threading
from typing import Callable, Dict, List

import numpy as np

import fastrnn as fr


def _median_seconds(fn: Callable[[], object], repeats: int, number: int) -> float:
    """Median over ``repeats`` of the mean time of ``number`` calls."""
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        times.append((time.perf_counter() - start) / number)
    return statistics.median(times)


def step_rows(repeats: int, number: int) -> List[Dict]:
    rows = []
    x = np.random.default_rng(0).normal(size=(1, 64)).astype(np.float32)
    for cls in (fr.LSTM, fr.GRU, fr.SimpleRNN):
        layer = cls(128)
        layer.build((1, 1, 64))
        states = layer.get_initial_state(batch_size=1)
        step = _median_seconds(lambda: layer.step(x, states), repeats, number)
        stateful = cls(128, stateful=True, batch_input_shape=(1, 1, 64))
        stateful.build((1, 1, 64))
        frame = x[:, None]
        call = _median_seconds(lambda: stateful(frame), repeats, number)
        rows.append({"row": f"{cls.__name__}(128) step, B=1", "us": step * 1e6,
                     "stateful call us": call * 1e6, "stateful / step": call / step,
                     "target": "stateful <= 1.5x step"})
    return rows


def model_step_row(repeats: int, number: int) -> Dict:
    model = fr.Sequential([fr.Input((None, 40)), fr.Masking(0.0),
                           fr.GRU(16, return_sequences=True), fr.GRU(8), fr.Dense(4)])
    gru = model.layers[1]
    x = np.random.default_rng(1).normal(size=(1, 40)).astype(np.float32)
    states = model.get_initial_state(batch_size=1)
    layer_states = gru.get_initial_state(batch_size=1)
    model_t = _median_seconds(lambda: model.step(x, states), repeats, number)
    layer_t = _median_seconds(lambda: gru.step(x, layer_states), repeats, number)
    return {"row": "Masking->GRU(16)->GRU(8)->Dense step, B=1", "us": model_t * 1e6,
            "GRU(16) step us": layer_t * 1e6, "model / layer": model_t / layer_t,
            "target": "<= 3x"}


def threads_row(requests: int) -> Dict:
    model = fr.Sequential([fr.Input((None, 40)), fr.GRU(64, return_sequences=True),
                           fr.GRU(32), fr.Dense(4)])
    rng = np.random.default_rng(2)
    batches = [rng.normal(size=(1, 40, 40)).astype(np.float32) for _ in range(requests)]
    from threadpoolctl import threadpool_limits
    # as the README says for serving threads: one fastrnn thread and one BLAS thread each
    with fr.num_threads(1), threadpool_limits(1, user_api="blas"):
        model(batches[0])
        start = time.perf_counter()
        for x in batches:
            model(x)
        serial = time.perf_counter() - start
        def serve(share):
            for x in share:
                model(x)

        workers = [threading.Thread(target=serve, args=(batches[k::2],)) for k in range(2)]
        start = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        parallel = time.perf_counter() - start
    return {"row": f"{requests} requests B=1 T=40, GRU(64)->GRU(32)->Dense",
            "serial req/s": requests / serial, "2 threads req/s": requests / parallel,
            "speed-up": serial / parallel, "target": ">= 1.6x"}


def predict_rows(sequences: int, repeats: int) -> List[Dict]:
    model = fr.Sequential([fr.Input((None, 16)), fr.Bidirectional(fr.LSTM(64)), fr.Dense(3)])
    x = np.random.default_rng(3).normal(size=(sequences, 50, 16)).astype(np.float32)
    rows = []
    for threads in (1, 2):
        with fr.num_threads(threads):
            t = _median_seconds(lambda: model.predict(x, batch_size=1024, verbose=0),
                                repeats, 1)
        rows.append({"row": f"predict BiLSTM(64) T=50, {threads} thread(s)",
                     "sequences/s": sequences / t})
    try:
        from fastrnn import dask as fr_dask
        bench = fr_dask._bench_sequences_per_second
    except (ImportError, AttributeError) as exc:
        rows.append({"row": "fastrnn.dask.predict", "skipped": repr(exc)})
        return rows
    for workers in (1, 2):
        rate = bench(model, x, n_workers=workers, chunk_rows=max(1, sequences // 8),
                     batch_size=1024)
        rows.append({"row": f"fastrnn.dask.predict, LocalCluster {workers} process(es)",
                     "sequences/s": rate})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.serving", description=__doc__)
    p.add_argument("--quick", action="store_true", help="fewer repeats and sequences")
    args = p.parse_args(argv)
    repeats, number = (5, 500) if args.quick else (9, 3000)
    rows = step_rows(repeats, number) + [model_step_row(repeats, number),
                                         threads_row(300 if args.quick else 1000)]
    rows += predict_rows(20000 if args.quick else 100000, 3)
    for row in rows:
        cells = [f"{k}={v:.3g}" if isinstance(v, float) else f"{k}={v}"
                 for k, v in row.items() if k != "row"]
        print(f"{row['row']}: " + ", ".join(cells))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
