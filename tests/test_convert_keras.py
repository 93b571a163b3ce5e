"""fastrnn.convert against real tf.keras output, from committed fixtures (no TensorFlow needed).

Model files (``.keras`` and legacy ``.h5``) were saved by tf_keras 2.21 and Keras 3.15
(``fixtures/make_keras_fixtures.py``, ``fixtures/make_convert_fixtures.py``); layer cases
are tf_keras layers' configs, weights, inputs and outputs.
"""
import importlib.util
import io
import json
import os
import shutil
import sys
import zipfile

import numpy as np
import pytest

import fastrnn as fr
from fastrnn import activations
from fastrnn.convert import from_keras_config, load_keras

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from load_keras_cases import flatten, load_layer_cases, load_model_arrays  # noqa: E402

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
ATOL = 1e-5
KERAS_VERSIONS = ["keras2", "keras3"]
MODELS = ["emb_bilstm", "masking_gru_simplernn", "stacked_lstm", "functional_rnn_cells"]
FORMATS = [".keras", ".h5"]
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional")

needs_h5py = pytest.mark.skipif(importlib.util.find_spec("h5py") is None,
                                reason="h5py is needed to read Keras model files")


def fixture(name):
    return os.path.join(FIXTURES, name)


def assert_close(got, want):
    """Within 1e-5 absolute, scaled up for values above 1 (float32 keeps ~7 digits)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL * scale)


@pytest.fixture(scope="module")
def model_arrays():
    return {prefix: load_model_arrays(prefix) for prefix in KERAS_VERSIONS}


@pytest.fixture(scope="module")
def convert_arrays():
    with np.load(fixture("convert_models.npz")) as data:
        return {key: data[key] for key in data.files}


# --------------------------------------------------------------------------
# model files saved by tf.keras
# --------------------------------------------------------------------------

@needs_h5py
@pytest.mark.parametrize("prefix", KERAS_VERSIONS)
def test_emb_bilstm_keras_file_predicts_as_tf_keras(prefix, model_arrays):
    """Done criterion: Embedding(mask_zero) -> Bidirectional(LSTM) -> Dense from a .keras file."""
    arrays = model_arrays[prefix]["emb_bilstm"]
    model = load_keras(fixture(f"{prefix}_emb_bilstm.keras"))
    assert isinstance(model, fr.Sequential)
    assert [type(layer).__name__ for layer in model.layers] == [
        "Embedding", "Bidirectional", "Dense"]
    assert_close(model.predict(arrays["x"]), arrays["y"])


@needs_h5py
@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("model_name", MODELS)
@pytest.mark.parametrize("prefix", KERAS_VERSIONS)
def test_model_files(prefix, model_name, ext, model_arrays):
    arrays = model_arrays[prefix][model_name]
    model = load_keras(fixture(f"{prefix}_{model_name}{ext}"))
    weights = model.get_weights()
    assert len(weights) == len(arrays["weights"])
    for got, want in zip(weights, arrays["weights"]):
        np.testing.assert_array_equal(got, want)
    x = arrays["x"]
    assert_close(model.predict(x), arrays["y"])
    assert_close(model(x), arrays["y"])
    assert_close(model.predict(x, batch_size=2), arrays["y"])


@needs_h5py
@pytest.mark.parametrize("ext", FORMATS)
@pytest.mark.parametrize("model_name", ["bidir_merges", "hard_sigmoid"])
@pytest.mark.parametrize("prefix", ["convert_k2", "convert_k3"])
def test_convert_fixture_files(prefix, model_name, ext, convert_arrays):
    model = load_keras(fixture(f"{prefix}_{model_name}{ext}"))
    key = f"{prefix}_{model_name}"
    assert_close(model.predict(convert_arrays[key + "/x"]), convert_arrays[key + "/y"])


@needs_h5py
@pytest.mark.parametrize("prefix,expected", [("convert_k2", activations.hard_sigmoid),
                                             ("convert_k3", activations.keras3_hard_sigmoid)])
def test_hard_sigmoid_means_what_the_files_keras_means(prefix, expected):
    for ext in FORMATS:
        lstm = load_keras(fixture(f"{prefix}_hard_sigmoid{ext}")).layers[0]
        assert lstm.recurrent_activation is expected


@needs_h5py
def test_loaded_model_config_round_trip(model_arrays):
    arrays = model_arrays["keras3"]["emb_bilstm"]
    model = load_keras(fixture("keras3_emb_bilstm.keras"))
    copy = fr.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    copy.set_weights(model.get_weights())
    assert_close(copy.predict(arrays["x"]), arrays["y"])


# --------------------------------------------------------------------------
# from_keras_config
# --------------------------------------------------------------------------

LAYER_CASES = [case for case in load_layer_cases() if case["class_name"] in RECURRENT]


def run_case(layer, case):
    """Replay a layer case's calls; returns (got, want) output lists, one pair per call."""
    pairs = []
    for index, call in enumerate(case["calls"]):
        if call["op"] == "reset_states":
            layer.reset_states(call.get("states"))
            continue
        if index > 0 and "keras_differs_from_fastrnn" in case["tags"]:
            break  # documented difference: tf.keras ignores initial_state on stateful reuse
        out = layer(call["x"], mask=call["mask"], initial_state=call["initial_state"],
                    **call["kwargs"])
        pairs.append((flatten(out), flatten(call["outputs"])))
    return pairs


