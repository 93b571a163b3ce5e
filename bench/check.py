"""Cross-checking a backend's output against the reference before it is timed.

Outputs are hidden states in (-1, 1) (tanh), so an absolute tolerance is the natural
one. A backend whose maximum absolute difference exceeds the tolerance is reported with
that difference and is not timed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

#: Maximum absolute difference allowed, by the dtype the backend computed in.
TOLERANCE = {"float32": 1e-4, "float64": 1e-9}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one comparison."""

    max_abs_err: float
    tol: float
    against: str

    @property
    def ok(self) -> bool:
        return bool(np.isfinite(self.max_abs_err)) and self.max_abs_err <= self.tol

    def to_dict(self) -> dict:
        return {"max_abs_err": self.max_abs_err, "tol": self.tol, "against": self.against,
                "ok": self.ok}


def compare(output, reference: np.ndarray, dtype: str, against: str,
            valid: Optional[np.ndarray] = None) -> CheckResult:
    """Compare ``output`` (any array-like of the reference's shape) with ``reference``.

    ``valid``: a boolean array of the leading ``(batch, steps)`` dimensions; only the
    outputs where it is True are compared (the padding of variable-length rows is left
    undefined: each library fills it its own way).
    """
    out = np.asarray(output, dtype=np.float64)
    if out.shape != reference.shape:
        raise ValueError(f"output shape {out.shape} != reference shape {reference.shape}")
    diff = np.abs(out - reference)
    if valid is not None:
        diff = diff[valid]
    err = float(np.max(diff)) if diff.size else 0.0
    if np.isnan(err):
        err = float("inf")
    return CheckResult(err, TOLERANCE[dtype], against)
