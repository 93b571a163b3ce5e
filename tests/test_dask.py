"""fastrnn.dask.predict on the threaded scheduler and on a LocalCluster of 2 processes."""
import os
import subprocess
import sys

import numpy as np
import pytest

da = pytest.importorskip("dask.array")
dask = pytest.importorskip("dask")

import fastrnn.dask as fdask  # noqa: E402
from fastrnn.convert import TorchRNN, from_torch, load_keras  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
RNG = np.random.default_rng(5)
CHUNKS = (37, 90, 1, 72)                     # uneven, one chunk of a single row
N = sum(CHUNKS)


def keras_model():
    return load_keras(os.path.join(FIXTURES, "keras2_stacked_lstm.keras"))   # (None, None, 4)


def torch_model():
    """A 2-layer bidirectional GRU state_dict, time-major (torch's default layout)."""
    hidden, features, state = 5, 4, {}
    for layer, inputs in ((0, features), (1, 2 * hidden)):
        for suffix in ("", "_reverse"):
            state[f"weight_ih_l{layer}{suffix}"] = RNG.uniform(-1, 1, (3 * hidden, inputs))
            state[f"weight_hh_l{layer}{suffix}"] = RNG.uniform(-1, 1, (3 * hidden, hidden))
            state[f"bias_ih_l{layer}{suffix}"] = RNG.uniform(-1, 1, 3 * hidden)
            state[f"bias_hh_l{layer}{suffix}"] = RNG.uniform(-1, 1, 3 * hidden)
    return from_torch({k: v.astype("float32") for k, v in state.items()}, mode="GRU",
                      batch_first=False)


X = RNG.uniform(-2, 2, size=(N, 9, 4)).astype("float32")
LENGTHS = RNG.integers(0, 10, size=N)


def per_chunk(model, x, lengths, axis, batch_size, chunks=CHUNKS):
    """In-process predict over the same blocks (what each task computes), concatenated."""
    parts, start = [], 0
    for size in chunks:
        rows = slice(start, start + size)
        block = x[rows] if axis == 0 else x[:, rows]
        out = model.predict(block, batch_size=batch_size, verbose=0,
                            lengths=None if lengths is None else lengths[rows])
        parts.append(out[0] if isinstance(out, tuple) else out)
        start += size
    return np.concatenate(parts, axis=axis)


def cases():
    """(name, model, x as NumPy, batch axis, dask array)."""
    keras = keras_model()
    torch_layout = np.ascontiguousarray(X.transpose(1, 0, 2))        # (T, B, F)
    return [("keras", keras, X, 0, da.from_array(X, chunks=(CHUNKS, 9, 4))),
            ("torch", torch_model(), torch_layout, 1,
             da.from_array(torch_layout, chunks=(9, CHUNKS, 4)))]


CASES = cases()