@pytest.mark.parametrize("case", LAYER_CASES, ids=[case["name"] for case in LAYER_CASES])
def test_from_keras_config_layer_cases(case):
    full_form = {"class_name": case["class_name"], "config": case["config"]}
    for config in (full_form, case["config"]):  # and the bare get_config() dict
        layer = from_keras_config(config, case["weights"], keras_version="2.21.0")
        assert type(layer).__name__ == case["class_name"]
        for got, want in run_case(layer, case):
            assert len(got) == len(want)
            for g, w in zip(got, want):
                assert_close(g, w)


def test_from_keras_config_with_keras3_layer_configs(model_arrays):
    """The layer configs of a Keras 3 file, one by one, chained by hand with their masks."""
    with zipfile.ZipFile(fixture("keras3_emb_bilstm.keras")) as archive:
        layer_configs = json.loads(archive.read("config.json"))["config"]["layers"][1:]
    arrays = model_arrays["keras3"]["emb_bilstm"]
    weights = list(arrays["weights"])
    counts = [1, 6, 2]
    layers = []
    for config, count in zip(layer_configs, counts):
        layers.append(from_keras_config(config, weights[:count]))
        del weights[:count]
    embedding, bidirectional, dense = layers
    ids = arrays["x"]
    hidden = bidirectional(embedding(ids), mask=embedding.compute_mask(ids))
    assert_close(dense(hidden), arrays["y"])
    assert bidirectional.forward_layer.name == "forward_lstm"


def test_from_keras_config_without_weights_builds_on_first_call():
    layer = from_keras_config({"class_name": "LSTM", "config": {"units": 3}})
    assert not layer.built
    assert layer(np.ones((2, 4, 5), "float32")).shape == (2, 3)


def test_keras3_hard_sigmoid_from_a_config_dict():
    config = {"units": 2, "recurrent_activation": "hard_sigmoid", "unit_forget_bias": True,
              "dtype": {"class_name": "DTypePolicy", "config": {"name": "float32"}}}
    assert from_keras_config(config).recurrent_activation is activations.keras3_hard_sigmoid
    assert from_keras_config(config, keras_version="2.15").recurrent_activation is \
        activations.hard_sigmoid
    config["dtype"] = "float32"
    assert from_keras_config(config).recurrent_activation is activations.hard_sigmoid


@pytest.mark.parametrize("config,match", [
    ({"class_name": "Conv2D", "config": {"name": "conv", "filters": 2}},
     "unsupported layer 'Conv2D'"),
    ({"class_name": "Lambda", "config": {"name": "fn", "function": "x"}},
     "unsupported layer 'Lambda'"),
    ({"class_name": "RNN", "config": {"name": "r", "cell": {"class_name": "MinimalRNNCell",
                                                           "config": {}}}},
     "unsupported cell 'MinimalRNNCell'"),
    ({"class_name": "LSTM", "config": {"name": "l", "units": 2, "activation": "gelu"}},
     r"'l' \(LSTM\).*gelu"),
    ({"class_name": "LSTM", "config": {"name": "l", "units": 2, "unknown_flag": True}},
     "unknown_flag"),
    ({"class_name": "Dense", "config": {"name": "d", "units": 2, "lora_rank": 4}},
     "lora_rank=4"),
    ({"class_name": "GRU", "config": {"name": "g", "units": 2, "dtype": {
        "class_name": "DTypePolicy", "config": {"name": "float16"}}}}, "float16"),
    ({"units": 3}, "cannot tell which Keras layer"),
])
def test_from_keras_config_refuses_what_it_cannot_honour(config, match):
    with pytest.raises(ValueError, match=match):
        from_keras_config(config)


def test_from_keras_config_checks_weight_shapes():
    config = {"class_name": "GRU", "config": {"units": 2}}
    good = [np.zeros((3, 6)), np.zeros((2, 6)), np.zeros((2, 6))]
    with pytest.raises(ValueError, match=r"shapes \[\(3, 6\), \(2, 6\), \(2, 6\)\].*\(6,\)"):
        from_keras_config(config, good[:2] + [np.zeros(6)])
    with pytest.raises(ValueError, match="3 weights"):
        from_keras_config(config, good[:2])
    assert from_keras_config(config, good).built


# --------------------------------------------------------------------------
# bad files
# --------------------------------------------------------------------------

