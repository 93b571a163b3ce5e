"""Whole models (issue 13) against real Keras 3 outputs, from committed fixtures.

``fixtures/make_model_fixtures.py`` recorded them with Keras 3 on its torch
backend (``k3``) and with tf.keras 2 (tf_keras, ``k2``): layer cases (config,
weights, inputs, Keras output) and 12 model files each (``.keras`` and legacy
``.h5``) with their ``predict`` outputs.  No Keras is needed here.  Independent NumPy references (direct sums written from the
definitions) check Conv1D, pooling and attention beyond the recorded configs.
"""
import importlib.util
import json
import os

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.convert import Model, from_keras_config, load_keras
from fastrnn.convert._graph import _make_layer
from fastrnn.layers import conv as conv_module

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
ATOL = 1e-5
MODELS = ["conv_lstm", "text_attention", "seq2seq", "two_inputs", "tagger", "shared_nested",
          "cnn_bn", "repeat_permute", "masked_merges", "nested_functional"]
K3_ONLY_MODELS = ["residual_ops"]     # x + y, x * 0.5, -x between layers (Keras 3 operations)
FORMATS = [".keras", ".h5"]
VERSIONS = ["k2", "k3"]

needs_h5py = pytest.mark.skipif(importlib.util.find_spec("h5py") is None,
                                reason="h5py is needed to read Keras model files")

LAYER_CASES = {}
for _version in VERSIONS:
    with open(os.path.join(FIXTURES, f"{_version}_layer_cases.json")) as _f:
        LAYER_CASES.update({f"{_version}/{name}": case for name, case in json.load(_f).items()})


def fixture(name):
    return os.path.join(FIXTURES, name)


def assert_close(got, want):
    """Within 1e-5 absolute, scaled up for values above 1 (float32 keeps ~7 digits)."""
    got, want = np.asarray(got), np.asarray(want)
    assert got.shape == want.shape
    scale = max(1.0, float(np.abs(want).max(initial=0.0)))
    np.testing.assert_allclose(got, want, rtol=0, atol=ATOL * scale)


@pytest.fixture(scope="module")
def layer_arrays():
    arrays = {}
    for version in VERSIONS:
        with np.load(fixture(f"{version}_layer_cases.npz")) as data:
            arrays.update({f"{version}/{key}": data[key] for key in data.files})
    return arrays


@pytest.fixture(scope="module")
def model_arrays():
    arrays = {}
    for version in VERSIONS:
        with np.load(fixture(f"{version}m_models.npz")) as data:
            arrays.update({f"{version}m_{key}": data[key] for key in data.files})
    return arrays


def _case(name, arrays):
    meta = LAYER_CASES[name]
    xs = [arrays[f"{name}/x{i}"] for i in range(meta["n_inputs"])]
    ws = [arrays[f"{name}/w{i}"] for i in range(meta["n_weights"])]
    return meta, xs, ws, arrays[f"{name}/y"]


def _built_layer(meta, xs, ws, name):
    layer = _make_layer({"class_name": meta["class_name"], "config": meta["config"]},
                        name.startswith("k3/"), "test", None)
    placeholders = [fr.Input(x.shape[1:]) for x in xs]
    layer(placeholders if len(placeholders) > 1 else placeholders[0])
    layer.set_weights(ws)
    return layer


def _call(layer, xs, masked):
    """The layer on the inputs; with ``masked`` the masks Keras's Masking(0.0) made."""
    inputs = xs if len(xs) > 1 else xs[0]
    if not masked:
        return layer(inputs)
    masks = [np.any(x != 0.0, axis=-1) for x in xs]
    if fr.layers.base.call_accepts(layer, "mask"):
        return layer(inputs, mask=masks if len(xs) > 1 else masks[0])
    return layer(inputs)


