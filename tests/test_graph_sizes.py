"""Functional (graph) model files declaring huge or wrong sizes: a clear ``ValueError``
naming the layer, the declared and the stored shapes, before anything sized by the
declared value is allocated (issue 12, finding 2, for the graph loader).

The files are the fixtures with one config value or dataset changed, or small functional
models written here (:func:`functional_keras`); none is stored.
"""
import io
import json
import re
import tracemalloc
import zipfile

import numpy as np
import pytest

import fastrnn as fr
from corruptions import fixture, json_text
from fastrnn.convert import from_keras_config, load_keras
from fastrnn.convert._graph import needs_graph
from fastrnn.convert._keras import saving_names, set_layer_weights
from test_reliability import assert_refused_small, edit_h5, edit_keras

h5py = pytest.importorskip("h5py")

#: A size that passes every per-argument check but whose weights need gigabytes.
HUGE = 2**28


def _layer(config, name):
    """The layer config named ``name`` in a model config (nested models searched too)."""
    stack = [config]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if (node.get("name") or (node.get("config") or {}).get("name")) == name and \
                    "class_name" in node:
                return node
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    raise KeyError(name)


def _set(name, *path_and_value):
    """An edit setting ``config[path...] = value`` in the layer config named ``name``."""
    *path, value = path_and_value

    def edit(config):
        target = _layer(config, name)["config"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


def _both_directions(key, value):
    def edit(config):
        bidirectional = _layer(config, "bidirectional")["config"]
        for side in ("layer", "backward_layer"):
            if side in bidirectional:
                bidirectional[side]["config"][key] = value
    return edit


# --------------------------------------------------------------------------
# the graph fixtures, one declared size made huge
# --------------------------------------------------------------------------

GRAPH_EDITS = [
    ("k3m_tagger.keras", _set("embedding", "input_dim", HUGE), "'embedding'"),
    ("k3m_tagger.keras", _set("time_distributed", "layer", "config", "units", HUGE),
     "'time_distributed'"),
    ("k3m_tagger.keras", _set("lstm", "units", 2**20), "'lstm'"),
    ("k3m_nested_functional.keras", _set("gru", "units", 2**20), "'gru'"),
    ("k3m_text_attention.keras", _both_directions("units", 2**20), "'bidirectional'"),
    ("k3m_text_attention.keras", _set("dense", "units", HUGE), "'dense'"),
    ("k3m_two_inputs.keras", _set("scores", "units", HUGE), "'scores'"),
    ("k3m_seq2seq.keras", _set("lstm_1", "units", 2**20), "'lstm_1'"),
    ("k3m_shared_nested.keras", _set("dense_1", "units", HUGE), "'dense_1'"),
    ("k3m_residual_ops.keras", _set("dense", "units", HUGE), "'dense'"),
    ("k3m_masked_merges.keras", _set("gru_1", "units", 2**20), "'gru_1'"),
]


@pytest.mark.parametrize("name,edit,layer", GRAPH_EDITS,
                         ids=[f"{n}-{layer}" for n, _, layer in GRAPH_EDITS])
def test_graph_file_with_a_huge_declared_size_refused_before_allocation(tmp_path, name, edit,
                                                                         layer):
    path = edit_keras(fixture(name), tmp_path / name, edit)
    with zipfile.ZipFile(path) as archive:
        assert needs_graph(json.loads(archive.read("config.json")))   # the graph loader
    assert_refused_small(lambda: load_keras(path), ValueError, layer)
    with pytest.raises(ValueError, match="as its config declares") as info:
        load_keras(path)
    assert "were given" in str(info.value)          # declared and stored shapes, both named


@pytest.mark.parametrize("value", [2**31, 2**64, 1e12])
def test_graph_file_with_an_out_of_range_size_names_the_argument(tmp_path, value):
    path = edit_keras(fixture("k3m_two_inputs.keras"), tmp_path / "m.keras",
                      _set("scores", "units", value))
    assert_refused_small(lambda: load_keras(path), ValueError, "units")


LEGACY_EDITS = [
    ("k2m_tagger.h5", "embedding", "input_dim"),
    ("k2m_tagger.h5", "lstm", "units"),
    ("k2m_two_inputs.h5", "scores", "units"),
]


@pytest.mark.parametrize("name,layer,key", LEGACY_EDITS)
def test_legacy_graph_file_with_a_huge_declared_size_refused(tmp_path, name, layer, key):
    def edit(f):
        config = json.loads(f.attrs["model_config"])
        _layer(config, layer)["config"][key] = HUGE if key != "units" or layer != "lstm" \
            else 2**20
        f.attrs["model_config"] = json.dumps(config)
    path = edit_h5(fixture(name), tmp_path / name, edit)
    assert_refused_small(lambda: load_keras(path), ValueError, f"'{layer}'")


def test_graph_file_declaring_other_small_sizes_gives_the_shapes(tmp_path):
    """A mismatch that needs no memory at all is reported the same way (and not crashed on)."""
    path = edit_keras(fixture("k3m_tagger.keras"), tmp_path / "m.keras",
                      _set("layer_normalization", "axis", [1, 2]))     # (T, units) not (units,)
    with pytest.raises(ValueError, match="'layer_normalization'"):
        load_keras(path)
    path = edit_keras(fixture("k3m_text_attention.keras"), tmp_path / "a.keras",
                      _set("attention", "score_mode", "concat"))       # one weight more
    with pytest.raises(ValueError, match=r"'attention' \(Attention\) has 2 weights"):
        load_keras(path)


def _replace_dataset(path, shape):
    def edit(weights):
        del weights[path]
        weights.create_dataset(path, data=np.zeros(shape, "float32"))
    return edit


@pytest.mark.parametrize("name,dataset,shape,layer", [
    ("k3m_tagger.keras", "layers/embedding/vars/0", (25, 7), "'embedding'"),
    ("k3m_tagger.keras", "layers/layer_normalization/vars/1", (3,), "'layer_normalization'"),
    ("k3m_text_attention.keras", "layers/attention/vars/0", (2,), "'attention'"),
    ("k3m_nested_functional.keras", "layers/functional/layers/gru/cell/vars/1", (4, 5),
     "'gru'"),
])
def test_graph_file_with_mismatched_weight_shapes(tmp_path, name, dataset, shape, layer):
    path = edit_keras(fixture(name), tmp_path / name, edit_weights=_replace_dataset(dataset,
                                                                                      shape))
    with pytest.raises(ValueError, match=layer):
        load_keras(path)


def test_legacy_graph_file_with_mismatched_weight_shapes(tmp_path):
    group = "model_weights/time_distributed/time_distributed"
    path = edit_h5(fixture("k2m_tagger.h5"), tmp_path / "m.h5",
                   lambda f: (f[group].__delitem__("kernel:0"),
                              f[group].create_dataset("kernel:0", data=np.zeros((8, 5)))))
    with pytest.raises(ValueError, match="'time_distributed'"):
        load_keras(path)


# --------------------------------------------------------------------------
# small functional models written here: every layer kind with weights
# --------------------------------------------------------------------------

def _tensor(name):
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, 0, 0]}}


