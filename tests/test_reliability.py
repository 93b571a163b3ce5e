"""Reliability (issue 12): sizes checked before allocating, clear errors instead of raw
exceptions, and no hangs, for layers, configs and model files.

The damaged configs and files are generated here from the fixtures (see
``corruptions.py``); none is stored.
"""
import io
import json
import shutil
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastrnn as fr
from corruptions import Deep, deeply_nested, fixture, json_text, nested_cells, run_forked
from fastrnn import initializers
from fastrnn.convert import from_keras_config, load_keras
from fastrnn.convert._keras import MAX_LAYERS

h5py = pytest.importorskip("h5py")

#: The most a refused call may allocate (the sizes it refuses are gigabytes to terabytes).
SMALL = 16 * 2**20


def peak_allocation(call):
    """``(exception, peak bytes traced)`` of ``call()``, which must raise."""
    tracemalloc.start()
    try:
        try:
            call()
        except Exception as exc:  # noqa: BLE001 (the caller checks the type)
            error = exc
        else:
            raise AssertionError("the call did not raise")
        return error, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_refused_small(call, exc_type, match):
    error, peak = peak_allocation(call)
    assert isinstance(error, exc_type), repr(error)
    assert match in str(error), str(error)
    assert peak < SMALL, f"allocated {peak} bytes before refusing"


def edit_keras(source, target, edit_config=None, edit_weights=None, metadata=None):
    """Copy a .keras archive, editing its config, weights file or metadata."""
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if edit_config is not None:
        config = json.loads(members["config.json"])
        edit_config(config)
        members["config.json"] = json_text(config).encode()
    if edit_weights is not None:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as weights:
            edit_weights(weights)
        members["model.weights.h5"] = buffer.getvalue()
    if metadata is not None:
        members["metadata.json"] = metadata
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return str(target)


def edit_h5(source, target, edit):
    shutil.copyfile(source, target)
    with h5py.File(target, "r+") as f:
        edit(f)
    return str(target)


def _layers(config):
    return config["config"]["layers"]


# --------------------------------------------------------------------------
# finding 2: sizes checked before anything is allocated
# --------------------------------------------------------------------------

@pytest.mark.parametrize("call,match", [
    (lambda: fr.LSTM(2**40), "units must be a positive integer (at most 2147483647)"),
    (lambda: fr.Dense(2**64), "units must be a positive integer"),
    (lambda: fr.Embedding(2**40, 3), "input_dim"),
    (lambda: fr.LSTM(3).build((1, 2, 2**31)), "input_shape[2] must be an integer in"),
    (lambda: fr.SimpleRNN(3).build((1, 2, 2**30)), "more than this machine's memory"),
    (lambda: fr.GRU(2**20).build((1, 2, 3)), "more than this machine's memory"),
    (lambda: fr.Embedding(2**20, 2**20).build((1, 3)), "more than this machine's memory"),
    (lambda: fr.LSTMCell(2**29).build((1, 3)), "must be an integer in"),   # 4 * units > 2**31
])
def test_layer_sizes_refused_before_allocation(call, match):
    assert_refused_small(call, ValueError, match)


@pytest.mark.parametrize("units", [2147483648, 1e12, 2**20])
def test_model_file_with_huge_units_refused_before_allocation(tmp_path, units):
    def edit(config):
        _layers(config)[1]["config"]["units"] = units
    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "m.keras", edit)
    assert_refused_small(lambda: load_keras(path), ValueError, "'lstm'")


def test_model_file_declaring_a_huge_dataset_refused_before_allocation(tmp_path):
    def edit(weights):     # 8 GiB declared, chunked and never written: the file stays tiny
        del weights["layers/lstm/cell/vars/1"]
        weights.create_dataset("layers/lstm/cell/vars/1", shape=(2**30, 4), dtype="float32",
                               chunks=(1, 1))
    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "m.keras",
                      edit_weights=edit)
    assert_refused_small(lambda: load_keras(path), ValueError, "but stores")