@needs_h5py
@pytest.mark.parametrize("name,match", [
    ("bad_truncated.keras", "truncated"),
    ("bad_not_keras.keras", "not a Keras model file"),
    ("bad_not_hdf5.h5", "not a Keras model file"),
    ("bad_wrong_shape.h5", r"layer 'dense' \(Dense\).*\(11, 3\)"),
    ("bad_wrong_shape.keras", r"layer 'dense' \(Dense\).*\(12, 3\)"),
    ("k3m_bad_unsupported.keras", "unsupported layer 'Conv1DTranspose'"),
    ("k3m_bad_unsupported.h5", "unsupported layer 'Conv1DTranspose'"),
    ("k3m_bad_lambda.keras", "'double' is a Lambda layer"),
])
def test_bad_fixture_files(name, match):
    import h5py
    open_objects = h5py.h5f.get_obj_count()
    with pytest.raises(ValueError, match=match) as error:
        load_keras(fixture(name))
    assert name in str(error.value)
    assert h5py.h5f.get_obj_count() == open_objects  # nothing left open


def rewrite_keras(source, target, edit_config=None, edit_weights=None):
    """Copy a .keras archive, editing its config dict and / or its weights h5 file."""
    import h5py
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    if edit_config is not None:
        config = json.loads(members["config.json"])
        edit_config(config)
        members["config.json"] = json.dumps(config).encode()
    if edit_weights is not None:
        buffer = io.BytesIO(members["model.weights.h5"])
        with h5py.File(buffer, "r+") as weights:
            edit_weights(weights)
        members["model.weights.h5"] = buffer.getvalue()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


def _set_lambda(config):
    config["config"]["layers"][2] = {
        "class_name": "Lambda",
        "config": {"name": "evil", "function": ["4wEAAAAAAAAA", None, None],
                   "function_type": "lambda"}}


def _break_graph(config):
    config["config"]["layers"][3]["inbound_nodes"][0]["args"][0]["config"][
        "keras_history"][0] = "nowhere"


@needs_h5py
@pytest.mark.parametrize("source,edit_config,edit_weights,match", [
    ("keras2_stacked_lstm.keras", _set_lambda, None, "unsupported layer 'Lambda'"),
    ("keras3_functional_rnn_cells.keras", _break_graph, None,
     "call 0 of layer 'nowhere', which the config does not have"),
    ("keras3_stacked_lstm.keras",
     lambda c: c["config"]["layers"][3]["config"].update(lora_rank=2), None, "lora_rank=2"),
    ("keras3_stacked_lstm.keras", lambda c: c.update(class_name="Model3D"), None,
     "unsupported model class"),
    ("keras3_stacked_lstm.keras", None, lambda w: w.__delitem__("layers/dense"),
     r"'dense' \(Dense\) has 2 weights.*0 weights"),
    ("keras3_stacked_lstm.keras", None, lambda w: w.__delitem__("layers/lstm_1/cell/vars/0"),
     "cannot read the model"),
])
def test_bad_generated_keras_archives(tmp_path, source, edit_config, edit_weights, match):
    path = rewrite_keras(fixture(source), tmp_path / "model.keras", edit_config, edit_weights)
    with pytest.raises(ValueError, match=match):
        load_keras(path)


def _freeze_forward_lstm(config):
    config["config"]["layers"][2]["config"]["layer"]["config"]["trainable"] = False


def _freeze_first_cell(config):
    config["config"]["layers"][1]["config"]["cell"]["config"]["cells"][0]["config"][
        "trainable"] = False


@needs_h5py
@pytest.mark.parametrize("model_name,freeze", [("emb_bilstm", _freeze_forward_lstm),
                                               ("functional_rnn_cells", _freeze_first_cell)])
def test_frozen_sublayers_get_their_own_weights(tmp_path, model_arrays, model_name, freeze):
    """get_weights() lists trainable weights first; a .keras file stores them by sub-layer."""
    path = rewrite_keras(fixture(f"keras3_{model_name}.keras"), tmp_path / "frozen.keras",
                         edit_config=freeze)
    arrays = model_arrays["keras3"][model_name]
    model = load_keras(path)
    assert_close(model.predict(arrays["x"]), arrays["y"])
    assert not np.array_equal(model.get_weights()[1], arrays["weights"][1])  # order changed


@needs_h5py
def test_truncated_and_weights_only_h5(tmp_path):
    import h5py
    data = open(fixture("keras2_stacked_lstm.h5"), "rb").read()
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.h5"):
        load_keras(truncated)
    weights_only = tmp_path / "weights_only.h5"
    shutil.copyfile(fixture("keras2_stacked_lstm.h5"), weights_only)
    with h5py.File(weights_only, "r+") as f:
        del f.attrs["model_config"]
    with pytest.raises(ValueError, match="weights-only"):
        load_keras(weights_only)


@needs_h5py
def test_invalid_config_json(tmp_path):
    path = tmp_path / "bad_json.keras"
    with zipfile.ZipFile(fixture("keras2_stacked_lstm.keras")) as source, \
            zipfile.ZipFile(path, "w") as target:
        for name in source.namelist():
            target.writestr(name, b"{not json" if name == "config.json" else source.read(name))
    with pytest.raises(ValueError, match="config.json is not valid JSON"):
        load_keras(path)


def test_missing_h5py_is_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ImportError, match=r"fastrnn\[files\]"):
        load_keras(fixture("keras2_stacked_lstm.keras"))
