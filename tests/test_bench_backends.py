"""The benchmark's backends compute what they claim: each installed one (fastrnn,
NumPy, PyTorch, ONNX Runtime), given Keras-layout weights and the benchmark's own
mapping to the peer's layout, reproduces the project's NumPy oracle (tests/oracle.py)
on small sequence and streaming cases, with weights large enough to saturate gates.  This pins down the gate orders and biases the
benchmark maps to torch and ONNX, so a timed peer is always computing the same
network."""
import numpy as np
import pytest

from bench.backends import BackendUnavailable, load
from bench.check import compare
from bench.weights import KerasWeights, make_input, make_weights
from bench.workloads import Workload
from oracle import run_rnn

ORACLE_CELL = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple"}

BACKENDS = ["fastrnn", "numpy", "torch", "onnxruntime"]
CASES = [Workload(cell, 2, 5, 3, 4, dtype, streaming)
         for cell in ("LSTM", "GRU", "SimpleRNN")
         for dtype in ("float32", "float64")
         for streaming in (False, True)]


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request):
    try:
        cls = load(request.param)
        cls.versions()
    except BackendUnavailable as exc:
        pytest.skip(f"{request.param}: {exc}")
    return cls()


@pytest.mark.parametrize("workload", CASES, ids=lambda wl: wl.id)
def test_backend_reproduces_the_reference(backend, workload):
    if not backend.supports(workload):
        pytest.skip(f"{backend.name} does not run {workload.dtype}")
    small = make_weights(workload.cell, workload.input_size, workload.units)
    weights = KerasWeights(small.cell, *(_float32_exact(w * scale) for w, scale in (
        (small.kernel, 3.0), (small.recurrent_kernel, 3.0), (small.bias, 20.0))))
    x = make_input(workload)
    prepared = backend.prepare(workload, weights, x, threads=1)
    reference, _ = run_rnn(ORACLE_CELL[workload.cell], x, weights.kernel,
                           weights.recurrent_kernel, weights.bias, return_sequences=True)
    check = compare(prepared.output(), reference, workload.dtype, "oracle")
    assert check.ok, check
    prepared.call()  # the timed call runs


def _float32_exact(a):
    return a.astype(np.float32).astype(np.float64)
