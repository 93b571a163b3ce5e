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
import mmap
import os
import zipfile
import zlib
from typing import Any, Dict, Optional

import numpy as np

from .. import _validation as check
from ._graph import CONTAINER_LAYERS, container_chunks
from ._keras import (RNN_LAYERS, build_model, is_keras3_version, model_spec, saving_names,
                     split_config)

__all__ = ["load_keras"]

_ZIP_MAGIC = b"PK\x03\x04"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
#: Errors h5py, zipfile and zlib raise on damaged data.
_READ_ERRORS = (OSError, KeyError, RuntimeError, EOFError, OverflowError, zipfile.BadZipFile,
                zlib.error)
#: Largest config.json / metadata.json / model_config read (a 20,000-layer config is 1.5 MB).
MAX_CONFIG_BYTES = 64 * 2**20
#: A compressed weight dataset may expand at most this much (zlib's own limit is ~1000).
_MAX_COMPRESSION_RATIO = 1100


def _h5py():
    try:
        import h5py  # noqa: PLC0415 (optional dependency)
    except ImportError:
        raise ImportError("reading Keras model files needs h5py: pip install 'fastrnn[files]' "
                          "(or pip install h5py)") from None
    return h5py


def load_keras(path: Any, custom_objects: Optional[Dict[str, Any]] = None) -> Any:
    """Load a Keras model file into a :class:`fastrnn.Sequential` or a functional
    :class:`fastrnn.convert.Model`.

    Parameters
    ----------
    path : str, path-like, or a binary file object open for reading
        A ``.keras`` archive or a legacy ``.h5`` full-model file, saved by
        tf.keras 2 (tf_keras) or Keras 3, of a Sequential or functional model
        (any graph: several inputs / outputs, shared layers, nested models,
        ``return_state`` -> ``initial_state``) made of the layers listed in the
        README ("Supported layers"): recurrent layers, ``Embedding``,
        ``Masking``, ``Dense``, ``Conv1D``, pooling, normalization, merging,
        attention, reshaping layers and ``TimeDistributed``.

    custom_objects : dict, optional
        ``class name -> fastrnn layer class`` for layers of your own in the file
        (built with ``cls.from_config(config)``); nothing else is executed.

    Returns
    -------
    Sequential or fastrnn.convert.Model
        Built, weights loaded: ``model.predict(x)`` gives the Keras model's outputs
        (a :class:`fastrnn.convert.Model` for functional graphs, nested models and
        mixed-precision policies).

    Raises
    ------
    ValueError
        The file is not a Keras model file, is damaged or truncated, holds a
        weight of the wrong shape (or one that declares more data than the
        file stores or the machine's memory holds), or uses a layer or
        argument fastrnn does not support (named in the message).  Sizes are
        checked before anything is allocated; nothing is returned half-loaded.
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
            spec = model_spec(config, source, custom_objects)
            keras3 = is_keras3_version(_version_text(version, source))
            weights = read_weights(spec)   # shapes and dtypes only: read after the checks
            return build_model(spec, weights, keras3, source, custom_objects)
    except _READ_ERRORS as exc:
        raise ValueError(f"{source}: cannot read the model (damaged, truncated or not a "
                         f"Keras file?): {exc}") from None


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
    """Parse ``data`` (str or bytes) as JSON; ``ValueError`` naming ``what`` otherwise."""
    if isinstance(data, np.ndarray) and data.shape == ():
        data = data[()]
    if isinstance(data, (np.bytes_, np.str_)):
        data = data.item()
    if not isinstance(data, (str, bytes)):
        raise ValueError(f"{source}: {what} must be a JSON string, got "
                         f"{type(data).__name__}{getattr(data, 'shape', '')}")
    if len(data) > MAX_CONFIG_BYTES:
        raise ValueError(f"{source}: {what} is {len(data)} bytes long (at most "
                         f"{MAX_CONFIG_BYTES})")
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ValueError(f"{source}: {what} is not valid JSON: {exc}") from None
    except RecursionError:
        raise ValueError(f"{source}: {what} is nested too deeply") from None


def _version_text(version, source):
    """A file's ``keras_version`` as text (None when absent); ``ValueError`` if not a string."""
    if isinstance(version, np.ndarray) and version.shape == ():
        version = version[()]
    if isinstance(version, (bytes, np.bytes_)):
        return bytes(version).decode("utf-8", "replace")
    if version is None or isinstance(version, str):
        return version
    raise ValueError(f"{source}: keras_version must be a string, got {version!r}")