def test_legacy_file_with_matching_huge_config_and_dataset_refused(tmp_path):
    """A config and a dataset that agree on a huge size still cannot make fastrnn allocate."""
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        _layers(config)[-1]["config"]["units"] = 2**28
        f.attrs["model_config"] = json.dumps(config)
        group = f["model_weights/dense/dense"]
        for name in list(group):
            del group[name]
        group.create_dataset("kernel:0", shape=(4, 2**28), dtype="float32", chunks=(1, 1))
        group.create_dataset("bias:0", shape=(2**28,), dtype="float32", chunks=(1,))
    path = edit_h5(fixture("keras2_stacked_lstm.h5"), tmp_path / "m.h5", edit)
    assert_refused_small(lambda: load_keras(path), ValueError, "but stores")


def test_from_keras_config_checks_sizes_before_building():
    config = {"class_name": "LSTM", "config": {"units": 2**28}}
    weights = [np.zeros((3, 8)), np.zeros((2, 8)), np.zeros(8)]
    assert_refused_small(lambda: from_keras_config(config, weights), ValueError,
                         "as its config declares")


def test_loading_runs_no_random_initialiser(monkeypatch):
    """Weights about to be overwritten are not initialised with glorot / orthogonal first."""
    def refuse(self, shape, dtype=None):
        raise AssertionError(f"{type(self).__name__} ran for a weight the file overwrites")
    for name in ("GlorotUniform", "Orthogonal"):
        monkeypatch.setattr(getattr(initializers, name), "__call__", refuse)
    model = load_keras(fixture("keras2_stacked_lstm.h5"))
    lstm = model.layers[0]
    assert lstm.get_config()["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert lstm.get_config()["recurrent_initializer"]["class_name"] == "Orthogonal"
    layer = from_keras_config({"class_name": "GRU", "config": {"units": 2}},
                              [np.ones((3, 6)), np.ones((2, 6)), np.zeros((2, 6))])
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones((3, 6)))


def test_stored_weights_read_in_the_compute_dtype(tmp_path):
    """A float64 layer reads the file's float32 values into float64 exactly."""
    def edit(config):
        _layers(config)[1]["config"]["dtype"] = "float64"
    path = edit_keras(fixture("keras2_stacked_lstm.keras"), tmp_path / "m.keras", edit)
    model = load_keras(path)
    with zipfile.ZipFile(fixture("keras2_stacked_lstm.keras")) as archive:
        with h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r") as weights:
            stored = weights["layers/lstm/cell/vars/0"][()]
    kernel = model.layers[0].weights[0]
    assert stored.dtype == np.float32 and kernel.dtype == np.float64
    np.testing.assert_array_equal(kernel, stored.astype(np.float64))


# --------------------------------------------------------------------------
# finding 3: clear errors instead of raw exceptions
# --------------------------------------------------------------------------

def _set_layer(value):
    def edit(config):
        _layers(config)[1] = value
    return edit


def _drop(*path):
    def edit(config):
        node = config
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
    return edit