# --------------------------------------------------------------------------
# layers against Keras
# --------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_matches_keras(name, layer_arrays):
    meta, xs, ws, want = _case(name, layer_arrays)
    layer = _built_layer(meta, xs, ws, name)
    assert_close(_call(layer, xs, meta["masked"]), want)


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_layer_shapes_weights_and_config_round_trip(name, layer_arrays):
    meta, xs, ws, want = _case(name, layer_arrays)
    layer = _built_layer(meta, xs, ws, name)
    # symbolic output shape = the shape Keras produced (batch unknown)
    placeholders = [fr.Input(x.shape[1:]) for x in xs]
    fresh = type(layer).from_config(layer.get_config())
    symbolic = fresh(placeholders if len(placeholders) > 1 else placeholders[0])
    assert symbolic.shape == (None,) + want.shape[1:]
    # get_weights gives back Keras's list, in Keras's order and layout
    got = layer.get_weights()
    assert [w.shape for w in got] == [w.shape for w in ws]
    for g, w in zip(got, ws):
        np.testing.assert_array_equal(g, w.astype(g.dtype))
    # a layer rebuilt from fastrnn's own config computes the same
    fresh.set_weights(ws)
    np.testing.assert_array_equal(_call(fresh, xs, meta["masked"]),
                                  _call(layer, xs, meta["masked"]))


@pytest.mark.parametrize("version", VERSIONS)
def test_layer_cases_cover_every_new_layer(version):
    covered = {meta["class_name"] for name, meta in LAYER_CASES.items()
               if name.startswith(version + "/")}
    assert covered == set(fr.layers.MODEL_LAYERS)


# --------------------------------------------------------------------------
# whole models against Keras
# --------------------------------------------------------------------------

def _model_io(name, arrays):
    xs = [arrays[k] for k in sorted(k for k in arrays if k.startswith(f"{name}/x"))]
    ys = [arrays[k] for k in sorted(k for k in arrays if k.startswith(f"{name}/y"))]
    return xs, ys


def _outputs(y):
    if isinstance(y, dict):
        return [y[k] for k in sorted(y)]
    return y if isinstance(y, list) else [y]


@needs_h5py
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("version,name", [(v, n) for v in ("k2m", "k3m") for n in MODELS]
                         + [("k3m", n) for n in K3_ONLY_MODELS])
def test_model_predicts_like_keras(version, name, fmt, model_arrays):
    model = load_keras(fixture(f"{version}_{name}{fmt}"))
    xs, ys = _model_io(f"{version}_{name}", model_arrays)
    got = _outputs(model.predict(xs if len(xs) > 1 else xs[0]))
    assert len(got) == len(ys)
    for g, y in zip(got, ys):
        assert_close(g, y)
    # in several batches: the same rows
    for g, y in zip(_outputs(model.predict(xs if len(xs) > 1 else xs[0], batch_size=2)), ys):
        assert_close(g, y)


@needs_h5py
def test_functional_inputs_and_outputs_keep_keras_structure(model_arrays):
    model = load_keras(fixture("k3m_masked_merges.keras"))
    assert isinstance(model, Model)
    xs, ys = _model_io("k3m_masked_merges", model_arrays)
    out = model.predict({"a": xs[0], "b": xs[1]})
    assert sorted(out) == ["last", "pooled"]
    assert_close(out["last"], ys[0])
    assert_close(out["pooled"], ys[1])
    two = load_keras(fixture("k3m_two_inputs.keras"))
    assert two.input_names == ["sequence", "meta"]
    xs, ys = _model_io("k3m_two_inputs", model_arrays)
    by_name = two.predict({"meta": xs[1], "sequence": xs[0]})
    assert isinstance(by_name, list) and len(by_name) == 2
    assert_close(by_name[0], ys[0])
    with pytest.raises(ValueError, match="missing"):
        two.predict({"sequence": xs[0]})
    with pytest.raises(ValueError, match="takes 2 inputs"):
        two.predict([xs[0]])
    with pytest.raises(ValueError, match="input 'meta' must have shape"):
        two.predict([xs[0], xs[1][:, :3]])


@needs_h5py
def test_masks_change_the_result(model_arrays):
    """The text model's padding matters: without the mask rows differ (so the mask is used)."""
    model = load_keras(fixture("k3m_text_attention.keras"))
    ids = model_arrays["k3m_text_attention/x0"]
    want = model_arrays["k3m_text_attention/y0"]
    assert_close(model.predict(ids), want)
    row = ids[1:2].copy()
    padded_more = np.concatenate([row, np.zeros((1, 4), row.dtype)], axis=1)
    assert_close(model.predict(padded_more), want[1:2])     # extra padding changes nothing


@needs_h5py
def test_shared_layer_is_one_object_and_weights_count_once():
    model = load_keras(fixture("k3m_shared_nested.keras"))
    names = [layer.name for layer in model.layers]
    assert names.count("shared_lstm") == 1
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "Subtract", "Model"]
    assert len(model.get_weights()) == 3 + 4


