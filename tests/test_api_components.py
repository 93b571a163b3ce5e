"""fr.activations, fr.initializers, fr.regularizers, fr.constraints and fr.backend."""
import numpy as np
import pytest

import fastrnn as fr
from fastrnn import _engine
from oracle import ACTIVATIONS

X = np.linspace(-6, 6, 49)


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_activation_table_matches_the_oracle(name, dtype):
    fn = fr.activations.get(name)
    got = fn(X.astype(dtype))
    assert got.dtype == dtype
    np.testing.assert_allclose(got, ACTIVATIONS[name](X), rtol=1e-6 if dtype == np.float32
                               else 1e-14, atol=1e-7 if dtype == np.float32 else 1e-15)
    assert fr.activations.kernel_name(fn) in _engine.KERNEL_ACTIVATIONS
    assert fr.activations.get(fr.activations.serialize(fn)) is fn


def test_activation_get_forms():
    assert fr.activations.get(None) is fr.activations.linear
    assert fr.activations.get({"class_name": "function", "config": "relu",
                               "module": "keras.activations"}) is fr.activations.relu
    assert fr.activations.get("silu") is fr.activations.swish
    np.testing.assert_array_equal(fr.activations.hard_sigmoid(np.array([-3.0, 0.0, 1.0, 3.0])),
                                  [0.0, 0.5, 0.7, 1.0])

    def custom(x):
        return x

    assert fr.activations.get(custom) is custom
    assert fr.activations.kernel_name(custom) is None
    assert fr.activations.serialize(custom) == "custom"
    assert fr.activations.kernel_name(np.tanh) is None


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
                                  "lecun_uniform", "lecun_normal", "orthogonal", "uniform",
                                  "random_normal", "truncated_normal", "variance_scaling"])
def test_seeded_initializers_are_reproducible(name):
    init = fr.initializers.get({"class_name": name, "config": {"seed": 42}})
    a, b = init((6, 8)), init((6, 8))
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32 and init((3, 3), dtype="float64").dtype == np.float64
    assert not np.array_equal(a, fr.initializers.get({"class_name": name,
                                                      "config": {"seed": 43}})((6, 8)))
    unseeded = fr.initializers.get(name)
    assert not np.array_equal(unseeded((6, 8)), unseeded((6, 8)))
    round_trip = fr.initializers.deserialize(fr.initializers.serialize(init))
    np.testing.assert_array_equal(round_trip((6, 8)), a)


