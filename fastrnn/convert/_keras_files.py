"""Readers of Keras model files (h5py and the standard library only, no TensorFlow).

Two formats, one reader each, both feeding :func:`fastrnn.convert._keras.build_model`:

* ``.keras`` (Keras 3, and tf_keras >= 2.13): a zip of ``config.json``,
  ``metadata.json`` and ``model.weights.h5``, whose weights sit at
  ``layers/<name>/vars/<i>`` -- ``<name>`` being the layer class in snake case,
  numbered in model order (``lstm``, ``lstm_1``) -- and for sub-layers below
  it (``cell/vars``, ``cell/cells/<cell name>/vars``, ``forward_layer/...``).
* legacy ``.h5`` (``model.save("m.h5")``): the config is the root attribute
  ``model_config`` and each layer's weights are listed, in ``get_weights()``
  order, by the ``weight_names`` attribute of ``model_weights/<layer name>``.

Configs are parsed with :mod:`json` and weights read as plain arrays: nothing
in a file is ever executed.
"""
import contextlib
import io
import json
import os
import zipfile
import zlib
from typing import Any

import numpy as np

from ._keras import RNN_LAYERS, build_model, is_keras3_version, model_spec, saving_names

__all__ = ["load_keras"]

_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Errors h5py, zipfile and zlib raise on damaged data.
_READ_ERRORS = (OSError, KeyError, RuntimeError, EOFError, zipfile.BadZipFile, zlib.error)


def _h5py():
    try:
        import h5py  # noqa: PLC0415 (optional dependency)
    except ImportError:
        raise ImportError("reading Keras model files needs h5py: pip install 'fastrnn[files]' "
                          "(or pip install h5py)") from None
    return h5py


def load_keras(path: Any) -> Any:
    """Load a Keras model file into a :class:`fastrnn.Sequential`.

    Parameters
    ----------
    path : str, path-like, or a binary file object open for reading
        A ``.keras`` archive or a legacy ``.h5`` full-model file, saved by
        tf.keras 2 (tf_keras) or Keras 3, of a Sequential model (or a
        functional model that is a single chain of layers) made of
        ``InputLayer``, ``Embedding``, ``Masking``, ``SimpleRNN`` / ``LSTM`` /
        ``GRU`` / ``RNN`` (built-in cells), ``Bidirectional``, ``Dense`` and
        ``Dropout`` layers.

    Returns
    -------
    Sequential
        Built, weights loaded: ``model.predict(x)`` gives the Keras model's outputs.

    Raises
    ------
    ValueError
        The file is not a Keras model file, is damaged or truncated, holds a
        weight of the wrong shape, or uses a layer or argument fastrnn does
        not support (named in the message).  Nothing is returned half-loaded.
    ImportError
        h5py is not installed.

    Examples
    --------
    >>> import fastrnn.convert as fc                       # doctest: +SKIP
    >>> model = fc.load_keras("classifier.keras")          # doctest: +SKIP
    >>> probabilities = model.predict(token_ids)           # doctest: +SKIP
    """
    source, file = _source_of(path)
    h5py = _h5py()
    reader = _reader_for(file, source)
    try:
        with reader(file, source, h5py) as (config, version, read_weights):
            spec = model_spec(config, source)
            weights = read_weights(spec)
    except _READ_ERRORS as exc:
        raise ValueError(f"{source}: cannot read the model (damaged, truncated or not a "
                         f"Keras file?): {exc}") from None
    return build_model(spec, weights, is_keras3_version(version), source)


def _source_of(path):
    """``(label for messages, what to open)``: a path, or an open binary file's bytes."""
    if hasattr(path, "read"):
        data = path.read()
        label = str(getattr(path, "name", None) or "<file object>")
        if not isinstance(data, bytes):
            raise TypeError(f"load_keras: {label} must be opened in binary mode ('rb'), its "
                            f"read() returned {type(data).__name__}")
        return label, io.BytesIO(data)
    try:
        source = os.fspath(path)
    except TypeError:
        raise TypeError(f"load_keras: path must be a str, an os.PathLike or a binary file "
                        f"object, got {type(path).__name__}") from None
    return source, source


def _reader_for(file, source):
    """The reader of ``file``'s format, chosen by its first bytes."""
    if isinstance(file, io.BytesIO):
        head = file.getvalue()[:8]
    else:
        with open(file, "rb") as f:
            head = f.read(8)
    if head.startswith(_ZIP_MAGIC):
        return _keras_archive
    if head == _HDF5_MAGIC:
        return _legacy_h5
    raise ValueError(f"{source}: not a Keras model file (neither a .keras zip archive nor "
                     f"an HDF5 .h5 file)")


def _json(data, source, what):
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{source}: {what} is not valid JSON: {exc}") from None