def check_against_in_process(model, x_np, axis, x, lengths, scheduler):
    scores = fdask.predict(model, x, lengths=lengths, batch_size=16)
    assert scores.chunks[axis] == CHUNKS
    got = scores.compute(scheduler=scheduler)
    want = per_chunk(model, x_np, None if lengths is None else np.asarray(lengths), axis, 16)
    np.testing.assert_array_equal(got, want)
    whole = model.predict(x_np, batch_size=16, verbose=0,
                          lengths=None if lengths is None else np.asarray(lengths))
    whole = whole[0] if isinstance(whole, tuple) else whole
    if isinstance(model, TorchRNN):    # recurrent layers only: rows are batch-invariant
        np.testing.assert_array_equal(got, whole)
    else:                              # the Dense head (NumPy matmul) differs on 1-row chunks
        np.testing.assert_allclose(got, whole, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("with_lengths", [False, True])
@pytest.mark.parametrize("name,model,x_np,axis,x", CASES, ids=[c[0] for c in CASES])
def test_threaded_scheduler(name, model, x_np, axis, x, with_lengths):
    lengths = LENGTHS if with_lengths else None
    check_against_in_process(model, x_np, axis, x, lengths, "threads")


def test_dask_lengths_are_rechunked_to_the_batch_chunks():
    name, model, x_np, axis, x = CASES[0]
    lengths = da.from_array(LENGTHS, chunks=50)
    check_against_in_process(model, x_np, axis, x, lengths, "threads")


def test_zarr_in_zarr_out(tmp_path):
    """The README's example: sequences from Zarr, scores written back to Zarr."""
    pytest.importorskip("zarr")
    model = keras_model()
    da.from_array(X, chunks=(64, 9, 4)).to_zarr(str(tmp_path / "seq.zarr"))
    x = da.from_zarr(str(tmp_path / "seq.zarr"))
    assert x.chunks[0] == (64, 64, 64, 8)
    fdask.predict(model, x).to_zarr(str(tmp_path / "scores.zarr"))
    got = da.from_zarr(str(tmp_path / "scores.zarr")).compute()
    np.testing.assert_array_equal(got, per_chunk(model, X, None, 0, 32, x.chunks[0]))


def test_model_is_one_key_every_block_depends_on():
    _, model, _, _, x = CASES[0]
    graph = dict(fdask.predict(model, x).__dask_graph__())
    holders = [key for key, value in graph.items() if getattr(value, "value", None) is model]
    assert len(holders) == 1
    tasks = [value for key, value in graph.items()
             if isinstance(key, tuple) and str(key[0]).startswith("fastrnn-predict")]
    assert len(tasks) == len(CHUNKS)
    for task in tasks:
        assert holders[0] in task.dependencies
        assert all(arg is not model for arg in getattr(task, "args", ()))


def test_chunked_time_or_features_is_refused_with_the_fix():
    model = keras_model()
    with pytest.raises(ValueError, match=r"x.rechunk\(\{1: -1, 2: -1\}\)"):
        fdask.predict(model, da.from_array(X, chunks=(50, 3, 4)))
    with pytest.raises(ValueError, match="batch axis"):
        fdask.predict(model, da.from_array(X, chunks=(50, 9, 2)))
    with pytest.raises(TypeError, match="dask.array"):
        fdask.predict(model, X)
    with pytest.raises(ValueError, match="lengths"):
        fdask.predict(model, da.from_array(X, chunks=(50, 9, 4)), lengths=LENGTHS[:-1])
    with pytest.raises(ValueError, match="lengths"):
        fdask.predict(model, da.from_array(X, chunks=(50, 9, 4)), lengths=LENGTHS + 10)
    with pytest.raises(ValueError, match="batch_size"):
        fdask.predict(model, da.from_array(X, chunks=(50, 9, 4)), batch_size=0)


THREADS_CHECK = """
from threadpoolctl import threadpool_info, threadpool_limits
import fastrnn.dask as fdask
from fastrnn import _threads

def threads():
    blas = {p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"}
    return blas, _threads.get_num_threads()

_threads.set_num_threads(2)
with threadpool_limits(2, user_api="blas"):
    outside = threads()
    with fdask.single_threaded():
        with fdask.single_threaded():          # a second block, overlapping
            assert threads() == ({1}, 1), threads()
        assert threads() == ({1}, 1), threads()    # the first block still runs
    assert threads() == outside == ({2}, 2), (threads(), outside)
print("ok")
"""


def test_blocks_run_single_threaded():
    """Inside a block fastrnn's kernels and BLAS have one thread; overlapping blocks keep
    the limit until the last one ends, which restores the caller's setting.  Checked in
    a fresh process: OpenBLAS 0.3.30's thread counts, once set from other threads (as
    the threaded scheduler's blocks do), are no longer what the main thread reads back."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    result = subprocess.run([sys.executable, "-c", THREADS_CHECK], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr


@pytest.fixture(scope="module")
def cluster_client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=40) as cluster:
        with distributed.Client(cluster) as client:
            yield client


def test_local_cluster_of_two_processes(cluster_client):
    workers = cluster_client.scheduler_info()["workers"]
    assert len(workers) == 2 and all(w.startswith("tcp://127.0.0.1:") for w in workers)
    for name, model, x_np, axis, x in CASES:
        for lengths in (None, LENGTHS):
            scores = fdask.predict(model, x, lengths=lengths, batch_size=16)
            got = cluster_client.compute(scores).result(timeout=30)
            want = per_chunk(model, x_np, lengths, axis, 16)
            np.testing.assert_array_equal(got, want, err_msg=name)