def _member(archive, name, limit, source):
    """The bytes of archive member ``name``, refused before reading if declared over ``limit``."""
    size = archive.getinfo(name).file_size
    if size > limit:
        raise ValueError(f"{source}: {name} declares {size} bytes uncompressed (at most "
                         f"{limit} are read)")
    return archive.read(name)


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
            config = _json(_member(archive, "config.json", MAX_CONFIG_BYTES, source), source,
                           "config.json")
            metadata = {}
            if "metadata.json" in names:
                metadata = _json(_member(archive, "metadata.json", MAX_CONFIG_BYTES, source),
                                 source, "metadata.json")
            weights_bytes = _member(archive, "model.weights.h5", check.memory_limit() // 4,
                                    source)
    except _READ_ERRORS as exc:
        raise ValueError(f"{source}: damaged or truncated .keras archive: {exc}") from None
    version = metadata.get("keras_version") if isinstance(metadata, dict) else None
    label = f"{source} (model.weights.h5)"
    check_global_heaps(weights_bytes, label)
    with _h5_file(h5py, io.BytesIO(weights_bytes), label) as f:
        yield config, version, lambda spec: _archive_weights(f, spec, source, h5py)


@contextlib.contextmanager
def _legacy_h5(file, source, h5py):
    """Yield ``(config, keras_version, read_weights)`` for a legacy ``.h5`` model file."""
    if isinstance(file, io.BytesIO):
        check_global_heaps(file.getvalue(), source)
    else:
        with open(file, "rb") as raw_file, contextlib.closing(
                mmap.mmap(raw_file.fileno(), 0, access=mmap.ACCESS_READ)) as view:
            check_global_heaps(view, source)
    with _h5_file(h5py, file, source) as f:
        if "model_config" not in f.attrs or not isinstance(f.get("model_weights"), h5py.Group):
            raise ValueError(f"{source}: an HDF5 file but not a Keras full-model file (no "
                             f"model_config / model_weights; a weights-only file?)")
        config = _json(_string_attribute(f, "model_config", source), source,
                       "the model_config attribute")
        version = (_string_attribute(f, "keras_version", source)
                   if "keras_version" in f.attrs else None)
        yield config, version, lambda spec: _legacy_weights(f["model_weights"], spec, source,
                                                            h5py)


def _string_attribute(obj, name, source):
    """A scalar string attribute, its type and size checked before it is read."""
    attr = obj.attrs.get_id(name)
    kind = attr.dtype.kind
    if attr.shape not in ((), (1,)) or kind not in "OSU":
        raise ValueError(f"{source}: the {name} attribute must be one string, got "
                         f"{attr.dtype} of shape {attr.shape}")
    if kind != "O" and attr.dtype.itemsize > MAX_CONFIG_BYTES:
        raise ValueError(f"{source}: the {name} attribute is {attr.dtype.itemsize} bytes long "
                         f"(at most {MAX_CONFIG_BYTES})")
    value = obj.attrs[name]
    if isinstance(value, np.ndarray):
        value = value.reshape(-1)[0] if value.size == 1 else value
    return value


def check_global_heaps(data, label):
    """Refuse an HDF5 image whose global heap would make HDF5 loop forever.

    Variable-length strings (a legacy file's ``model_config``) live in global
    heap collections ("GCOL").  HDF5 (1.14 and 2.0, h5py 3.15 and 3.16) walks a
    collection object by object and, on a free-space object of size 0 (a
    zeroed block), never advances: the read never returns and cannot be
    interrupted (upstream: https://github.com/HDFGroup/hdf5/issues/1707).
    This walks every collection the same way first, in bounded time, and
    raises a ``ValueError`` where HDF5 would hang.
    """
    lengths = _size_of_lengths(data)
    start = data.find(b"GCOL")
    while start != -1:
        header = data[start:start + 8 + lengths]
        if len(header) == 8 + lengths and header[4] == 1:
            size = int.from_bytes(header[8:], "little")
            if 4096 <= size <= len(data) - start:
                _walk_heap(data, start, size, lengths, label)
        start = data.find(b"GCOL", start + 4)