@pytest.mark.parametrize("source,edit,match", [
    ("keras3_stacked_lstm.keras", _set_layer("LSTM"), "layers[1] must be a layer config dict"),
    ("keras3_stacked_lstm.keras", _set_layer([1, 2]), "layers[1] must be a layer config dict"),
    ("keras3_stacked_lstm.keras", _set_layer(3), "layers[1] must be a layer config dict"),
    ("keras3_stacked_lstm.keras", _set_layer(None), "layers[1] must be a layer config dict"),
    ("keras3_stacked_lstm.keras", _set_layer({"class_name": 3}), "'class_name' string"),
    ("keras3_stacked_lstm.keras", _set_layer({"class_name": "LSTM", "config": [1]}),
     "its 'config' must be a dict"),
    ("keras3_stacked_lstm.keras", _drop("config", "layers"), "no valid 'layers' list"),
    ("keras3_functional_rnn_cells.keras", _drop("config", "layers", 1, "config", "cell"),
     "has no 'cell' entry"),
    ("keras3_functional_rnn_cells.keras",
     _drop("config", "layers", 1, "config", "cell", "config", "cells"), "has no 'cells' entry"),
    ("keras3_emb_bilstm.keras", _drop("config", "layers", 2, "config", "layer"),
     "has no 'layer' entry"),
    ("keras3_functional_rnn_cells.keras",
     lambda c: _layers(c)[1]["config"].update(cell="LSTMCell"), "must be a layer / cell config"),
    ("keras3_functional_rnn_cells.keras",
     lambda c: _layers(c)[1]["config"]["cell"]["config"].update(cells={"a": 1}),
     "must be a list of cell configs"),
    ("keras3_stacked_lstm.keras", lambda c: _layers(c)[1]["config"].update(units="many"),
     "units must be a positive integer"),
    ("keras3_stacked_lstm.keras", lambda c: _layers(c)[1]["config"].update(name={"a": 1}),
     "name must be a string"),
    ("keras3_stacked_lstm.keras", lambda c: _layers(c)[0]["config"].update(batch_shape="abc"),
     "cannot tell the model's input shape"),
    ("keras3_stacked_lstm.keras",
     lambda c: _layers(c)[0]["config"].update(batch_shape=[None, -4, 3]), "[1] must be"),
    ("keras3_stacked_lstm.keras", lambda c: _layers(c)[1]["config"].update(dtype=[1]),
     "dtype / policy [1] is not supported"),
    ("keras3_stacked_lstm.keras", lambda c: _layers(c)[1]["config"].update(units=Deep(3000)),
     "nested too deeply"),
])
def test_malformed_keras_configs(tmp_path, source, edit, match):
    path = edit_keras(fixture(source), tmp_path / "m.keras", edit)
    with pytest.raises(ValueError) as error:
        load_keras(path)
    assert path in str(error.value) and match in str(error.value), str(error.value)


@pytest.mark.parametrize("value,match", [
    (np.int64(3), "model_config attribute must be one string"),
    (np.arange(4), "model_config attribute must be one string"),
    (np.array([b"{}", b"[]"]), "model_config attribute must be one string"),
    (np.bytes_(json.dumps({"class_name": "Sequential"}).encode("utf-16")),
     "model_config attribute is not valid JSON"),
    (np.bytes_(b'{"class_name": "Seq\0uential", "config": {}}'), "not valid JSON"),
    (json_text({"class_name": "Sequential", "config": {"layers": Deep(5000)}}),
     "nested too deeply"),
])
def test_malformed_legacy_attributes(tmp_path, value, match):
    def edit(f):
        f.attrs["model_config"] = value
    path = edit_h5(fixture("keras2_stacked_lstm.h5"), tmp_path / "m.h5", edit)
    with pytest.raises(ValueError) as error:
        load_keras(path)
    assert path in str(error.value) and match in str(error.value), str(error.value)


def test_model_config_as_a_dataset(tmp_path):
    def edit(f):
        del f.attrs["model_config"]
        f.create_dataset("model_config", data=np.arange(3))
    path = edit_h5(fixture("keras2_stacked_lstm.h5"), tmp_path / "m.h5", edit)
    with pytest.raises(ValueError, match="not a Keras full-model file"):
        load_keras(path)


@pytest.mark.parametrize("version", [np.int64(3), np.arange(2), np.array([b"2", b"3"])])
def test_non_string_keras_version(tmp_path, version):
    def edit(f):
        f.attrs["keras_version"] = version
    path = edit_h5(fixture("keras2_stacked_lstm.h5"), tmp_path / "m.h5", edit)
    with pytest.raises(ValueError, match="keras_version"):
        load_keras(path)
    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "m.keras",
                      metadata=json.dumps({"keras_version": [3]}).encode())
    with pytest.raises(ValueError, match="keras_version must be a string"):
        load_keras(path)
    with pytest.raises(TypeError, match="keras_version must be a string"):
        from_keras_config({"class_name": "LSTM", "config": {"units": 2}}, keras_version=3)


