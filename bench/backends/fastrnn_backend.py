"""fastrnn, the library under test: ``fr.LSTM`` / ``fr.GRU`` / ``fr.SimpleRNN`` on NumPy."""
from __future__ import annotations

from typing import Any, Dict

from .base import BackendUnavailable
from ._keras_api import KerasAPIBackend


def _import():
    try:
        import fastrnn
    except Exception as exc:  # ImportError, or a broken build
        raise BackendUnavailable(f"import fastrnn failed: {exc!r}") from exc
    missing = [c for c in ("LSTM", "GRU", "SimpleRNN") if not hasattr(fastrnn, c)]
    if missing:
        raise BackendUnavailable(f"fastrnn has no {', '.join(missing)} yet")
    return fastrnn


class FastRNNBackend(KerasAPIBackend):
    """fastrnn layers called on NumPy arrays; BLAS pinned with threadpoolctl."""

    name = "fastrnn"
    dtypes = ("float32", "float64")

    @classmethod
    def versions(cls) -> Dict[str, str]:
        fr = _import()
        version = getattr(fr, "__version__", None)
        if version is None:
            from importlib import metadata
            try:
                version = metadata.version("fastrnn")
            except metadata.PackageNotFoundError:
                version = "unknown"
        versions = {"fastrnn": version}
        blas_config = getattr(fr, "_blas_config", None)  # fastrnn's OpenBLAS core-type choice
        if blas_config is not None:
            versions["openblas_coretype_requested"] = str(blas_config.requested_coretype)
        return versions

    def layers(self) -> Any:
        return _import()