@needs_h5py
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("policy", ["mixedbfloat16", "mixedfloat16"])
@pytest.mark.parametrize("version", ["k2m", "k3m"])
def test_mixed_precision_loads_and_computes_in_float32(version, policy, fmt, model_arrays):
    model = load_keras(fixture(f"{version}_{policy}{fmt}"))
    x = model_arrays[f"{version}_{policy}/x0"]
    want = model_arrays[f"{version}_{policy}/y0"]
    got = model.predict(x)
    assert got.dtype == np.float32
    assert_close(got, want)       # the float32 twin's output (same weights)
    lines = []
    model.summary(print_fn=lines.append)
    assert "mixed_" in lines[0] and "computed in float32" in lines[0]


# --------------------------------------------------------------------------
# what is refused
# --------------------------------------------------------------------------

def _functional(layers, inputs, outputs):
    return {"class_name": "Functional", "config": {"name": "m", "layers": layers,
                                                   "input_layers": inputs,
                                                   "output_layers": outputs}}


def _tensor(name, node=0, index=0):
    return {"class_name": "__keras_tensor__", "config": {"keras_history": [name, node, index]}}


def _layer(class_name, name, config, *args, **kwargs):
    return {"class_name": class_name, "name": name, "config": dict(config, name=name),
            "inbound_nodes": [{"args": list(args), "kwargs": kwargs}]}


INPUT = {"class_name": "InputLayer", "name": "x",
         "config": {"batch_shape": [None, 4, 3], "dtype": "float32", "name": "x"},
         "inbound_nodes": []}


def _build(config, custom_objects=None):
    from fastrnn.convert import _graph
    model = _graph.model_from_config(config, True, "test", custom_objects)
    model._evaluate(fr.Input((4, 3)))
    return model


def test_lambda_and_unknown_classes_are_refused_by_name():
    lam = _functional([INPUT, _layer("Lambda", "my_fn", {"function": "..."}, _tensor("x"))],
                      ["x", 0, 0], ["my_fn", 0, 0])
    with pytest.raises(ValueError, match="'my_fn' is a Lambda layer"):
        _build(lam)
    custom = _functional([INPUT, _layer("MyBlock", "blk", {}, _tensor("x"))],
                         ["x", 0, 0], ["blk", 0, 0])
    with pytest.raises(ValueError, match="unsupported layer 'MyBlock'.*custom_objects"):
        _build(custom)
    op = _functional([INPUT, {"module": "keras.src.ops.numpy", "class_name": "Sin",
                              "name": "sin", "config": {"name": "sin"},
                              "inbound_nodes": [{"args": [_tensor("x")], "kwargs": {}}]}],
                     ["x", 0, 0], ["sin", 0, 0])
    with pytest.raises(ValueError, match="'Sin'"):
        _build(op)


def test_custom_objects_build_user_layers():
    @fr.layers.base.register
    class TimesTwo(fr.Layer):
        def call(self, inputs):
            return np.asarray(inputs) * 2.0

        def compute_output_shape(self, input_shape):
            return input_shape

    config = _functional([INPUT, _layer("Doubler", "d", {}, _tensor("x"))],
                         ["x", 0, 0], ["d", 0, 0])
    model = _build(config, custom_objects={"Doubler": TimesTwo})
    x = np.ones((2, 4, 3), "float32")
    np.testing.assert_array_equal(model.predict(x), 2 * x)


def test_graph_errors_name_the_problem():
    cycle = _functional([INPUT, _layer("Dense", "a", {"units": 3}, _tensor("b")),
                         _layer("Dense", "b", {"units": 3}, _tensor("a"))],
                        ["x", 0, 0], ["b", 0, 0])
    with pytest.raises(ValueError, match="cycle"):
        _build(cycle)
    missing = _functional([INPUT, _layer("Dense", "a", {"units": 3}, _tensor("x", 1))],
                          ["x", 0, 0], ["a", 0, 0])
    missing["config"]["layers"][1]["inbound_nodes"][0]["args"] = [_tensor("zz")]
    with pytest.raises(ValueError, match="'zz'"):
        _build(missing)


