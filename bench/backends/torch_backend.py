"""PyTorch: ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` (batch_first) under ``torch.inference_mode()``.

Weight mapping from Keras layout (``reorder`` = permutation of Keras gate blocks):

- LSTM: Keras (i, f, c, o) is torch (i, f, g, o): ``weight_ih = kernel.T``,
  ``weight_hh = recurrent_kernel.T``, ``bias_ih = bias``, ``bias_hh = 0``.
- GRU (Keras ``reset_after=True``): Keras (z, r, h) -> torch (r, z, n), and torch's
  ``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))`` is Keras's reset-after candidate:
  ``bias_ih = bias[0]``, ``bias_hh = bias[1]``, all reordered.
- SimpleRNN: ``torch.nn.RNN`` (tanh), transposed kernels.

Streaming passes ``hx`` (``(h, c)`` for LSTM) back in at every call. Variable lengths
(``lengths`` variant): the timed call packs the padded batch with
``pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)`` and runs the
module on it, as a user with a padded batch would; the output is unpacked for the check.
"""
from __future__ import annotations

from typing import Any, Dict, Tuple

import numpy as np
import torch

from ..weights import KerasWeights, make_lengths, reorder_gates
from ..workloads import Workload
from .base import Backend, Prepared, sequence_case, streaming_case

#: Position k of torch's gate blocks holds Keras gate ORDER[cell][k].
ORDER: Dict[str, Tuple[int, ...]] = {"LSTM": (0, 1, 2, 3), "GRU": (1, 0, 2), "SimpleRNN": (0,)}
MODULE = {"LSTM": "LSTM", "GRU": "GRU", "SimpleRNN": "RNN"}

try:  # inter-op parallelism is not used by one recurrent module; fix it once, first
    torch.set_num_interop_threads(1)
except RuntimeError:  # already set, or parallel work already started
    pass


def torch_state_dict(weights: KerasWeights, cell: str) -> Dict[str, np.ndarray]:
    """Keras-layout weights as the parameters of a one-layer torch module."""
    order, h = ORDER[cell], weights.units
    return {
        "weight_ih_l0": reorder_gates(weights.kernel, order, h).T,
        "weight_hh_l0": reorder_gates(weights.recurrent_kernel, order, h).T,
        "bias_ih_l0": reorder_gates(weights.input_bias, order, h),
        "bias_hh_l0": reorder_gates(weights.recurrent_bias, order, h),
    }


class TorchBackend(Backend):
    """PyTorch CPU modules in float32."""

    name = "torch"
    variants = ("", "denormal", "lengths")

    @classmethod
    def versions(cls) -> Dict[str, str]:
        return {"torch": torch.__version__}

    def set_threads(self, n: int) -> str:
        torch.set_num_threads(n)
        return (f"torch.set_num_threads({n}) (get_num_threads()={torch.get_num_threads()}), "
                f"interop threads {torch.get_num_interop_threads()}")

    def prepare(self, wl: Workload, weights: KerasWeights, x: np.ndarray,
                threads: int) -> Prepared:
        torch.set_num_threads(threads)
        module = getattr(torch.nn, MODULE[wl.cell])(wl.input_size, wl.units, batch_first=True)
        params = {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32))
                  for k, v in torch_state_dict(weights, wl.cell).items()}
        module.load_state_dict(params)
        module.eval()
        native = torch.from_numpy(x.astype(np.float32))
        if wl.variant == "lengths":
            return _packed_case(module, native, torch.from_numpy(make_lengths(wl)))
        if not wl.streaming:
            def run(xt: torch.Tensor) -> torch.Tensor:
                with torch.inference_mode():
                    return module(xt)[0]

            return sequence_case(run, native, np.asarray)

        carried: Dict[str, Any] = {"hx": None}

        def reset() -> None:
            carried["hx"] = None

        def step(xt: torch.Tensor) -> torch.Tensor:
            with torch.inference_mode():
                y, carried["hx"] = module(xt, carried["hx"])
            return y

        inputs = [torch.from_numpy(np.ascontiguousarray(x[:, t:t + 1], dtype=np.float32))
                  for t in range(wl.check_steps)]
        return streaming_case(reset, step, inputs)


def _packed_case(module: torch.nn.Module, x: torch.Tensor, lengths: torch.Tensor) -> Prepared:
    """A padded batch with per-row ``lengths`` through ``pack_padded_sequence``."""
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    def run(xt: torch.Tensor) -> Any:
        with torch.inference_mode():
            packed = pack_padded_sequence(xt, lengths, batch_first=True, enforce_sorted=False)
            return module(packed)[0]

    def unpack(y: Any) -> np.ndarray:
        return pad_packed_sequence(y, batch_first=True, total_length=x.shape[1])[0].numpy()

    return sequence_case(run, x, unpack)