def functional_keras(path, batch_shape, layers):
    """A Keras 3 ``.keras`` file: one input, each of ``layers`` called on it, every output
    returned (several outputs: the graph loader).

    ``layers``: ``(class_name, config, weights, takes_pair)``; ``weights`` are the
    arrays stored (``vars/0``, ``vars/1``, ...); ``takes_pair``: called on ``[x, x]``.
    """
    entries = [{"class_name": "InputLayer", "name": "x", "inbound_nodes": [],
                "config": {"batch_shape": list(batch_shape), "dtype": "float32", "name": "x"}}]
    for class_name, config, _, takes_pair in layers:
        args = [[_tensor("x"), _tensor("x")]] if takes_pair else [_tensor("x")]
        entries.append({"module": "keras.layers", "class_name": class_name,
                        "name": config["name"], "config": config,
                        "inbound_nodes": [{"args": args, "kwargs": {}}]})
    model = {"class_name": "Functional", "config": {
        "name": "crafted", "layers": entries, "input_layers": ["x", 0, 0],
        "output_layers": [[config["name"], 0, 0] for _, config, _, _ in layers]}}
    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as weights:
        names = saving_names([{"class_name": c} for c, _, _, _ in layers])
        for group, (class_name, _, arrays, _) in zip(names, layers):
            cell = "cell/" if class_name in ("SimpleRNN", "LSTM", "GRU") else ""
            variables = weights.create_group(f"layers/{group}/{cell}vars")
            for i, array in enumerate(arrays):
                variables.create_dataset(str(i), data=np.asarray(array, "float32"))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", json_text(model))
        archive.writestr("metadata.json", json.dumps({"keras_version": "3.6.0"}))
        archive.writestr("model.weights.h5", buffer.getvalue())
    return str(path)