def test_encoder_decoder_built_by_hand_matches_keras_file(model_arrays):
    """The seq2seq file's weights in a hand-written LSTM pair give the file's outputs."""
    model = load_keras(fixture("k3m_seq2seq.keras"))
    enc, dec, head = model.layers
    xs, ys = _model_io("k3m_seq2seq", model_arrays)
    _, h, c = enc(xs[0])
    assert_close(head(dec(xs[1], initial_state=[h, c])), ys[0])


# --------------------------------------------------------------------------
# independent references
# --------------------------------------------------------------------------

def _conv_reference(x, kernel, bias, stride, dilation, padding, groups):
    """Direct sum: y[b, t, f] = bias[f] + sum_{j, c} xp[b, t s + j d, c] kernel[j, c, f]."""
    batch, length, channels = x.shape
    k, cg, filters = kernel.shape
    span = (k - 1) * dilation + 1
    if padding == "valid":
        left = right = 0
        steps = (length - span) // stride + 1
    elif padding == "causal":
        left, right, steps = span - 1, 0, -(-length // stride)
    else:
        steps = -(-length // stride)
        total = max(0, (steps - 1) * stride + span - length)
        left, right = total // 2, total - total // 2
    xp = np.concatenate([np.zeros((batch, left, channels)), x,
                         np.zeros((batch, right, channels))], axis=1)
    y = np.zeros((batch, steps, filters))
    fg = filters // groups
    for t in range(steps):
        for f in range(filters):
            g = f // fg
            for j in range(k):
                y[:, t, f] += xp[:, t * stride + j * dilation, g * cg:(g + 1) * cg] @ \
                    kernel[j, :, f]
    return y + bias


@pytest.mark.parametrize("padding", ["valid", "same", "causal"])
@pytest.mark.parametrize("stride,dilation,groups", [(1, 1, 1), (2, 1, 3), (1, 3, 1),
                                                    (3, 1, 1), (2, 2, 1)])
def test_conv1d_matches_direct_sum(padding, stride, dilation, groups, monkeypatch):
    rng = np.random.default_rng(7)
    x = rng.normal(size=(3, 23, 6))
    layer = fr.Conv1D(9, 4, strides=stride, dilation_rate=dilation, padding=padding,
                      groups=groups, dtype="float64")
    layer.build(x.shape)
    kernel, bias = rng.normal(size=(4, 6 // groups, 9)), rng.normal(size=9)
    layer.set_weights([kernel, bias])
    want = _conv_reference(x, kernel, bias, stride, dilation, padding, groups)
    np.testing.assert_allclose(layer(x), want, atol=1e-12)
    # tiny workspace: one output step per GEMM chunk, same result
    monkeypatch.setattr(conv_module, "_WORKSPACE_BYTES", 1)
    np.testing.assert_allclose(layer(x), want, atol=1e-12)


def test_conv1d_rejects_bad_arguments_and_inputs():
    with pytest.raises(ValueError, match="padding"):
        fr.Conv1D(2, 3, padding="full")
    with pytest.raises(ValueError, match="groups"):
        fr.Conv1D(3, 3, groups=2)
    layer = fr.Conv1D(2, 3)
    layer.build((None, 5, 4))
    with pytest.raises(ValueError, match="channels"):
        layer(np.ones((1, 5, 3)))
    with pytest.raises(TypeError, match="real numbers"):
        layer(np.array([["a"] * 4] * 5)[None])


def test_pooling_and_attention_match_direct_definitions():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 7, 3))
    # same padding, stride 2, size 3: windows [-1, 2), [1, 4), ... shortened at the ends
    got = fr.AveragePooling1D(3, 2, padding="same", dtype="float64")(x)
    want = np.stack([x[:, max(0, 2 * t - 1):2 * t + 2].mean(axis=1) for t in range(4)], 1)
    np.testing.assert_allclose(got, want, atol=1e-12)
    got = fr.MaxPooling1D(3, 2, padding="same", dtype="float64")(x)
    want = np.stack([x[:, max(0, 2 * t - 1):2 * t + 2].max(axis=1) for t in range(4)], 1)
    np.testing.assert_allclose(got, want, atol=1e-12)
    q, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4))
    vmask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], bool)
    got = fr.Attention(dtype="float64")([q, v], mask=[None, vmask])
    for b in range(2):
        s = q[b] @ v[b][vmask[b]].T
        w = np.exp(s - s.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        np.testing.assert_allclose(got[b], w @ v[b][vmask[b]], atol=1e-12)
    causal = fr.Attention(dtype="float64")([v, v], use_causal_mask=True)
    np.testing.assert_allclose(causal[:, 0], v[:, 0], atol=1e-12)   # step 0 sees only itself


def test_time_distributed_equals_per_step_calls():
    rng = np.random.default_rng(5)
    x = rng.normal(size=(2, 4, 3)).astype("float32")
    dense = fr.Dense(2, activation="tanh")
    td = fr.TimeDistributed(dense)
    y = td(x)
    for t in range(4):
        np.testing.assert_allclose(y[:, t], dense(x[:, t]), atol=1e-7)
    mask = np.array([[1, 1, 0, 0], [1, 1, 1, 1]], bool)
    np.testing.assert_array_equal(td.compute_mask(x, mask), mask)


def test_inference_only_layers_refuse_training():
    x = np.ones((1, 2, 3), "float32")
    np.testing.assert_array_equal(fr.GaussianNoise(1.0)(x), x)
    with pytest.raises(ValueError, match="training=True"):
        fr.GaussianNoise(1.0)(x, training=True)
    bn = fr.BatchNormalization()
    bn.build(x.shape)
    with pytest.raises(ValueError, match="training=True"):
        bn(x, training=True)


def test_merge_output_masks_follow_keras3():
    """Keras 3's rules (merging/base_merge.py, concatenate.py): OR of the masks; an unmasked
    input of Concatenate counts as all true; one missing mask drops the elementwise one."""
    x = np.ones((2, 3, 2), "float32")
    m1 = np.array([[1, 0, 0], [1, 1, 0]], bool)
    m2 = np.array([[0, 1, 0], [1, 0, 0]], bool)
    np.testing.assert_array_equal(fr.Concatenate().compute_mask([x, x], [m1, m2]), m1 | m2)
    np.testing.assert_array_equal(fr.Concatenate().compute_mask([x, x], [m1, None]),
                                  np.ones((2, 3), bool))
    np.testing.assert_array_equal(fr.Concatenate(axis=1).compute_mask([x, x], [m1, m2]),
                                  np.concatenate([m1, m2], axis=1))
    np.testing.assert_array_equal(fr.Add().compute_mask([x, x], [m1, m2]), m1 | m2)
    assert fr.Add().compute_mask([x, x], [m1, None]) is None
    assert fr.Dot(axes=2).compute_mask([x, x], [m1, m2]) is None


@needs_h5py
@pytest.mark.parametrize("name", ["seq2seq", "masked_merges", "shared_nested",
                                  "nested_functional", "text_attention"])
def test_model_config_round_trip(name, model_arrays):
    model = load_keras(fixture(f"k3m_{name}.keras"))
    config = json.loads(json.dumps(model.get_config()))       # plain JSON
    copy = Model.from_config(config)
    assert [type(layer).__name__ for layer in copy.layers] == \
        [type(layer).__name__ for layer in model.layers]
    copy.set_weights(model.get_weights())
    xs, ys = _model_io(f"k3m_{name}", model_arrays)
    feed = xs if len(xs) > 1 else xs[0]
    for got, want in zip(_outputs(copy.predict(feed)), ys):
        assert_close(got, want)


def test_keras2_single_output_lists_are_unwrapped_as_tf_keras_does(model_arrays):
    """tf.keras 2 writes ``output_layers=[[name, 0, 0]]`` and predicts one array."""
    model = load_keras(fixture("k2m_text_attention.keras"))
    out = model.predict(model_arrays["k2m_text_attention/x0"])
    assert isinstance(out, np.ndarray)
    copy = Model.from_config(json.loads(json.dumps(model.get_config())))
    copy.set_weights(model.get_weights())
    np.testing.assert_array_equal(copy.predict(model_arrays["k2m_text_attention/x0"]), out)
    listed = load_keras(fixture("k3m_two_inputs.keras"))
    assert isinstance(Model.from_config(listed.get_config()).predict(
        _model_io("k3m_two_inputs", model_arrays)[0]), list)


@needs_h5py
@pytest.mark.parametrize("name,calls", [("seq2seq", 2), ("text_attention", 2),
                                        ("conv_lstm", 1), ("masked_merges", 2)])
def test_recurrent_layers_in_a_graph_make_one_kernel_call_each(name, calls, model_arrays,
                                                                monkeypatch):
    """Issue 13, item 5: each recurrent layer (Bidirectional: each direction) of a graph runs
    its whole sequence in one compiled-kernel call, and never in the Python step loop."""
    from fastrnn import _engine
    from fastrnn.layers import rnn as rnn_module
    model = load_keras(fixture(f"k3m_{name}.keras"))
    seen = []
    real = _engine.run_sequence

    def counting(*args, **kwargs):
        seen.append(1)
        return real(*args, **kwargs)

    def no_step_loop(*args, **kwargs):
        raise AssertionError("the Python step loop ran")

    monkeypatch.setattr(_engine, "run_sequence", counting)
    monkeypatch.setattr(rnn_module.RNN, "_run_steps", no_step_loop)
    xs, ys = _model_io(f"k3m_{name}", model_arrays)
    got = _outputs(model.predict(xs if len(xs) > 1 else xs[0]))
    assert len(seen) == calls
    for g, y in zip(got, ys):
        assert_close(g, y)


def test_mixed_precision_sequential_becomes_a_model_that_says_so(tmp_path):
    """A Sequential saved with a mixed policy loads as a Model whose summary says float32."""
    import zipfile
    source = fixture("keras3_stacked_lstm.keras")
    target = tmp_path / "mixed.keras"
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for item in zin.namelist():
            data = zin.read(item)
            if item == "config.json":
                data = data.replace(b'"name": "float32"', b'"name": "mixed_bfloat16"')
            zout.writestr(item, data)
    plain, mixed = load_keras(source), load_keras(target)
    assert isinstance(mixed, Model)
    x = np.random.default_rng(0).normal(size=(3, 5, plain.get_weights()[0].shape[0]))
    np.testing.assert_array_equal(mixed.predict(x.astype("float32")),
                                  plain.predict(x.astype("float32")))
    lines = []
    mixed.summary(print_fn=lines.append)
    assert "mixed_bfloat16" in lines[0] and "float32" in lines[0]


@needs_h5py
@pytest.mark.parametrize("name", ["seq2seq", "masked_merges", "nested_functional"])
def test_graph_models_pickle_and_deepcopy(name, model_arrays):
    import copy
    import pickle
    model = load_keras(fixture(f"k3m_{name}.keras"))
    xs, ys = _model_io(f"k3m_{name}", model_arrays)
    feed = xs if len(xs) > 1 else xs[0]
    for clone in (pickle.loads(pickle.dumps(model)), copy.deepcopy(model)):
        for got, want in zip(_outputs(clone.predict(feed)), ys):
            assert_close(got, want)


@needs_h5py
def test_predict_checks_its_arguments(model_arrays):
    model = load_keras(fixture("k3m_two_inputs.keras"))
    xs, _ = _model_io("k3m_two_inputs", model_arrays)
    with pytest.raises(TypeError, match="batch_size"):
        model.predict(xs, batch_size="2")
    with pytest.raises(ValueError, match="batch_size"):
        model.predict(xs, batch_size=0)
    with pytest.raises(ValueError, match="same number of rows"):
        model.predict([xs[0], xs[1][:2]])
    with pytest.raises(ValueError, match="ragged"):
        model.predict([xs[0], [[1.0, 2.0], [3.0]]])


@pytest.mark.parametrize("name", sorted(LAYER_CASES))
def test_from_keras_config_with_input_shape_builds_every_layer(name, layer_arrays):
    """The public one-layer entry point: config + weights + input_shape -> the Keras output."""
    meta, xs, ws, want = _case(name, layer_arrays)
    shapes = [(None,) + x.shape[1:] for x in xs]
    layer = from_keras_config({"class_name": meta["class_name"], "config": meta["config"]},
                              ws, input_shape=shapes if len(shapes) > 1 else shapes[0],
                              keras_version="3" if name.startswith("k3/") else "2")
    assert_close(_call(layer, xs, meta["masked"]), want)


def test_from_keras_config_names_a_shape_that_does_not_fit():
    config = {"class_name": "Conv1D", "config": {"filters": 2, "kernel_size": 3}}
    with pytest.raises(ValueError, match="cannot be built for input_shape"):
        from_keras_config(config, input_shape=(None, 5))
