"""Damaged and hostile inputs for the reliability and fuzz tests, generated from a seed.

Everything here makes new files or values from the fixtures in ``tests/fixtures``
(nothing is stored): Keras configs with a node replaced, removed or nested very
deep, model files with zeroed blocks, flipped bytes, truncations, weight datasets
of other shapes or dtypes, datasets that declare more data than the file holds,
and attributes of the wrong type.  Each generator takes a ``random.Random``.
"""
import copy
import io
import json
import multiprocessing
import os
import shutil
import traceback
import zipfile

import numpy as np

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
#: Model files that load (the corruptions start from these).
MODEL_FILES = sorted(
    name for name in os.listdir(FIXTURES)
    if name.startswith(("keras2_", "keras3_", "convert_")) and name.endswith((".h5", ".keras")))
#: Functional (graph) model files that load: nested models, shared layers, several inputs.
GRAPH_MODEL_FILES = sorted(
    name for name in os.listdir(FIXTURES)
    if name.startswith(("k2m_", "k3m_")) and "_bad_" not in name
    and name.endswith((".h5", ".keras")))

#: Values a careless or hostile config / argument might hold.
WEIRD_VALUES = [None, 0, -1, 1, 3, 2**31, 2**40, 2**64, 1e12, -0.5, 2.5, float("nan"),
                float("inf"), True, False, "", "abc", "float16", "LSTM", [], [1, 2], ["a"],
                [None, None, 3], {}, {"class_name": "LSTM"}, {"class_name": 3, "config": []},
                {"class_name": "Dense", "config": None}]


def fixture(name):
    """The path of a fixture file."""
    return os.path.join(FIXTURES, name)


def deeply_nested(depth, leaf=None):
    """A list nested ``depth`` levels deep (a RecursionError for naive recursive code)."""
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def nested_cells(depth):
    """An RNN config whose cell is ``depth`` StackedRNNCells, one inside the other."""
    cell = {"class_name": "LSTMCell", "config": {"units": 2}}
    for _ in range(depth):
        cell = {"class_name": "StackedRNNCells", "config": {"cells": [cell]}}
    return {"class_name": "RNN", "config": {"cell": cell}}


def _nodes(value, path=()):
    """Every ``(path, value)`` inside a JSON-like value, depth first."""
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(item, path + (key,))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _nodes(item, path + (index,))


def _set(root, path, value):
    node = root
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


class Deep:
    """A list nested ``depth`` levels deep, written as such only in JSON text (see
    :func:`json_text`): Python's ``json`` cannot encode deep nesting itself."""

    def __init__(self, depth):
        self.depth = depth


def json_text(config):
    """``json.dumps(config)`` with each :class:`Deep` written as its nested brackets."""
    deep = {}

    def default(value):
        if isinstance(value, Deep):
            marker = f"__deep_{len(deep)}__"
            deep[marker] = "[" * value.depth + "]" * value.depth
            return marker
        raise TypeError(type(value).__name__)

    text = json.dumps(config, default=default)
    for marker, brackets in deep.items():
        text = text.replace(f'"{marker}"', brackets)
    return text


def mutate_config(config, rng, *, as_json=False):
    """A copy of a JSON-like config with one random node replaced, removed or deepened.

    ``as_json``: deep nesting is made as :class:`Deep` markers (for :func:`json_text`).
    """
    config = copy.deepcopy(config)
    paths = [path for path, _ in _nodes(config) if path]
    if not paths:
        return rng.choice(WEIRD_VALUES)
    path = rng.choice(paths)
    action = rng.random()
    if action < 0.55:
        _set(config, path, copy.deepcopy(rng.choice(WEIRD_VALUES)))
    elif action < 0.8:
        parent = config
        for key in path[:-1]:
            parent = parent[key]
        del parent[path[-1]]
    elif action < 0.9:
        depth = rng.choice([50, 500, 3000])
        _set(config, path, Deep(depth) if as_json else deeply_nested(depth))
    else:
        node = config
        for key in path:
            node = node[key]
        _set(config, path, [copy.deepcopy(node)] * rng.randint(2, 4))
    return config