#: ``(class, config, weights for batch shape (None, 6, 4))``: each a layer with weights.
KINDS = [
    ("Dense", {"units": 3}, [np.ones((4, 3)), np.arange(3.0)], False),
    ("Conv1D", {"filters": 5, "kernel_size": 2}, [np.ones((2, 4, 5)), np.arange(5.0)], False),
    ("LayerNormalization", {"axis": -1}, [np.full(4, 2.0), np.arange(4.0)], False),
    ("BatchNormalization", {"axis": -1},
     [np.full(4, 2.0), np.arange(4.0), np.arange(4.0), np.full(4, 4.0)], False),
    ("Attention", {"use_scale": True}, [np.array(0.5)], True),
    ("AdditiveAttention", {"use_scale": True}, [np.arange(4.0)], True),
    ("SimpleRNN", {"units": 2}, [np.ones((4, 2)), np.eye(2), np.zeros(2)], False),
]
#: The declared size of each kind made huge (its stored weights unchanged).
HUGE_EDITS = {"Dense": ("units", HUGE), "Conv1D": ("filters", HUGE),
              "SimpleRNN": ("units", 2**20)}


def _kinds(edit=None):
    layers = []
    for class_name, config, weights, pair in KINDS:
        config = dict(config, name=class_name.lower())
        if edit is not None and edit[0] == class_name:
            config[edit[1]] = edit[2]
        layers.append((class_name, config, weights, pair))
    return layers


def test_crafted_functional_model_loads_and_computes(tmp_path):
    """The generator writes what the loader reads: each output equals the layer itself."""
    path = functional_keras(tmp_path / "m.keras", (None, 6, 4), _kinds())
    model = load_keras(path)
    x = np.random.default_rng(0).normal(size=(2, 6, 4)).astype(np.float32)
    for (class_name, config, weights, pair), output in zip(_kinds(), model(x)):
        layer = getattr(fr, class_name)(**{k: v for k, v in config.items() if k != "name"})
        layer(x if not pair else [x, x])
        layer.set_weights(weights)
        np.testing.assert_allclose(output, layer(x if not pair else [x, x]), rtol=1e-6)


@pytest.mark.parametrize("class_name", sorted(HUGE_EDITS))
def test_crafted_functional_model_with_a_huge_size_refused(tmp_path, class_name):
    key, value = HUGE_EDITS[class_name]
    path = functional_keras(tmp_path / "m.keras", (None, 6, 4),
                            _kinds((class_name, key, value)))
    assert_refused_small(lambda: load_keras(path), ValueError,
                         f"'{class_name.lower()}' ({class_name}) has")


@pytest.mark.parametrize("batch_shape,layer", [
    ((None, 6, 2**26), "'dense'"),            # every layer's weights sized by the input
    ((None, 2**26, 4), None),                 # steps size no weight: loads
])
def test_crafted_functional_model_with_a_huge_input(tmp_path, batch_shape, layer):
    layers = _kinds()
    path = functional_keras(tmp_path / "m.keras", batch_shape, layers)
    if layer is None:
        assert len(load_keras(path).layers) == len(layers)
    else:
        assert_refused_small(lambda: load_keras(path), ValueError, layer)


@pytest.mark.parametrize("kind", KINDS, ids=[k[0] for k in KINDS])
def test_crafted_functional_model_with_wrong_stored_shapes(tmp_path, kind):
    class_name, config, weights, pair = kind
    wrong = [np.ones(np.shape(w) + (1,)) for w in weights]      # one axis too many
    path = functional_keras(tmp_path / "m.keras", (None, 6, 4),
                            [(class_name, dict(config, name="target"), wrong, pair)])
    with pytest.raises(ValueError, match=rf"'target' \({class_name}\) has"):
        load_keras(path)


# --------------------------------------------------------------------------
# the declared shapes are the ones build makes (one source: each layer's
# _declared_weights, which its build uses)
# --------------------------------------------------------------------------

