"""The benchmark's backends compute what they claim: each installed one (fastrnn,
NumPy, PyTorch, ONNX Runtime, OpenVINO), given Keras-layout weights and the benchmark's own
mapping to the peer's layout, reproduces the project's NumPy oracle (tests/oracle.py)
on small sequence and streaming cases, with weights large enough to saturate gates.  This pins down the gate orders and biases the
benchmark maps to torch, ONNX and OpenVINO, so a timed peer is always computing the same
network."""
import numpy as np
import pytest

from bench.backends import BackendUnavailable, load
from bench.check import compare
from bench.weights import KerasWeights, make_input, valid_steps, weights_for
from bench.workloads import Workload
from oracle import run_rnn

ORACLE_CELL = {"LSTM": "lstm", "GRU": "gru", "SimpleRNN": "simple"}

BACKENDS = ["fastrnn", "numpy", "torch", "onnxruntime", "openvino"]
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


# Variable-length rows (lengths 1..T, some rows shorter than others), subnormal h, and
# fastrnn's layer.step (skipped until the layers have it).
VARIANT_CASES = [Workload("LSTM", 7, 6, 3, 4, "float32", variant=v)
                 for v in ("lengths", "mask", "denormal")] + [
    Workload("LSTM", 2, 1, 3, 4, "float32", streaming=True, variant="step")]


@pytest.mark.parametrize("workload", CASES + VARIANT_CASES, ids=lambda wl: wl.id)
def test_backend_reproduces_the_reference(backend, workload):
    if not backend.supports(workload):
        pytest.skip(f"{backend.name} does not run {workload.dtype} {workload.variant}")
    small = weights_for(workload)
    weights = KerasWeights(small.cell, *(_float32_exact(w * scale) for w, scale in (
        (small.kernel, 3.0), (small.recurrent_kernel, 3.0),
        (small.bias, 1.0 if workload.variant == "denormal" else 20.0))))
    x = make_input(workload)
    prepared = backend.prepare(workload, weights, x, threads=1)
    reference, _ = run_rnn(ORACLE_CELL[workload.cell], x, weights.kernel,
                           weights.recurrent_kernel, weights.bias, return_sequences=True)
    valid = valid_steps(workload)
    if workload.ragged:  # rows of several lengths, the padding left out of the comparison
        assert 0 < valid.sum() < valid.size
    check = compare(prepared.output(), reference, workload.dtype, "oracle", valid)
    assert check.ok, check
    prepared.call()  # the timed call runs


def test_denormal_variant_drives_h_subnormal():
    """The denormal case computes what it says: float32 h below the normal range, not 0."""
    wl = VARIANT_CASES[2]
    assert wl.variant == "denormal"
    weights = weights_for(wl)
    h, _ = run_rnn("lstm", make_input(wl), weights.kernel, weights.recurrent_kernel,
                   weights.bias, return_sequences=True)
    tiny = np.finfo(np.float32).tiny
    assert np.all(np.abs(h) < tiny) and np.any(h != 0)


def _float32_exact(a):
    return a.astype(np.float32).astype(np.float64)