def test_initializer_distributions():
    glorot = fr.initializers.GlorotUniform(seed=0)((200, 300))
    limit = np.sqrt(6 / 500)
    assert glorot.min() >= -limit and glorot.max() <= limit and glorot.max() > 0.95 * limit
    he = fr.initializers.HeNormal(seed=0)((400, 300))
    assert abs(he.std() - np.sqrt(2 / 400)) < 0.05 * np.sqrt(2 / 400)
    assert np.abs(he).max() <= 2 * np.sqrt(2 / 400) / 0.87962566103423978 + 1e-6
    uniform = fr.initializers.get("uniform")((1000,))
    assert uniform.min() >= -0.05 and uniform.max() <= 0.05
    normal = fr.initializers.RandomNormal(mean=1.0, stddev=0.1, seed=1)((10000,))
    assert abs(normal.mean() - 1.0) < 0.01 and abs(normal.std() - 0.1) < 0.01
    truncated = fr.initializers.TruncatedNormal(stddev=1.0, seed=2)((10000,))
    assert np.abs(truncated).max() <= 2.0
    np.testing.assert_array_equal(fr.initializers.get("zeros")((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(fr.initializers.get("ones")((2,)), np.ones(2))
    np.testing.assert_array_equal(fr.initializers.Constant(3)((2,)), [3, 3])
    np.testing.assert_array_equal(fr.initializers.Identity(2.0)((2, 3)), 2 * np.eye(2, 3))


@pytest.mark.parametrize("shape", [(4, 16), (16, 4), (5, 5), (2, 3, 4)])
def test_orthogonal_is_orthogonal_with_gain(shape):
    q = fr.initializers.Orthogonal(gain=1.5, seed=0)(shape, dtype="float64")
    flat = q.reshape(-1, shape[-1])
    small = min(flat.shape)
    gram = flat.T @ flat if flat.shape[0] >= flat.shape[1] else flat @ flat.T
    np.testing.assert_allclose(gram, 2.25 * np.eye(small), atol=1e-12)


def test_regularizers():
    w = np.array([[1.0, -2.0], [3.0, 0.5]])
    assert fr.regularizers.get("l1")(w) == pytest.approx(0.01 * 6.5)
    assert fr.regularizers.get("l2")(w) == pytest.approx(0.01 * 14.25)
    assert fr.regularizers.get("l1_l2")(w) == pytest.approx(0.01 * 6.5 + 0.01 * 14.25)
    reg = fr.regularizers.L1L2(l1=0.5, l2=0.25)
    assert reg(w) == pytest.approx(0.5 * 6.5 + 0.25 * 14.25)
    config = fr.regularizers.serialize(reg)
    assert config == {"class_name": "L1L2", "config": {"l1": 0.5, "l2": 0.25}}
    assert fr.regularizers.deserialize(config)(w) == reg(w)
    assert fr.regularizers.get({"class_name": "L2", "config": {"l2": 0.1},
                                "module": "keras.regularizers"})(w) == pytest.approx(1.425)
    assert fr.regularizers.get(None) is None


def test_constraints():
    w = np.array([[3.0, -4.0], [4.0, 3.0]])
    np.testing.assert_array_equal(fr.constraints.get("non_neg")(w), [[3, 0], [4, 3]])
    np.testing.assert_allclose(fr.constraints.get("unit_norm")(w), w / 5, rtol=1e-6)
    np.testing.assert_allclose(fr.constraints.MaxNorm(2.5)(w), w / 2, rtol=1e-6)
    np.testing.assert_allclose(fr.constraints.MaxNorm(10)(w), w, rtol=1e-6)
    np.testing.assert_allclose(fr.constraints.MinMaxNorm(6.0, 8.0, rate=0.5)(w), w * 1.1,
                               rtol=1e-6)
    for c in (fr.constraints.MaxNorm(3, axis=1), fr.constraints.NonNeg(),
              fr.constraints.UnitNorm(axis=1), fr.constraints.MinMaxNorm(0.5, 2, 0.3)):
        again = fr.constraints.deserialize(fr.constraints.serialize(c))
        assert type(again) is type(c) and again.get_config() == c.get_config()


def test_backend_functions():
    K = fr.backend
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    np.testing.assert_array_equal(K.dot(a, b), a @ b)
    x3 = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(K.dot(x3, b.T), x3 @ b.T)
    np.testing.assert_allclose(K.sigmoid(np.array([0.0])), [0.5])
    np.testing.assert_allclose(K.tanh(a), np.tanh(a))
    assert K.zeros((2, 3)).dtype == np.float32 and K.ones((2,), "float64").dtype == np.float64
    np.testing.assert_array_equal(K.concatenate([a, a]), np.concatenate([a, a], -1))
    np.testing.assert_array_equal(K.bias_add(a, np.ones(3)), a + 1)
    assert K.int_shape(a) == (2, 3) and K.ndim(x3) == 3 and K.floatx() == "float32"
    np.testing.assert_array_equal(K.hard_sigmoid(np.array([-5.0, 5.0])), [0.0, 1.0])
    np.testing.assert_allclose(K.softmax(np.zeros((1, 4))), np.full((1, 4), 0.25))
    np.testing.assert_array_equal(K.relu(np.array([-1.0, 2.0, 9.0]), max_value=5.0), [0, 2, 5])
    assert K.batch_dot(np.ones((2, 3, 4)), np.ones((2, 4, 5))).shape == (2, 3, 5)
    dropped = K.dropout(np.ones(1000), 0.5, seed=0)
    assert set(np.unique(dropped)) == {0.0, 2.0}
    assert K.in_train_phase(lambda: 1, lambda: 2, training=False) == 2