DECLARED = [
    (lambda: fr.Dense(3), (None, 5, 4)),
    (lambda: fr.Dense(3, use_bias=False), (None, 4)),
    (lambda: fr.Embedding(7, 3), (None, 5)),
    (lambda: fr.Conv1D(6, 3, groups=2), (None, 9, 4)),
    (lambda: fr.Conv1D(6, 3, data_format="channels_first", use_bias=False), (None, 4, 9)),
    (lambda: fr.LayerNormalization(axis=[1, 2]), (None, 5, 4)),
    (lambda: fr.LayerNormalization(rms_scaling=True), (None, 5, 4)),
    (lambda: fr.BatchNormalization(center=False), (None, 5, 4)),
    (lambda: fr.Attention(use_scale=True, score_mode="concat"), [(None, 2, 4), (None, 3, 4)]),
    (lambda: fr.AdditiveAttention(), [(None, 2, 4), (None, 3, 4), (None, 3, 4)]),
    (lambda: fr.TimeDistributed(fr.Dense(2)), (None, 5, 4)),
    (lambda: fr.LSTM(3), (None, 5, 4)),
    (lambda: fr.GRU(3, reset_after=False, time_major=True), (5, None, 4)),
    (lambda: fr.RNN([fr.LSTMCell(3), fr.GRUCell(2)]), (None, 5, 4)),
    (lambda: fr.RNN(fr.TfLiteRNNCell(3)), (None, 5, 4)),
    (lambda: fr.Bidirectional(fr.SimpleRNN(3)), (None, 5, 4)),
    (lambda: fr.Concatenate(), [(None, 5, 4), (None, 5, 2)]),
    (lambda: fr.MaxPooling1D(), (None, 6, 4)),
]


@pytest.mark.parametrize("make,shape", DECLARED)
def test_declared_weights_are_the_built_ones(make, shape):
    declared = make()._declared_weights(shape)
    layer = make()
    layer.build(shape)
    assert declared == [w.shape for w in layer.weights]


# --------------------------------------------------------------------------
# the Sequential path runs the same check, now for every layer kind
# --------------------------------------------------------------------------

CHAIN_EDITS = [
    ("k3m_cnn_bn.keras", _set("conv1d", "filters", HUGE), "'conv1d'"),
    ("k3m_cnn_bn.keras", _set("conv1d", "kernel_size", [2**20]), "'conv1d'"),
    ("k3m_cnn_bn.keras", _set("batch_normalization", "axis", [1, 2]), "'batch_normalization'"),
    ("k3m_conv_lstm.keras", _set("lstm", "units", 2**20), "'lstm'"),
    ("k2m_cnn_bn.keras", _set("conv1d", "filters", HUGE), "'conv1d'"),
]


@pytest.mark.parametrize("name,edit,layer", CHAIN_EDITS,
                         ids=[f"{n}-{layer}" for n, _, layer in CHAIN_EDITS])
def test_chain_file_with_a_wrong_declared_size_refused_before_allocation(tmp_path, name, edit,
                                                                         layer):
    path = edit_keras(fixture(name), tmp_path / name, edit)
    with zipfile.ZipFile(path) as archive:
        assert not needs_graph(json.loads(archive.read("config.json")))  # the Sequential path
    assert_refused_small(lambda: load_keras(path), ValueError, "as its config declares")
    with pytest.raises(ValueError, match=layer):
        load_keras(path)


# --------------------------------------------------------------------------
# set_weights makes one copy, loading none beyond the read
# --------------------------------------------------------------------------

class _Stored:
    """A stand-in for a file's dataset: its shape and dtype, values read on demand."""

    def __init__(self, array):
        self.shape, self.dtype, self._array = array.shape, array.dtype, array

    def read(self, dtype):
        return np.array(self._array, dtype)       # a new array, as reading the file makes


def _peak(call):
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_set_weights_copies_each_array_once_and_loading_not_at_all():
    layer = fr.Dense(1000)
    layer.build((None, 2000))
    kernel = np.full((2000, 1000), 0.5, np.float32)               # 8 MB
    peak = _peak(lambda: layer.set_weights([kernel, np.zeros(1000)]))
    assert kernel.nbytes <= peak < 1.5 * kernel.nbytes            # the one copy it keeps
    stored = [_Stored(kernel * 2), _Stored(np.ones(1000, np.float32))]
    peak = _peak(lambda: set_layer_weights(layer, stored, "test"))
    assert kernel.nbytes <= peak < 1.5 * kernel.nbytes            # the read, kept as it is
    np.testing.assert_array_equal(layer.get_weights()[0], kernel * 2)
    np.testing.assert_array_equal(layer(np.ones((1, 2000), np.float32)), 2000.0 + 1.0)
    kernel[...] = 0                                                # the layer has its own copy
    assert layer.get_weights()[0][0, 0] == 1.0