@contextlib.contextmanager
def _keras_archive(file, source, h5py):
    """Yield ``(config, keras_version, read_weights)`` for a ``.keras`` zip archive."""
    try:
        with zipfile.ZipFile(file) as archive:
            names = set(archive.namelist())
            missing = sorted({"config.json", "model.weights.h5"} - names)
            if missing:
                raise ValueError(f"{source}: a zip archive but not a Keras model file "
                                 f"(no {', '.join(missing)})")
            config = _json(archive.read("config.json"), source, "config.json")
            metadata = {}
            if "metadata.json" in names:
                metadata = _json(archive.read("metadata.json"), source, "metadata.json")
            weights_file = io.BytesIO(archive.read("model.weights.h5"))
    except _READ_ERRORS as exc:
        raise ValueError(f"{source}: damaged or truncated .keras archive: {exc}") from None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    with _h5_file(h5py, weights_file, f"{source} (model.weights.h5)") as f:
        yield config, version, lambda spec: _archive_weights(f, spec, source)


@contextlib.contextmanager
def _legacy_h5(file, source, h5py):
    """Yield ``(config, keras_version, read_weights)`` for a legacy ``.h5`` model file."""
    with _h5_file(h5py, file, source) as f:
        raw = f.attrs.get("model_config")
        if raw is None or "model_weights" not in f:
            raise ValueError(f"{source}: an HDF5 file but not a Keras full-model file (no "
                             f"model_config / model_weights; a weights-only file?)")
        config = _json(raw, source, "the model_config attribute")
        yield config, f.attrs.get("keras_version"), lambda spec: _legacy_weights(
            f["model_weights"], spec)


@contextlib.contextmanager
def _h5_file(h5py, file, label):
    try:
        handle = h5py.File(file, "r")
    except _READ_ERRORS as exc:
        raise ValueError(f"{label}: not a readable HDF5 file (truncated?): {exc}") from None
    with handle:
        yield handle


def _text(value):
    return value.decode("utf-8") if isinstance(value, bytes) else str(value)


def _legacy_weights(group, spec):
    """Each layer's arrays, in ``get_weights()`` order, from ``model_weights/<layer name>``."""
    weights = []
    for config in spec.layers:
        layer_group = group.get(config["config"].get("name", ""))
        names = [] if layer_group is None else layer_group.attrs.get("weight_names", [])
        weights.append([np.asarray(layer_group[_text(name)]) for name in names])
    return weights


def _archive_weights(f, spec, source):
    """Each layer's arrays from a ``.keras`` weights file (see the module docstring)."""
    if "layers" not in f:
        raise ValueError(f"{source}: model.weights.h5 has no 'layers' group")
    layers = f["layers"]
    return [_layer_arrays(layers.get(name), config)
            for name, config in zip(spec.saving_names, spec.layers)]


def _layer_arrays(group, config):
    """One layer's arrays in ``get_weights()`` order, from its ``.keras`` group.

    The file holds them sub-layer by sub-layer; ``get_weights()`` (Keras's and
    fastrnn's) lists the trainable ones first when the layer is trainable.
    """
    chunks = _chunks(group, config, True)
    if _trainable(config):
        chunks = [c for c in chunks if c[1]] + [c for c in chunks if not c[1]]
    return [array for arrays, _ in chunks for array in arrays]


def _trainable(config):
    return bool((config.get("config") or {}).get("trainable", True))


def _chunks(group, config, trainable):
    """``(arrays, trainable)`` for each (sub-)layer holding weights, in file structure order."""
    if group is None:
        return []
    trainable = trainable and _trainable(config)
    class_name, inner = config["class_name"], config.get("config") or {}
    if class_name == "Bidirectional":
        backward = inner.get("backward_layer") or inner["layer"]
        return (_chunks(group.get("forward_layer"), inner["layer"], trainable)
                + _chunks(group.get("backward_layer"), backward, trainable))
    if class_name == "RNN":
        return _chunks(group.get("cell"), inner["cell"], trainable)
    if class_name == "StackedRNNCells":  # cells are named like layers: lstm_cell, lstm_cell_1
        cells, groups = inner["cells"], group.get("cells")
        return [chunk for name, cell in zip(saving_names(cells), cells)
                for chunk in _chunks(None if groups is None else groups.get(name), cell,
                                     trainable)]
    if class_name in RNN_LAYERS:  # SimpleRNN / LSTM / GRU: one cell, under the layer's flag
        group = group.get("cell")
    return [] if group is None else [(_vars(group), trainable)]


def _vars(group):
    """The arrays ``vars/0``, ``vars/1``, ... of a group, in that order."""
    variables = group.get("vars")
    if variables is None:
        return []
    return [np.asarray(variables[str(i)]) for i in range(len(variables))]