def test_utf16_config_json_is_read_as_json(tmp_path):
    """JSON in UTF-16 (RFC 8259 allows it; Python's json detects it) loads as the UTF-8 file."""
    with zipfile.ZipFile(fixture("keras3_stacked_lstm.keras")) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["config.json"] = json.loads(members["config.json"]) and json.dumps(
        json.loads(members["config.json"])).encode("utf-16")
    path = tmp_path / "m.keras"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    x = np.random.default_rng(0).normal(size=(2, 3, 4)).astype("float32")
    np.testing.assert_array_equal(load_keras(path).predict(x),
                                  load_keras(fixture("keras3_stacked_lstm.keras")).predict(x))


def test_weight_dataset_of_strings_or_a_group(tmp_path):
    def strings(weights):
        del weights["layers/dense/vars/0"]
        weights.create_dataset("layers/dense/vars/0", data=np.array([b"abc"] * 3))

    def group(weights):
        del weights["layers/dense/vars/0"]
        weights.create_group("layers/dense/vars/0")

    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "a.keras",
                      edit_weights=strings)
    with pytest.raises(ValueError, match=r"layers/dense/vars/0: weights must be real numbers"):
        load_keras(path)
    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "b.keras",
                      edit_weights=group)
    with pytest.raises(ValueError, match=r"layers/dense/vars/0: cannot read the model"):
        load_keras(path)


def _built_cell(cls, units=3, features=3):
    cell = cls(units)
    cell.build((None, features))
    return cell


@pytest.mark.parametrize("call,exc_type,match", [
    (lambda: fr.LSTM(3, batch_input_shape="abc"), TypeError, "batch_input_shape must be a tuple"),
    (lambda: fr.LSTM(3, batch_size=-2), ValueError, "batch_size must be an integer in [1,"),
    (lambda: fr.LSTM(3, input_shape=(None, "a")), TypeError, "input_shape[1] must be an integer"),
    (lambda: fr.LSTM(2**64), ValueError, "units must be a positive integer"),
    (lambda: fr.LSTM(3).build("3"), TypeError, "input_shape must be a shape tuple"),
    (lambda: fr.LSTM(3).build(deeply_nested(3000, (1, 2, 3))), ValueError, "nested more than"),
    (lambda: fr.RNN(fr.LSTMCell(3), num_constants="a"), TypeError, "num_constants must be"),
    (lambda: fr.Input(shape="a"), TypeError, "Input shape must be a tuple"),
    (lambda: fr.Input(shape=(None, 3), batch_size=-1), ValueError, "batch_size must be"),
    (lambda: fr.InputLayer(batch_shape=("a", 3)), TypeError, "batch_shape[0] must be"),
    (lambda: fr.LSTM(3, name=7), TypeError, "name must be a string"),
    (lambda: _built_cell(fr.LSTMCell)(np.ones((2, 4)), [np.zeros((2, 3))] * 2), ValueError,
     "inputs of one step must have shape (batch, 3), got (2, 4)"),
    (lambda: _built_cell(fr.LSTMCell)(np.ones((2, 3)), [np.zeros((2, 3))]), ValueError,
     "states must hold 2 state(s)"),
    (lambda: _built_cell(fr.GRUCell)(np.ones((2, 3)), [np.zeros((2, 4))]), ValueError,
     "states[0] must have shape (2, 3), got (2, 4)"),
    (lambda: _built_cell(fr.SimpleRNNCell)(np.full((1, 3), "1"), [np.zeros((1, 3))]), TypeError,
     "inputs must contain real numbers"),
    (lambda: _built_cell(fr.SimpleRNNCell)(np.ones((1, 3)) * 1j, [np.zeros((1, 3))]), TypeError,
     "inputs must contain real numbers"),
    (lambda: _built_cell(fr.LSTMCell)(np.ones((1, 3)), [np.zeros((1, 3)), np.ones((1, 3)) * 1j]),
     TypeError, "states[1] must contain real numbers"),
    (lambda: _built_cell(fr.TfLiteRNNCell)(np.ones((1, 4)), np.zeros((1, 3))), ValueError,
     "inputs of one step must have shape (batch, 3)"),
    (lambda: from_keras_config(nested_cells(3000)), ValueError, "nested more than"),
    (lambda: from_keras_config({"class_name": "LSTM", "config": {"units": 2}}, "w"), TypeError,
     "weights must be a list of arrays"),
])
def test_constructor_build_and_cell_call_errors(call, exc_type, match):
    with pytest.raises(exc_type) as error:
        call()
    assert match in str(error.value), str(error.value)