def test_from_keras_config_with_input_shape_checks_sizes_before_building():
    config = {"class_name": "Conv1D", "config": {"filters": HUGE, "kernel_size": 3}}
    weights = [np.zeros((3, 4, 5)), np.zeros(5)]
    assert_refused_small(lambda: from_keras_config(
        config, weights, input_shape=(None, 9, 4)), ValueError, "as its config declares")
    config = {"class_name": "AdditiveAttention", "config": {}}
    layer = from_keras_config(config, [np.arange(4.0)],
                                         input_shape=[(None, 2, 4), (None, 3, 4)])
    np.testing.assert_array_equal(layer.get_weights()[0], np.arange(4.0))


def test_graph_file_with_matching_huge_config_and_datasets_refused(tmp_path):
    """A config and datasets that agree on a huge size still cannot make fastrnn allocate."""
    def edit_weights(weights):
        for i, shape in enumerate([(8, HUGE), (HUGE,)]):
            name = f"layers/time_distributed/layer/vars/{i}"
            del weights[name]
            weights.create_dataset(name, shape=shape, dtype="float32", chunks=(1,) * len(shape))
    path = edit_keras(fixture("k3m_tagger.keras"), tmp_path / "m.keras",
                      _set("time_distributed", "layer", "config", "units", HUGE), edit_weights)
    assert_refused_small(lambda: load_keras(path), ValueError, "but stores")


def test_every_supported_layer_kind_declares_its_weights():
    """No layer class a model file may name leaves its sizes unchecked (a class with its
    own build declares its weight shapes)."""
    from fastrnn.convert._keras import SUPPORTED_CELLS, SUPPORTED_LAYERS
    from fastrnn.layers.base import _REGISTRY, Layer
    for name in sorted(SUPPORTED_LAYERS | SUPPORTED_CELLS):
        cls = _REGISTRY[name]
        assert cls.build is Layer.build or \
            cls._declared_weights is not Layer._declared_weights, name


# --------------------------------------------------------------------------
# malformed graph configs (found by fuzzing the graph fixtures): clear errors
# --------------------------------------------------------------------------

def _layers_of(config):
    return config["config"]["layers"]


def _first_call_args(name):
    def get(config):
        return _layer(config, name)["inbound_nodes"][0]["args"]
    return get


MALFORMED_GRAPHS = [
    ("k3m_tagger.keras", lambda c: _layers_of(c).append([1, 2]), "must be a layer config dict, got list"),
    ("k3m_tagger.keras", lambda c: _layers_of(c).insert(2, 7), "layers[2] must be a layer"),
    ("k3m_nested_functional.keras",
     lambda c: _layer(c, "encoder")["config"]["layers"].append(3.5), "must be a layer"),
    ("k3m_tagger.keras", lambda c: _first_call_args("lstm")(c).__setitem__(0, 2.5),
     "call 0 of layer 'lstm' must take tensors"),
    ("k3m_tagger.keras", lambda c: _first_call_args("not_equal")(c).pop(0),
     "operation 'not_equal' (NotEqual) takes two arguments"),
    ("k3m_tagger.keras",
     lambda c: _first_call_args("lstm")(c)[0].__setitem__("config", [1, 2]),
     "cannot read the tensor reference"),
]


@pytest.mark.parametrize("name,edit,match", MALFORMED_GRAPHS)
def test_malformed_graph_configs_give_clear_errors(tmp_path, name, edit, match):
    path = edit_keras(fixture(name), tmp_path / name, edit)
    with pytest.raises(ValueError, match=re.escape(match)):
        load_keras(path)


def test_repeat_vector_on_a_sequence_names_the_layer():
    with pytest.raises(ValueError, match="'rv' expects 2-D inputs"):
        fr.RepeatVector(3, name="rv").compute_output_shape((None, 4, 5))
