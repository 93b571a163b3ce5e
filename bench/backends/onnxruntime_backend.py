"""ONNX Runtime: one ``LSTM`` / ``GRU`` / ``RNN`` node built with ``onnx.helper`` (opset 14).

The graph's input ``X`` is time-major ``[T, B, I]`` (ONNX's default ``layout=0``) and its
output ``Y`` is ``[T, num_directions=1, B, H]``; the transposition to and from the Keras
batch-major layout happens outside the timed region (at B=1 it is free anyway).
Weight mapping from Keras layout:

- LSTM: ONNX gate order (i, o, f, c) from Keras (i, f, c, o); ``W = kernel.T``,
  ``R = recurrent_kernel.T`` as ``[1, 4H, I]`` / ``[1, 4H, H]``; ``B = [Wb, Rb]`` of
  shape ``[1, 8H]`` with ``Wb = bias``, ``Rb = 0``.
- GRU: ONNX (z, r, h) is Keras's order; ``linear_before_reset=1`` is Keras
  ``reset_after=True``; ``B = [bias[0], bias[1]]``.
- RNN: the default Tanh activation.

Streaming feeds ``initial_h`` (and ``initial_c``) and reads back ``Y_h`` (and ``Y_c``).
Variable lengths (``lengths`` variant) feed the node's ``sequence_lens`` input (int32).
Sessions are created with ``intra_op_num_threads=n, inter_op_num_threads=1`` and
otherwise default options (sequential execution, all graph optimisations).
"""
from __future__ import annotations

from typing import Any, Dict, List, Tuple

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from ..weights import KerasWeights, make_lengths, reorder_gates
from ..workloads import Workload
from .base import Backend, Prepared, sequence_case, streaming_case

OPSET = 14
# onnx.helper.make_model stamps the newest IR version it knows (14 with onnx 1.23), which
# ONNX Runtime 1.31 rejects; IR 8 is the one of opset 14, accepted by every ORT that runs it.
IR_VERSION = 8

#: Position k of ONNX's gate blocks holds Keras gate ORDER[cell][k].
ORDER: Dict[str, Tuple[int, ...]] = {"LSTM": (0, 3, 1, 2), "GRU": (0, 1, 2), "SimpleRNN": (0,)}
OP = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}


def onnx_weights(weights: KerasWeights, cell: str) -> Dict[str, np.ndarray]:
    """Keras-layout weights as the ``W``, ``R``, ``B`` inputs of an ONNX recurrent node."""
    order, h = ORDER[cell], weights.units
    w = reorder_gates(weights.kernel, order, h).T[None]
    r = reorder_gates(weights.recurrent_kernel, order, h).T[None]
    b = np.concatenate([reorder_gates(weights.input_bias, order, h),
                        reorder_gates(weights.recurrent_bias, order, h)])[None]
    return {name: np.ascontiguousarray(a, dtype=np.float32)
            for name, a in (("W", w), ("R", r), ("B", b))}


def build_model(wl: Workload, weights: KerasWeights) -> onnx.ModelProto:
    """A one-node model computing ``wl``: ``Y`` for sequences, ``Y_h`` (, ``Y_c``) with
    state inputs for streaming."""
    lstm = wl.cell == "LSTM"
    steps = 1 if wl.streaming else wl.steps
    state_names = ["h", "c"] if lstm else ["h"]

    def value(name: str, shape: List[int]) -> onnx.ValueInfoProto:
        return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)

    state_shape = [1, wl.batch, wl.units]
    inputs = [value("X", [steps, wl.batch, wl.input_size])]
    node_inputs = ["X", "W", "R", "B", ""]  # "" = no sequence_lens
    if wl.variant == "lengths":
        inputs.append(helper.make_tensor_value_info("sequence_lens", TensorProto.INT32,
                                                    [wl.batch]))
        node_inputs[4] = "sequence_lens"
    if wl.streaming:
        inputs += [value(f"initial_{s}", state_shape) for s in state_names]
        node_inputs += [f"initial_{s}" for s in state_names]
        node_outputs = [""] + [f"Y_{s}" for s in state_names]
        outputs = [value(f"Y_{s}", state_shape) for s in state_names]
    else:
        node_outputs = ["Y"]
        outputs = [value("Y", [steps, 1, wl.batch, wl.units])]
    attrs: Dict[str, Any] = {"hidden_size": wl.units}
    if wl.cell == "GRU":
        attrs["linear_before_reset"] = 1
    node = helper.make_node(OP[wl.cell], node_inputs, node_outputs, **attrs)
    initializers = [numpy_helper.from_array(a, name)
                    for name, a in onnx_weights(weights, wl.cell).items()]
    graph = helper.make_graph([node], wl.id, inputs, outputs, initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="fastrnn-bench")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    return model


def make_session(model: onnx.ModelProto, threads: int) -> ort.InferenceSession:
    """A CPU session with ``threads`` intra-op threads and one inter-op thread."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), options,
                                providers=["CPUExecutionProvider"])


class OnnxRuntimeBackend(Backend):
    """ONNX Runtime's CPU execution provider, float32."""

    name = "onnxruntime"
    variants = ("", "denormal", "lengths")

    @classmethod
    def versions(cls) -> Dict[str, str]:
        return {"onnxruntime": ort.__version__, "onnx": onnx.__version__}

    def set_threads(self, n: int) -> str:
        return f"SessionOptions intra_op_num_threads={n}, inter_op_num_threads=1"

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        session = make_session(build_model(wl, weights), threads)
        time_major = np.ascontiguousarray(x.transpose(1, 0, 2), dtype=np.float32)
        if not wl.streaming:
            fixed = ({"sequence_lens": make_lengths(wl).astype(np.int32)}
                     if wl.variant == "lengths" else {})

            def run(xt: np.ndarray) -> np.ndarray:
                return session.run(["Y"], {"X": xt, **fixed})[0]

            return sequence_case(run, time_major,
                                 lambda y: y[:, 0].transpose(1, 0, 2))  # [T,1,B,H] -> [B,T,H]

        names = ["h", "c"] if wl.cell == "LSTM" else ["h"]
        outputs = [f"Y_{s}" for s in names]
        zero = {f"initial_{s}": np.zeros((1, wl.batch, wl.units), np.float32) for s in names}
        feed: Dict[str, np.ndarray] = {}

        def reset() -> None:
            feed.update(zero)

        def step(xt: np.ndarray) -> np.ndarray:
            feed["X"] = xt
            states = session.run(outputs, feed)
            for s, v in zip(names, states):
                feed[f"initial_{s}"] = v
            return states[0]

        reset()
        return streaming_case(reset, step, [time_major[t:t + 1] for t in range(wl.check_steps)])