def _size_of_lengths(data):
    """Bytes per length field, from the superblock (8, HDF5's default, when unreadable)."""
    signature = data.find(b"\x89HDF\r\n\x1a\n", 0, 4096)
    if signature == -1 or len(data) < signature + 16:
        return 8
    version = data[signature + 8]
    size = data[signature + (14 if version < 2 else 10)]
    return size if size in (2, 4, 8) else 8


def _walk_heap(data, start, size, lengths, label):
    """Follow one collection's objects as HDF5 does; ``ValueError`` if a step does not advance."""
    object_header = 8 + lengths          # index (2), reference count (2), reserved (4), size
    position, end = start + 8 + lengths, start + size
    while position < end:
        if position + object_header > end:
            return                       # the tail is free space
        index = int.from_bytes(data[position:position + 2], "little")
        length = int.from_bytes(data[position + 8:position + object_header], "little")
        step = length if index == 0 else object_header + -(-length // 8) * 8
        if step == 0:
            raise ValueError(f"{label}: damaged HDF5 file (a global heap holds an empty "
                             f"free-space record at byte {position}; HDF5 would loop forever "
                             f"reading it, https://github.com/HDFGroup/hdf5/issues/1707)")
        position += step


@contextlib.contextmanager
def _h5_file(h5py, file, label):
    try:
        handle = h5py.File(file, "r")
    except _READ_ERRORS as exc:
        raise ValueError(f"{label}: not a readable HDF5 file (truncated?): {exc}") from None
    with handle:
        yield handle


def _text(value):
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


class StoredArray:
    """A weight dataset of a model file: shape and dtype checked now, values read on demand.

    Refused here (``ValueError`` naming the file and the dataset): a non-numeric
    dtype, a dimension over BLAS's limit, data kept outside the file (external
    or virtual datasets), and a dataset that declares more bytes than it
    stores (a tiny file cannot make fastrnn allocate gigabytes).
    """

    def __init__(self, dataset, label, h5py):
        if not isinstance(dataset, h5py.Dataset):
            found = "nothing" if dataset is None else f"a {type(dataset).__name__}"
            raise ValueError(f"{label}: cannot read the model: expected a weight dataset "
                             f"there, found {found} (damaged file?)")
        if dataset.dtype.kind not in "biuf":
            raise ValueError(f"{label}: weights must be real numbers, got dtype {dataset.dtype}")
        if dataset.external or dataset.is_virtual:
            raise ValueError(f"{label}: weights stored outside the file are not read")
        try:
            self.shape = check.shape_tuple(dataset.shape, "its shape", allow_none=False)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{label}: {exc}") from None
        declared = int(np.prod(self.shape, dtype=object)) * dataset.dtype.itemsize
        stored = dataset.id.get_storage_size()
        ratio = 1 if dataset.compression is None and not dataset.shuffle else \
            _MAX_COMPRESSION_RATIO
        if declared > stored * ratio:
            raise ValueError(f"{label}: declares {declared} bytes of weights of shape "
                             f"{self.shape} but stores {stored} (damaged or crafted file)")
        self.dtype = dataset.dtype
        self._dataset, self._label = dataset, label

    def read(self, dtype):
        """The values as a new array of ``dtype`` (converted while reading: one allocation)."""
        out = np.empty(self.shape, dtype)
        if out.size:
            try:
                self._dataset.read_direct(out)
            except _READ_ERRORS as exc:
                raise ValueError(f"{self._label}: cannot read the weights: {exc}") from None
        return out


def _group(parent, name, h5py):
    """``parent[name]`` if it is an HDF5 group, else None."""
    if not isinstance(name, str) or not isinstance(parent, h5py.Group):
        return None
    child = parent.get(name)
    return child if isinstance(child, h5py.Group) else None


def _legacy_weights(group, spec, source, h5py):
    """Each layer's arrays, in ``get_weights()`` order, from ``model_weights/<layer name>``."""
    weights = []
    for config in spec.layers:
        name = (config.get("config") or {}).get("name", "")
        layer_group = _group(group, name, h5py)
        label = f"{source}: model_weights/{name}"
        names = [] if layer_group is None else layer_group.attrs.get("weight_names", [])
        names = np.asarray(names)
        if names.ndim != 1 or (names.size and names.dtype.kind not in "OSU"):
            raise ValueError(f"{label}: weight_names must be a list of strings, got "
                             f"{names.dtype} of shape {names.shape}")
        weights.append([StoredArray(layer_group.get(_text(n)), f"{label}/{_text(n)}", h5py)
                        for n in names])
    return weights


def _archive_weights(f, spec, source, h5py):
    """Each layer's arrays from a ``.keras`` weights file (see the module docstring)."""
    layers = _group(f, "layers", h5py)
    if layers is None:
        raise ValueError(f"{source}: model.weights.h5 has no 'layers' group")
    return [_layer_arrays(_group(layers, name, h5py), config, f"{source}: layers/{name}", h5py)
            for name, config in zip(spec.saving_names, spec.layers)]


def _layer_arrays(group, config, label, h5py):
    """One layer's arrays in ``get_weights()`` order, from its ``.keras`` group.

    The file holds them sub-layer by sub-layer; ``get_weights()`` (Keras's and
    fastrnn's) lists the trainable ones first when the layer is trainable.
    """
    chunks = _chunks(group, config, True, label, h5py)
    if _trainable(config):
        chunks = [c for c in chunks if c[1]] + [c for c in chunks if not c[1]]
    return [array for arrays, _ in chunks for array in arrays]


def _trainable(config):
    return bool((config.get("config") or {}).get("trainable", True))


def _chunks(group, config, trainable, label, h5py):
    """``(arrays, trainable)`` for each (sub-)layer holding weights, in file structure order.

    ``config`` has been checked by ``model_spec`` (nested layers and cells present).
    """
    if group is None:
        return []
    trainable = trainable and _trainable(config)
    class_name, inner = split_config(config, label)
    if class_name == "Bidirectional":
        backward = inner.get("backward_layer") or inner["layer"]
        return (_chunks(_group(group, "forward_layer", h5py), inner["layer"], trainable,
                        f"{label}/forward_layer", h5py)
                + _chunks(_group(group, "backward_layer", h5py), backward, trainable,
                          f"{label}/backward_layer", h5py))
    if class_name == "RNN":
        return _chunks(_group(group, "cell", h5py), inner["cell"], trainable, f"{label}/cell",
                       h5py)
    if class_name == "StackedRNNCells":  # cells are named like layers: lstm_cell, lstm_cell_1
        cells, groups = inner["cells"], _group(group, "cells", h5py)
        return [chunk for name, cell in zip(saving_names(cells), cells)
                for chunk in _chunks(_group(groups, name, h5py), cell, trainable,
                                     f"{label}/cells/{name}", h5py)]
    if class_name in CONTAINER_LAYERS:  # TimeDistributed, nested models: sub-groups
        return container_chunks(group, config, trainable,
                                lambda sub, sub_config: _layer_arrays(sub, sub_config, label,
                                                                      h5py))
    if class_name in RNN_LAYERS:  # SimpleRNN / LSTM / GRU: one cell, under the layer's flag
        group, label = _group(group, "cell", h5py), f"{label}/cell"
    return [] if group is None else [(_vars(group, label, h5py), trainable)]


def _vars(group, label, h5py):
    """The arrays ``vars/0``, ``vars/1``, ... of a group, in that order."""
    variables = _group(group, "vars", h5py)
    if variables is None:
        return []
    return [StoredArray(variables.get(str(i)), f"{label}/vars/{i}", h5py)
            for i in range(len(variables))]
