"""Live parity with tf.keras: Keras 2 (tf_keras) and Keras 3 layers and saved files.

Skipped where TensorFlow is absent (CI's fixture-based tests in test_convert_keras.py
cover the same ground without it).  To run::

    pip install tensorflow-cpu tf_keras h5py
    python -m pytest tests/test_tf_parity.py
"""
import importlib

import numpy as np
import pytest

from fastrnn.convert import from_keras_config, load_keras

tf = pytest.importorskip("tensorflow")

ATOL = 1e-5
RNG = np.random.default_rng(11)


def _keras_versions():
    found = []
    for name in ("tf_keras", "keras"):
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        if name == "tf_keras" or module.__version__.startswith("3"):
            found.append(pytest.param(module, id=name))
    return found


@pytest.fixture(params=_keras_versions())
def keras(request):
    return request.param


def randomize(layer_or_model, scale=1.5):
    """Weights uniform(-scale, scale): large enough to saturate the gates."""
    weights = [RNG.uniform(-scale, scale, w.shape).astype("float32")
               for w in layer_or_model.get_weights()]
    layer_or_model.set_weights(weights)
    return weights


def converted(keras, layer):
    config = {"class_name": type(layer).__name__, "config": layer.get_config()}
    return from_keras_config(config, layer.get_weights(), keras_version=keras.__version__)


def as_list(value):
    return [np.asarray(v) for v in (value if isinstance(value, (list, tuple)) else [value])]


def assert_same(ours, theirs):
    ours, theirs = as_list(ours), as_list(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=0, atol=ATOL)


def sequence_and_mask(batch=3, steps=7, features=4):
    x = (2 * RNG.normal(size=(batch, steps, features))).astype("float32")
    mask = np.ones((batch, steps), bool)
    mask[0, 4:] = False   # post-padding
    mask[1, :3] = False   # pre-padding
    mask[2, [1, 4]] = False  # holes
    return x, mask


RECURRENT = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False})]


@pytest.mark.parametrize("class_name,kwargs", RECURRENT)
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_layers(keras, class_name, kwargs, return_sequences, go_backwards, masked):
    layer = getattr(keras.layers, class_name)(
        3, return_sequences=return_sequences, return_state=True, go_backwards=go_backwards,
        **kwargs)
    x, mask = sequence_and_mask()
    mask = mask if masked else None
    layer(x)
    randomize(layer)
    assert_same(converted(keras, layer)(x, mask=mask), layer(x, mask=mask))


@pytest.mark.parametrize("class_name,kwargs", RECURRENT)
def test_stateful_layers(keras, class_name, kwargs):
    x, _ = sequence_and_mask()
    layer = getattr(keras.layers, class_name)(3, stateful=True, return_sequences=True, **kwargs)
    layer(x)
    randomize(layer)
    layer.reset_states()
    ours = converted(keras, layer)
    for _ in range(2):
        assert_same(ours(x), layer(x))
    layer.reset_states()
    ours.reset_states()
    assert_same(ours(x[:, :3]), layer(x[:, :3]))


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional(keras, merge_mode, return_sequences):
    layer = keras.layers.Bidirectional(
        keras.layers.LSTM(3, return_sequences=return_sequences, return_state=True),
        merge_mode=merge_mode)
    x, mask = sequence_and_mask()
    layer(x)
    randomize(layer)
    assert_same(converted(keras, layer)(x, mask=mask), layer(x, mask=mask))


def test_hard_sigmoid(keras):
    layer = keras.layers.LSTM(3, recurrent_activation="hard_sigmoid", return_sequences=True)
    x, _ = sequence_and_mask()
    layer(x)
    randomize(layer)
    assert_same(converted(keras, layer)(x), layer(x))


@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_saved_stateful_model(keras, extension, tmp_path):
    pytest.importorskip("h5py")
    layers = keras.layers
    model = keras.Sequential([keras.Input(batch_shape=(3, 5, 4)),
                              layers.LSTM(3, stateful=True, return_sequences=True),
                              layers.Bidirectional(layers.GRU(2, stateful=True)),
                              layers.Dense(2)])
    randomize(model)
    path = str(tmp_path / f"stateful{extension}")
    model.save(path)
    ours = load_keras(path)
    x, _ = sequence_and_mask(steps=5)
    for _ in range(2):  # the states carry over from call to call
        assert_same(ours.predict(x), model.predict(x, verbose=0))
    for layer in model.layers:
        if getattr(layer, "stateful", False):
            layer.reset_states()
    ours.reset_states()
    assert_same(ours.predict(x), model.predict(x, verbose=0))


@pytest.mark.parametrize("extension", [".keras", ".h5"])
def test_saved_models(keras, extension, tmp_path):
    pytest.importorskip("h5py")
    layers = keras.layers
    text = keras.Sequential([keras.Input(shape=(None,), dtype="int32"),
                             layers.Embedding(12, 4, mask_zero=True),
                             layers.Bidirectional(layers.GRU(3, return_sequences=True)),
                             layers.Dropout(0.2),
                             layers.LSTM(2),
                             layers.Dense(3, activation="softmax")])
    signal = keras.Sequential([keras.Input(shape=(6, 2)), layers.Masking(),
                               layers.SimpleRNN(3, activation="relu", go_backwards=True,
                                                return_sequences=True),
                               layers.Dense(1, activation="sigmoid")])
    ids = RNG.integers(1, 12, size=(4, 6))
    ids[0, 4:] = 0
    ids[2, :2] = 0
    x = RNG.normal(size=(3, 6, 2)).astype("float32")
    x[1, 3:] = 0.0
    for model, inputs in ((text, ids), (signal, x)):
        randomize(model)
        path = str(tmp_path / f"{model.name}{extension}")
        model.save(path)
        assert_same(load_keras(path).predict(inputs), model.predict(inputs, verbose=0))