def test_cell_call_still_computes_the_step():
    """The checks change nothing for valid calls: one SimpleRNN step = tanh(x W + h U + b)."""
    cell = _built_cell(fr.SimpleRNNCell, 2, 3)
    rng = np.random.default_rng(1)
    cell.set_weights([rng.normal(size=(3, 2)), rng.normal(size=(2, 2)), rng.normal(size=2)])
    x, h = rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 2)).astype("float32")
    kernel, recurrent, bias = cell.get_weights()
    output, [state] = cell(x, [h])
    np.testing.assert_allclose(output, np.tanh(x @ kernel + h @ recurrent + bias), rtol=1e-6)
    np.testing.assert_array_equal(state, output)


# --------------------------------------------------------------------------
# finding 4: no hangs
# --------------------------------------------------------------------------

def test_sequential_construction_is_linear(monkeypatch):
    """Adding layer n runs placeholders through that layer only (was: through all n)."""
    calls = []
    original = fr.Dropout.compute_output_shape
    monkeypatch.setattr(fr.Dropout, "compute_output_shape",
                        lambda self, shape: calls.append(1) or original(self, shape))
    count = 2000
    model = fr.Sequential([fr.InputLayer(batch_shape=(None, 3, 4))]
                          + [fr.Dropout(0.1) for _ in range(count)])
    assert len(calls) == count
    assert model.compute_output_shape((None, 3, 4)) == (None, 3, 4)
    model.add(fr.LSTM(2, return_state=True))
    with pytest.raises(ValueError, match="only the last layer"):
        model.add(fr.Dense(1))


def test_absurd_layer_count_refused(tmp_path):
    def edit(config):
        dropout = {"class_name": "Dropout", "config": {"rate": 0.1}}
        _layers(config)[1:1] = [dropout] * MAX_LAYERS
    path = edit_keras(fixture("keras3_stacked_lstm.keras"), tmp_path / "m.keras", edit)
    start = time.perf_counter()
    with pytest.raises(ValueError, match=f"declares {MAX_LAYERS + 4} layers"):
        load_keras(path)
    assert time.perf_counter() - start < 30


def _load_in_child(path):
    """Load ``path`` in a forked child with a time limit: ``(outcome, detail)``."""
    return run_forked(load_keras, str(path), time_limit=60)


def test_zeroed_global_heap_block_is_refused_not_a_hang(tmp_path):
    """Zeroing the second half of the global heap made HDF5 loop forever (HDFGroup/hdf5#1707)."""
    data = bytearray(open(fixture("keras2_stacked_lstm.h5"), "rb").read())
    data[4096:8192] = bytes(4096)
    path = tmp_path / "zeroed.h5"
    path.write_bytes(bytes(data))
    outcome, message = _load_in_child(path)
    assert outcome == "clear" and "issues/1707" in message, (outcome, message)
    outcome, message = run_forked(load_keras, io.BytesIO(bytes(data)), time_limit=60)
    assert outcome == "clear" and "issues/1707" in message, (outcome, message)  # a file object


@pytest.mark.parametrize("name", ["keras2_stacked_lstm.h5", "keras3_emb_bilstm.h5",
                                  "keras2_functional_rnn_cells.h5"])
def test_every_zeroed_block_of_legacy_files_ends(tmp_path, name):
    """Each 4 KiB block zeroed in turn: the load ends, loading or with a ValueError."""
    data = open(fixture(name), "rb").read()
    for start in range(0, len(data), 4096):
        damaged = bytearray(data)
        damaged[start:start + 4096] = bytes(len(damaged[start:start + 4096]))
        path = tmp_path / f"zeroed_{start}.h5"
        path.write_bytes(bytes(damaged))
        outcome, message = _load_in_child(path)
        assert outcome in ("ok", "clear"), (start, outcome, message)