def corrupt_bytes(data, rng):
    """``data`` with a zeroed 4 KiB block, flipped bytes, or cut short."""
    data = bytearray(data)
    action = rng.random()
    if action < 0.4 and len(data) > 4096:
        block = rng.randrange(len(data) // 4096 + 1) * 4096
        data[block:block + 4096] = bytes(len(data[block:block + 4096]))
    elif action < 0.8:
        for _ in range(rng.randint(1, 16)):
            position = rng.randrange(len(data))
            data[position] ^= 1 << rng.randrange(8)
    else:
        data = data[:rng.randrange(len(data))]
    return bytes(data)


def _json_bytes(config, rng):
    """A config as JSON bytes, sometimes in an encoding or with bytes Keras never writes."""
    text = json_text(config)
    action = rng.random()
    if action < 0.1:
        return text.encode("utf-16")
    if action < 0.2:
        position = rng.randrange(len(text) + 1)
        return (text[:position] + "\0" + text[position:]).encode()
    if action < 0.25:
        return text.encode()[:rng.randrange(len(text))]
    return text.encode()


def edit_weights_file(weights, rng):
    """Damage one weight dataset of an open h5py file (shape, dtype, size, or kind)."""
    import h5py
    datasets = []
    weights.visititems(lambda name, obj: datasets.append(name)
                       if isinstance(obj, h5py.Dataset) else None)
    if not datasets:
        return
    name = rng.choice(datasets)
    old = weights[name]
    shape = old.shape
    del weights[name]
    action = rng.random()
    if action < 0.25:    # another shape
        shape = tuple(max(0, d + rng.choice([-1, 1, 5])) for d in shape) or (3,)
        weights.create_dataset(name, data=np.ones(shape, "float32"))
    elif action < 0.4:   # strings or a compound dtype
        if rng.random() < 0.5:
            weights.create_dataset(name, data=np.array([b"abc"] * 3))
        else:
            weights.create_dataset(name, data=np.zeros(3, [("a", "f4"), ("b", "i4")]))
    elif action < 0.6:   # a huge declared shape with (almost) no data: chunked, unwritten
        big = (rng.choice([2**20, 2**31, 2**40]), rng.choice([1, 2**20]))
        weights.create_dataset(name, shape=big, dtype="float32", chunks=(1, 1))
    elif action < 0.7:   # a group where a dataset should be
        weights.create_group(name)
    elif action < 0.8:   # complex or float16 values
        weights.create_dataset(name, data=np.ones(shape, "complex64" if rng.random() < 0.5
                                                  else "float16"))
    else:                # a scalar
        weights.create_dataset(name, data=np.float32(1))


def keras_archive(source, target, rng):
    """A damaged copy of a ``.keras`` archive at ``target``."""
    import h5py
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    part = rng.random()
    if part < 0.35:
        config = mutate_config(json.loads(members["config.json"]), rng, as_json=True)
        members["config.json"] = _json_bytes(config, rng)
    elif part < 0.45:
        metadata = json.loads(members.get("metadata.json", b"{}"))
        metadata["keras_version"] = copy.deepcopy(rng.choice(WEIRD_VALUES))
        members["metadata.json"] = _json_bytes(metadata, rng)
    elif part < 0.7:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as weights:
            edit_weights_file(weights, rng)
        members["model.weights.h5"] = buffer.getvalue()
    elif part < 0.85:
        members["model.weights.h5"] = corrupt_bytes(members["model.weights.h5"], rng)
    elif part < 0.9:
        del members[rng.choice(sorted(members))]
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    if part >= 0.9:   # damage the archive itself
        with open(target, "rb") as f:
            data = f.read()
        with open(target, "wb") as f:
            f.write(corrupt_bytes(data, rng))


def legacy_h5(source, target, rng):
    """A damaged copy of a legacy ``.h5`` model file at ``target``."""
    import h5py
    part = rng.random()
    if part < 0.45:
        with open(source, "rb") as f:
            data = f.read()
        with open(target, "wb") as f:
            f.write(corrupt_bytes(data, rng))
        return
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as f:
        if part < 0.65:
            config = mutate_config(json.loads(f.attrs["model_config"]), rng, as_json=True)
            f.attrs["model_config"] = np.bytes_(_json_bytes(config, rng))
        elif part < 0.75:
            f.attrs["model_config"] = rng.choice([np.int64(3), np.arange(4),
                                                  np.array([b"{}", b"[]"]), np.float32(1)])
            if rng.random() < 0.3:
                del f.attrs["model_config"]
                f.create_dataset("model_config", data=np.arange(3))
        elif part < 0.85:
            version = rng.choice([np.int64(3), np.arange(2), np.array([b"2", b"3"]), b"\xff",
                                  "3.1"])
            f.attrs["keras_version"] = version
        else:
            edit_weights_file(f["model_weights"], rng)


def damaged_model_file(rng, directory, files=MODEL_FILES):
    """Write one damaged model file (from a random one of ``files``) into ``directory``;
    its path."""
    name = rng.choice(files)
    target = os.path.join(directory, "damaged" + os.path.splitext(name)[1])
    (keras_archive if name.endswith(".keras") else legacy_h5)(fixture(name), target, rng)
    return target


# --------------------------------------------------------------------------
# running a call in a child process, under a time limit
# --------------------------------------------------------------------------

def _child(target, args, connection):
    import warnings
    warnings.simplefilter("ignore")
    try:
        target(*args)
        outcome = ("ok", "")
    except (ValueError, TypeError) as exc:
        outcome = ("clear", f"{type(exc).__name__}: {exc}"[:600])
    except BaseException as exc:  # noqa: BLE001 (what the callers look for)
        outcome = ("raw", "".join(traceback.format_exception(type(exc), exc,
                                                             exc.__traceback__))[-1500:])
    connection.send(outcome)
    connection.close()


def run_forked(target, *args, time_limit=30):
    """Run ``target(*args)`` in a forked child; ``(outcome, detail)``.

    outcome: ``ok`` (returned), ``clear`` (ValueError / TypeError), ``raw``
    (any other exception), ``crash`` (the child died: a signal) or ``hang``
    (no result within ``time_limit`` seconds; the child is killed).
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(target, args, sender))
    process.start()
    sender.close()
    if receiver.poll(time_limit):
        try:
            result = receiver.recv()
        except EOFError:
            result = None
    else:
        result = ("hang", f"no result within {time_limit} s")
    process.join(5)
    if process.is_alive():
        process.kill()
        process.join()
    if result is None:
        result = ("crash", f"exit code {process.exitcode}")
    return result
