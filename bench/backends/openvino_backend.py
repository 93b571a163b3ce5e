"""OpenVINO: one ``LSTMSequence`` / ``GRUSequence`` / ``RNNSequence`` node (``openvino.opset13``)
compiled for the CPU plugin.

The node's input ``X`` is batch-major ``[B, T, I]`` like Keras's, its output ``Y`` is
``[B, num_directions=1, T, H]`` and its final states ``Ho`` / ``Co`` are ``[B, 1, H]``.
Weight mapping from Keras layout (``W = kernel.T``, ``R = recurrent_kernel.T`` as
``[1, gates*H, I]`` / ``[1, gates*H, H]``, gate blocks reordered):

- LSTM: OpenVINO gate order (f, i, c, o) from Keras (i, f, c, o); ``B = bias`` ``[1, 4H]``.
- GRU: OpenVINO (z, r, h) is Keras's order; ``linear_before_reset=True`` is Keras
  ``reset_after=True``, whose ``B`` is ``[1, 4H]``: the z and r biases summed over input
  and recurrent, then the candidate's input bias, then its recurrent bias (applied
  inside ``r * (h R_h + b)``).
- RNN: the default tanh; ``B = bias``.

``sequence_lengths`` is a constant ``T`` for every row; sequence cases start from
constant zero states. Streaming compiles a one-step model whose states are inputs and
feeds ``Ho`` (and ``Co``) back at every call, as ONNX Runtime's backend does.

Compiled with ``INFERENCE_NUM_THREADS = n``, ``INFERENCE_PRECISION_HINT = f32`` (on CPUs
with AVX-512-BF16 or AMX the plugin otherwise runs in bf16), one stream, the latency hint
and ``ENABLE_CPU_PINNING = False`` (the plugin binds its threads to cores by default; no
other backend does, and on a shared machine a bound thread cannot leave a core another
job holds). The properties are read back from every compiled model, and a model that
does not run in f32 with ``n`` threads is an error rather than a figure.
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np
import openvino as ov
from openvino import opset13 as ops

from ..weights import KerasWeights, make_weights, reorder_gates
from ..workloads import Workload
from .base import Backend, BackendUnavailable, Prepared, sequence_case, streaming_case

#: Position k of OpenVINO's gate blocks holds Keras gate ORDER[cell][k].
ORDER: Dict[str, Tuple[int, ...]] = {"LSTM": (1, 0, 2, 3), "GRU": (0, 1, 2), "SimpleRNN": (0,)}

DEVICE = "CPU"
PRECISION = "f32"


def openvino_weights(weights: KerasWeights, cell: str) -> Dict[str, np.ndarray]:
    """Keras-layout weights as the ``W``, ``R``, ``B`` inputs of an OpenVINO sequence node."""
    order, h = ORDER[cell], weights.units
    w = reorder_gates(weights.kernel, order, h).T[None]
    r = reorder_gates(weights.recurrent_kernel, order, h).T[None]
    bias = reorder_gates(weights.input_bias, order, h)
    if cell == "GRU":  # linear_before_reset: [b_z, b_r (input + recurrent), b_in_h, b_rec_h]
        recurrent = reorder_gates(weights.recurrent_bias, order, h)
        bias = np.concatenate([bias[:2 * h] + recurrent[:2 * h], bias[2 * h:], recurrent[2 * h:]])
    return {name: np.ascontiguousarray(a, dtype=np.float32)
            for name, a in (("W", w), ("R", r), ("B", bias[None]))}


def build_model(wl: Workload, weights: KerasWeights) -> ov.Model:
    """A one-node model computing ``wl``: ``Y`` for sequences; for streaming, ``Ho``
    (, ``Co``) from the inputs ``X``, ``initial_h`` (, ``initial_c``)."""
    steps = 1 if wl.streaming else wl.steps
    n_states = 2 if wl.cell == "LSTM" else 1
    state_shape = [wl.batch, 1, wl.units]
    x = ops.parameter([wl.batch, steps, wl.input_size], np.float32, name="X")
    params = [x]
    if wl.streaming:
        states = [ops.parameter(state_shape, np.float32, name=f"initial_{s}")
                  for s in "hc"[:n_states]]
        params += states
    else:
        states = [ops.constant(np.zeros(state_shape, np.float32)) for _ in range(n_states)]
    lengths = ops.constant(np.full(wl.batch, steps, np.int32))
    wrb = [ops.constant(a) for a in openvino_weights(weights, wl.cell).values()]
    if wl.cell == "LSTM":
        node = ops.lstm_sequence(x, *states, lengths, *wrb, wl.units, "forward")
    elif wl.cell == "GRU":
        node = ops.gru_sequence(x, *states, lengths, *wrb, wl.units, "forward",
                                linear_before_reset=True)
    else:
        node = ops.rnn_sequence(x, *states, lengths, *wrb, wl.units, "forward")
    outputs = [node.output(1 + k) for k in range(n_states)] if wl.streaming else [node.output(0)]
    return ov.Model(outputs, params, wl.id)


def compile_for(model: ov.Model, threads: int) -> Tuple[ov.CompiledModel, Dict[str, str]]:
    """``model`` compiled for the CPU with ``threads`` threads in f32; the properties read
    back from the compiled model. Raises RuntimeError if they are not what was asked."""
    config = {"INFERENCE_NUM_THREADS": threads, "INFERENCE_PRECISION_HINT": PRECISION,
              "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY", "ENABLE_CPU_PINNING": False}
    compiled = ov.Core().compile_model(model, DEVICE, config)
    read = {key: _text(compiled.get_property(key)) for key in
            ("INFERENCE_NUM_THREADS", "INFERENCE_PRECISION_HINT", "NUM_STREAMS",
             "ENABLE_CPU_PINNING")}
    if read["INFERENCE_PRECISION_HINT"] != PRECISION or read["INFERENCE_NUM_THREADS"] != str(threads):
        raise RuntimeError(f"OpenVINO compiled with {read}, asked for {threads} threads in "
                           f"{PRECISION}")
    return compiled, read


def _text(value: Any) -> str:
    """A property value as text (an element type by its short name, ``f32``)."""
    return value.to_string() if isinstance(value, ov.Type) else str(value)


class OpenVINOBackend(Backend):
    """OpenVINO's CPU plugin, float32 forced."""

    name = "openvino"

    @classmethod
    def versions(cls) -> Dict[str, str]:
        core = ov.Core()
        if DEVICE not in core.available_devices:
            raise BackendUnavailable(f"no {DEVICE} device (devices: {core.available_devices})")
        capabilities = core.get_property(DEVICE, "OPTIMIZATION_CAPABILITIES")
        return {"openvino": ov.get_version(), "device": core.get_property(DEVICE, "FULL_DEVICE_NAME"),
                "capabilities": " ".join(capabilities)}

    def set_threads(self, n: int) -> str:
        probe = Workload("LSTM", 1, 2, 4, 4)
        _, read = compile_for(build_model(probe, make_weights("LSTM", 4, 4)), n)
        return (f"compile_model(INFERENCE_NUM_THREADS={n}, INFERENCE_PRECISION_HINT={PRECISION}, "
                "NUM_STREAMS=1, PERFORMANCE_HINT=LATENCY, ENABLE_CPU_PINNING=False); read back: "
                + ", ".join(f"{k}={v}" for k, v in read.items()))

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        compiled, _ = compile_for(build_model(wl, weights), threads)
        request = compiled.create_infer_request()
        if not wl.streaming:
            def run(xs: np.ndarray) -> np.ndarray:
                return request.infer({0: xs}, share_inputs=True)[0]

            return sequence_case(run, np.ascontiguousarray(x, dtype=np.float32),
                                 lambda y: y[:, 0])  # [B, 1, T, H] -> [B, T, H]

        n_states = 2 if wl.cell == "LSTM" else 1
        zero = [np.zeros((wl.batch, 1, wl.units), np.float32) for _ in range(n_states)]
        carried: List[Any] = list(zero)

        def reset() -> None:
            carried[:] = zero

        def step(xt: np.ndarray) -> np.ndarray:
            result = request.infer([xt, *carried], share_inputs=True)
            carried[:] = [result[k] for k in range(n_states)]  # copies (share_outputs=False)
            return carried[0]

        inputs = [np.ascontiguousarray(x[:, t:t + 1], dtype=np.float32)
                  for t in range(wl.check_steps)]
        return streaming_case(reset, step, inputs)
