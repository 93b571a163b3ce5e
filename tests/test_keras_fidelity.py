"""tf.keras fidelity, round 2 (issue 11): the API around the numbers.

Each test names the tf.keras (tf_keras 2.21) behaviour it checks; numbers are checked
against NumPy written out here, the oracle, or Keras 3 recordings
(tests/fixtures/keras3_layer_configs.json, made by make_keras3_layer_configs.py).
"""
import collections
import io
import json
import os
import pathlib

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.convert import from_keras_config, from_torch, load_keras
from fastrnn.layers.base import flatten
from oracle import run_rnn

FIXTURES = os.path.join(os.path.dirname(__file__), "fixtures")
K = fr.backend
RNG = np.random.default_rng(7)
X = RNG.normal(size=(3, 5, 4)).astype("float32")


class OffsetCell(fr.Layer):
    """h' = x W + h; its initial state is ``offset`` everywhere (not zeros)."""

    def __init__(self, units, offset=0.5, **kwargs):
        super().__init__(**kwargs)
        self.units, self.offset, self.state_size = units, offset, units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units),
                                      initializer="uniform")
        self.built = True

    def call(self, inputs, states):
        h = K.dot(inputs, self.kernel) + states[0]
        return h, [h]

    def get_initial_state(self, inputs=None, batch_size=None, dtype=None):
        return [np.full((batch_size, self.units), self.offset, dtype or "float32")]


def offset_reference(x, kernel, h0):
    """The OffsetCell recurrence in NumPy: the final state and every output."""
    h, outputs = h0, []
    for t in range(x.shape[1]):
        h = x[:, t] @ kernel + h
        outputs.append(h)
    return h, np.stack(outputs, axis=1)


# ---- 2. stateful RNN over a cell with non-zero initial states --------------------------

def test_stateful_rnn_starts_from_the_cells_initial_state():
    """tf.keras's RNN.reset_states / first stateful call take cell.get_initial_state."""
    stateful = fr.RNN(OffsetCell(3, offset=0.5), stateful=True)
    first = stateful(X)
    kernel = stateful.get_weights()[0]
    want, _ = offset_reference(X.astype(np.float64), kernel, np.full((3, 3), 0.5))
    np.testing.assert_allclose(first, want, rtol=1e-5)
    # the non-stateful path agrees (it always started from get_initial_state)
    plain = fr.RNN(OffsetCell(3, offset=0.5))
    plain.build(X.shape)
    plain.set_weights([kernel])
    np.testing.assert_allclose(plain(X), first, rtol=1e-6)
    # reset_states() goes back to the cell's initial state, not to zeros
    stateful.reset_states()
    np.testing.assert_array_equal(stateful.states[0], np.full((3, 3), 0.5, "float32"))
    np.testing.assert_allclose(stateful(X), first, rtol=1e-6)


def test_stateful_states_take_the_cells_dtype():
    layer = fr.RNN(OffsetCell(2, dtype="float64"), stateful=True)
    layer(X)
    assert layer.states[0].dtype == np.float64
    built = fr.RNN(OffsetCell(2, offset=-1.0), stateful=True, batch_input_shape=(3, 5, 4))
    built.build((3, 5, 4))
    np.testing.assert_array_equal(built.states[0], np.full((3, 2), -1.0))


# ---- 3. trainable propagates ----------------------------------------------------------

def test_setting_trainable_propagates_to_cells_and_weights():
    layer = fr.SimpleRNN(3, trainable=False)
    layer.build((None, None, 4))
    assert layer.trainable_weights == [] and not layer.cell.trainable
    layer.trainable = True
    assert layer.cell.trainable and len(layer.trainable_weights) == 3
    bi = fr.Bidirectional(fr.LSTM(2))
    bi.build((None, None, 4))
    bi.trainable = False
    assert not bi.forward_layer.cell.trainable and not bi.backward_layer.trainable
    assert len(bi.non_trainable_weights) == 6 and bi.trainable_weights == []
    model = fr.Sequential([fr.Input((None, 4)), fr.GRU(2), fr.Dense(1)])
    model.trainable = False
    assert not model.layers[0].cell.trainable and model.trainable_weights == []


# ---- 4. Bidirectional ------------------------------------------------------------------

class ConstantCell(fr.Layer):
    """tf.keras's RNNCellWithConstants: h' = x W + h U + c V."""

    def __init__(self, units, constant_size, **kwargs):
        self.units, self.state_size, self.constant_size = units, units, constant_size
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.input_kernel = self.add_weight("input_kernel", (input_shape[-1], self.units),
                                            initializer="uniform")
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units),
                                                initializer="uniform")
        self.constant_kernel = self.add_weight("constant_kernel",
                                               (self.constant_size, self.units),
                                               initializer="uniform")
        self.built = True

    def call(self, inputs, states, constants):
        output = (inputs @ self.input_kernel + states[0] @ self.recurrent_kernel
                  + constants[0] @ self.constant_kernel)
        return output, [output]


def test_bidirectional_wraps_an_rnn_over_a_user_cell():
    bi = fr.Bidirectional(fr.RNN(OffsetCell(3, offset=0.25), return_sequences=True))
    out = bi(X)
    forward_kernel, backward_kernel = bi.get_weights()
    h0 = np.full((3, 3), 0.25)
    _, forward = offset_reference(X.astype(np.float64), forward_kernel, h0)
    _, backward = offset_reference(X[:, ::-1].astype(np.float64), backward_kernel, h0)
    np.testing.assert_allclose(out, np.concatenate([forward, backward[:, ::-1]], -1),
                               rtol=1e-5)
    assert isinstance(bi.backward_layer.cell, OffsetCell) and bi.backward_layer.go_backwards


def test_bidirectional_passes_constants_to_both_directions():
    c = RNG.normal(size=(3, 2)).astype("float32")
    bi = fr.Bidirectional(fr.RNN(ConstantCell(3, 2)), merge_mode="sum")
    out = bi(X, constants=[c])
    w = bi.get_weights()

    def run(x, ki, kr, kc):
        h = np.zeros((3, 3))
        for t in range(x.shape[1]):
            h = x[:, t] @ ki + h @ kr + c @ kc
        return h
    want = run(X, *w[:3]) + run(X[:, ::-1], *w[3:])
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    listed = fr.Bidirectional(fr.RNN(ConstantCell(3, 2)), merge_mode="sum", num_constants=1)
    listed.build(X.shape)
    listed.set_weights(w)
    np.testing.assert_array_equal(listed([X, c]), out)   # [inputs, *constants]
    symbolic = fr.Bidirectional(fr.RNN(ConstantCell(3, 2)))
    assert symbolic(fr.Input((5, 4)), constants=[fr.Input((2,))]).shape == (None, 6)
    assert symbolic._num_constants == 1


def test_bidirectional_list_form_equals_initial_state():
    bi = fr.Bidirectional(fr.LSTM(3, return_state=True))
    states = [RNG.normal(size=(3, 3)).astype("float32") for _ in range(4)]
    by_keyword = bi(X, initial_state=states)
    by_list = bi([X] + states)
    for a, b in zip(by_keyword, by_list):
        np.testing.assert_array_equal(a, b)
    # and the states were used: the forward final state differs from a zero start
    assert not np.allclose(by_keyword[1], bi(X)[1])


@pytest.mark.parametrize("backward,match", [
    (fr.LSTM(3, stateful=True, go_backwards=True), "stateful"),
    (fr.LSTM(3), "go_backwards"),
    (fr.LSTM(3, go_backwards=True, return_sequences=True), "return_sequences"),
    (fr.LSTM(3, go_backwards=True, return_state=True), "return_state"),
    (fr.Dense(3), "backward_layer"),
])
def test_bidirectional_validates_a_custom_backward_layer(backward, match):
    with pytest.raises(ValueError, match=match):
        fr.Bidirectional(fr.LSTM(3), backward_layer=backward)


def test_bidirectional_names_and_attributes_as_tf_keras():
    layer = fr.LSTM(3, name="encoder")
    bi = fr.Bidirectional(layer)
    assert bi.layer is layer
    assert bi.forward_layer.name == "forward_encoder"
    assert bi.backward_layer.name == "backward_encoder" and bi.backward_layer.go_backwards
    config = bi.get_config()
    assert config["layer"]["config"]["name"] == "encoder" and "backward_layer" not in config
    given = fr.GRU(3, go_backwards=True, name="reverse")
    bi2 = fr.Bidirectional(fr.GRU(3, name="ahead"), backward_layer=given)
    assert bi2.backward_layer is given and given.name == "backward_reverse"
    assert bi2.get_config()["backward_layer"]["config"]["name"] == "reverse"
    again = fr.Bidirectional.from_config(bi2.get_config())
    assert [again.forward_layer.name, again.backward_layer.name] == [
        "forward_ahead", "backward_reverse"]
    # the wrapped layer's own weights are not the model's (only its copies run)
    bi(X)
    assert len(bi.weights) == 6 and not layer.built


# ---- 5. custom cell without get_config -------------------------------------------------

class ScaledCell(fr.AbstractRNNCell):
    def __init__(self, units, scale=1.0, activation_name="tanh", **kwargs):
        self.units, self.scale, self.activation_name = units, scale, activation_name
        super().__init__(**kwargs)

    @property
    def state_size(self):
        return self.units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units))
        self.built = True

    def call(self, inputs, states):
        h = self.scale * np.tanh(inputs @ self.kernel + states[0])
        return h, [h]


def test_custom_cell_without_get_config_round_trips():
    """tf_keras >= 2.13: Layer.get_config returns the constructor arguments it was given."""
    layer = fr.RNN(ScaledCell(3, 0.5, name="scaled"), return_sequences=True)
    config = layer.get_config()
    cell_config = config["cell"]["config"]
    assert cell_config["units"] == 3 and cell_config["scale"] == 0.5
    assert cell_config["name"] == "scaled"
    again = fr.RNN.from_config(json.loads(json.dumps(config)),
                               custom_objects={"ScaledCell": ScaledCell})
    assert again.cell.scale == 0.5 and again.cell.activation_name == "tanh"
    again.build(X.shape)
    layer.build(X.shape)
    again.set_weights(layer.get_weights())
    np.testing.assert_array_equal(again(X), layer(X))
    via_layers = fr.layers.deserialize(fr.layers.serialize(layer),
                                       custom_objects={"ScaledCell": ScaledCell})
    assert via_layers.get_config() == config


def test_auto_config_drops_layer_keys_a_constructor_without_kwargs_cannot_take():
    class Bare(fr.Layer):
        def __init__(self, size):
            super().__init__()
            self.size = size
    config = Bare(4).get_config()
    assert config == {"size": 4}
    assert Bare.from_config(config).size == 4


# ---- 6. Sequential with Input, output shapes, JSON --------------------------------------

def test_sequential_with_input_placeholders():
    model = fr.Sequential()
    model.add(fr.Input(shape=(None, 4)))
    model.add(fr.LSTM(3, return_sequences=True))
    model.add(fr.Dense(2))
    assert model.output_shape == (None, None, 2) and model.input_shape == (None, None, 4)
    assert model.layers[0].output_shape == (None, None, 3)
    assert model.layers[1].input_shape == (None, None, 3)
    listed = fr.Sequential([fr.Input((5, 4), batch_size=3), fr.GRU(2)])
    assert listed.output_shape == (3, 2) and listed.built
    assert fr.models.Sequential is fr.Sequential


def test_first_layer_input_shape_builds_the_model():
    model = fr.Sequential([fr.LSTM(3, input_shape=(None, 4)), fr.Dense(1)])
    assert model.built and model.output_shape == (None, 1)


def test_layer_output_and_output_shape_after_a_symbolic_call():
    layer = fr.LSTM(3, return_state=True)
    with pytest.raises(AttributeError, match="never been called"):
        layer.output_shape
    inputs = fr.Input((None, 4))
    outputs = layer(inputs)
    assert layer.output is outputs and layer.input is inputs
    assert layer.output_shape == [(None, 3), (None, 3), (None, 3)]
    layer(fr.Input((None, 4), batch_size=2))
    with pytest.raises(AttributeError, match="different shapes"):
        layer.output_shape


def test_to_json_and_model_from_json():
    model = fr.Sequential([fr.Input((None, 4)), fr.Masking(),
                           fr.Bidirectional(fr.GRU(3, return_sequences=True)),
                           fr.SimpleRNN(2, activation="relu"), fr.Dense(1)], name="m")
    text = model.to_json()
    assert json.loads(text)["class_name"] == "Sequential"
    again = fr.models.model_from_json(text)
    assert again.to_json() == text and again.output_shape == (None, 1)
    again.set_weights(model.get_weights())
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    assert fr.models.model_from_config(json.loads(text)).name == "m"
    with pytest.raises(ValueError, match="not valid JSON"):
        fr.models.model_from_json("{")


# ---- 7. nested cells in stacks, namedtuple inputs, symbolic initial_state -----------------

NestedInput = collections.namedtuple("NestedInput", ["t1", "t2"])
NestedState = collections.namedtuple("NestedState", ["s1", "s2"])


class NestedCell(fr.Layer):
    """tf.keras's rnn_test NestedCell: nested inputs, outputs and states."""

    def __init__(self, unit_1, unit_2, unit_3, use_tuple=False, **kwargs):
        self.unit_1, self.unit_2, self.unit_3, self.use_tuple = unit_1, unit_2, unit_3, use_tuple
        super().__init__(**kwargs)
        if use_tuple:
            self.state_size = NestedState(s1=unit_1, s2=fr.TensorShape([unit_2, unit_3]))
        else:
            self.state_size = (unit_1, fr.TensorShape([unit_2, unit_3]))
        self.output_size = (unit_1, fr.TensorShape([unit_2, unit_3]))

    def build(self, inputs_shape):
        if self.use_tuple:
            input_1 = inputs_shape.t1[1]
            input_2, input_3 = inputs_shape.t2[1:]
        else:
            input_1 = inputs_shape[0][1]
            input_2, input_3 = inputs_shape[1][1:]
        self.kernel_1 = self.add_weight("kernel_1", (input_1, self.unit_1),
                                        initializer="uniform")
        self.kernel_2_3 = self.add_weight("kernel_2_3",
                                          (input_2, input_3, self.unit_2, self.unit_3),
                                          initializer="uniform")
        self.built = True

    def call(self, inputs, states):
        flat = flatten(inputs)
        s1, s2 = states
        output_1 = flat[0] @ self.kernel_1
        output_2_3 = np.einsum("bij,ijkl->bkl", flat[1], self.kernel_2_3)
        return [output_1, output_2_3], NestedState(s1=s1 + output_1, s2=s2 + output_2_3)


def nested_reference(x1, x2, kernels):
    """Two stacked NestedCells in NumPy; returns the top outputs per step and all states."""
    states = [[np.zeros((x1.shape[0], k1.shape[1])), np.zeros((x1.shape[0],) + k23.shape[2:])]
              for k1, k23 in kernels]
    tops = []
    for t in range(x1.shape[1]):
        a, b = x1[:, t], x2[:, t]
        for (k1, k23), state in zip(kernels, states):
            a, b = a @ k1, np.einsum("bij,ijkl->bkl", b, k23)
            state[0], state[1] = state[0] + a, state[1] + b
        tops.append((a, b))
    return [np.stack([o[0] for o in tops], 1), np.stack([o[1] for o in tops], 1)], states


@pytest.mark.parametrize("use_tuple", [False, True])
def test_stacked_nested_cells_build_and_run(use_tuple):
    t, i1, i2, i3 = 5, 3, 4, 5
    cells = [NestedCell(2, 3, 4, use_tuple=use_tuple), NestedCell(4, 5, 6)]
    rnn = fr.RNN(cells, return_sequences=True, return_state=True)
    x1, x2 = fr.Input((t, i1)), fr.Input((t, i2, i3))
    symbolic = rnn(NestedInput(t1=x1, t2=x2) if use_tuple else (x1, x2))
    assert [p.shape for p in flatten(symbolic)] == [
        (None, t, 4), (None, t, 5, 6), (None, 2), (None, 3, 4), (None, 4), (None, 5, 6)]
    a1 = RNG.normal(size=(2, t, i1))
    a2 = RNG.normal(size=(2, t, i2, i3))
    got = rnn(NestedInput(t1=a1, t2=a2) if use_tuple else (a1, a2))
    w = [w.astype(np.float64) for w in rnn.get_weights()]
    want_outputs, want_states = nested_reference(a1, a2, [(w[0], w[1]), (w[2], w[3])])
    for g, e in zip(flatten(got), want_outputs + flatten(want_states)):
        np.testing.assert_allclose(g, e, rtol=1e-4, atol=1e-5)


def test_symbolic_initial_state_of_the_wrong_shape_raises():
    layer = fr.LSTM(4)
    with pytest.raises(ValueError, match=r"initial_state\[1\].*\(None, 4\).*\(None, 5\)"):
        layer(fr.Input((None, 3)), initial_state=[fr.Input((4,)), fr.Input((5,))])
    with pytest.raises(ValueError, match="2 state"):
        fr.LSTM(4)(fr.Input((None, 3)), initial_state=[fr.Input((4,))])
    ok = fr.GRU(4)(fr.Input((None, 3)), initial_state=[fr.Input((4,))])
    assert ok.shape == (None, 4)


# ---- 8. names tf.keras users call ------------------------------------------------------

def test_constraint_and_regularizer_aliases():
    c = fr.constraints
    assert (c.max_norm, c.min_max_norm, c.unit_norm, c.non_neg) == (
        c.MaxNorm, c.MinMaxNorm, c.UnitNorm, c.NonNeg)
    w = np.array([[3.0, 0.0], [4.0, 1.0]])
    np.testing.assert_allclose(c.max_norm(2.0)(w)[:, 0], [1.2, 1.6], rtol=1e-6)
    r = fr.regularizers
    assert r.l1(0.1)(w) == pytest.approx(0.8) and r.l2(0.1)(w) == pytest.approx(2.6)
    assert r.l1_l2(l1=0.1, l2=0.1)(w) == pytest.approx(3.4)
    assert fr.initializers.glorot_uniform is fr.initializers.GlorotUniform


def test_reverse_state_order():
    """tf.keras: state_size and get_initial_state list the cells last first; the
    computation is that of the same stack."""
    cells = [fr.LSTMCell(3), fr.LSTMCell(3)]
    stack = fr.StackedRNNCells(cells, reverse_state_order=True)
    assert stack.state_size == (cells[1].state_size, cells[0].state_size)
    plain = fr.RNN([fr.LSTMCell(3), fr.LSTMCell(3)], return_state=True)
    reversed_ = fr.RNN(stack, return_state=True)
    plain.build(X.shape)
    reversed_.build(X.shape)
    reversed_.set_weights(plain.get_weights())
    for a, b in zip(flatten(plain(X)), flatten(reversed_(X))):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    states = list(RNG.normal(size=(4, 3, 3)).astype("float32"))   # flat, in cell order
    for a, b in zip(flatten(plain(X, initial_state=states)),
                    flatten(reversed_(X, initial_state=states))):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert fr.StackedRNNCells.from_config(stack.get_config()).reverse_state_order
    with pytest.raises(ValueError, match="same state_size"):
        fr.StackedRNNCells([fr.LSTMCell(3), fr.GRUCell(2)], reverse_state_order=True)


def test_states_setter_and_reset_state_alias():
    layer = fr.GRU(3, stateful=True, batch_input_shape=(3, None, 4))
    layer(X)
    h = RNG.normal(size=(3, 3)).astype("float32")
    layer.states = [h]
    np.testing.assert_array_equal(layer.states[0], h)
    continued = layer(X)
    np.testing.assert_array_equal(continued, layer(X, initial_state=[h]))
    layer.reset_state()
    np.testing.assert_array_equal(layer.states[0], np.zeros((3, 3)))
    layer.states = None
    np.testing.assert_array_equal(layer(X), layer(X, initial_state=[np.zeros((3, 3))]))
    with pytest.raises(ValueError, match="states"):
        layer.states = [np.zeros((3, 4))]
    with pytest.raises(AttributeError, match="not stateful"):
        fr.GRU(3).states = [h]
    model = fr.Sequential([fr.Input((None, 4), batch_size=3), fr.GRU(3, stateful=True)])
    model.predict(X)
    model.reset_state()
    np.testing.assert_array_equal(model.layers[0].states[0], np.zeros((3, 3)))


def test_predict_accepts_verbose():
    model = fr.Sequential([fr.Input((None, 4)), fr.LSTM(2)])
    np.testing.assert_array_equal(model.predict(X, verbose=0), model.predict(X))


# ---- 9. Keras 3 configs through from_config ----------------------------------------------

def _keras3_cases():
    with open(os.path.join(FIXTURES, "keras3_layer_configs.json")) as f:
        return json.load(f)


KERAS3 = _keras3_cases()


@pytest.mark.parametrize("case", KERAS3["layers"], ids=[c["name"] for c in KERAS3["layers"]])
@pytest.mark.parametrize("how", ["from_config", "deserialize"])
def test_keras3_layer_configs_load_and_compute_as_keras3(case, how):
    serialized = case["config"]
    cls = getattr(fr, serialized["class_name"])
    if how == "from_config":
        layer = cls.from_config(serialized["config"])
    else:
        layer = fr.layers.deserialize(serialized)
    assert type(layer) is cls
    x = np.array(case["x"], "float32")
    layer.build(x.shape)
    layer.set_weights([np.array(w, "float32") for w in case["weights"]])
    _assert_structure_close(layer(x), case["y"])


def _assert_structure_close(got, want):
    """``got`` (arrays nested in lists) against ``want`` (the same nesting, as JSON lists)."""
    if isinstance(got, (list, tuple)):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            _assert_structure_close(g, w)
    else:
        want = np.array(want)
        if want.shape == (1,) + got.shape:
            # Keras 3 nests a stacked cell's single state in a list ([h]); tf.keras 2, which
            # fastrnn follows, returns it bare (h)
            want = want[0]
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=2e-6)


def test_keras3_hard_sigmoid_keeps_its_keras3_meaning():
    case = next(c for c in KERAS3["layers"] if c["name"] == "lstm_hard_sigmoid")
    layer = fr.LSTM.from_config(case["config"]["config"])
    assert fr.activations.serialize(layer.recurrent_activation) == "keras3_hard_sigmoid"
    assert layer.cell.seed == 3 and layer.cell.kernel_initializer.seed == 1


def test_keras3_initializer_axes():
    config = {"module": "keras.initializers", "class_name": "GlorotUniform",
              "config": {"seed": 2, "input_axes": [0], "output_axes": [1, 2]},
              "registered_name": None}
    init = fr.initializers.get(config)
    values = init((4, 3, 5))
    limit = np.sqrt(6.0 / (4 + 15))     # fan_in = 4, fan_out = 3 * 5
    assert np.abs(values).max() <= limit and np.abs(values).max() > 0.8 * limit
    assert fr.initializers.serialize(init)["config"] == config["config"]
    assert "input_axes" not in fr.initializers.serialize(fr.initializers.get("he_normal"))[
        "config"]


@pytest.mark.parametrize("case", KERAS3["penalties"], ids=lambda c: c["config"]["class_name"])
def test_keras3_regularizer_penalties(case):
    matrix = np.array(KERAS3["matrix"], "float32")
    assert fr.regularizers.get(case["config"])(matrix) == pytest.approx(case["value"],
                                                                       rel=1e-5)


def test_bad_config_errors_name_the_class_the_layer_and_the_argument():
    config = fr.LSTM(3, name="enc").get_config()
    config["kernel_initializer"] = {"class_name": "GlorotUniform", "config": {"bogus": 1}}
    with pytest.raises(TypeError, match=r"LSTM.from_config \(layer 'enc'\).*GlorotUniform.*bogus"):
        fr.LSTM.from_config(config)


# ---- error messages ---------------------------------------------------------------------

def test_ragged_nested_list_input_names_the_axis():
    ragged = [[[1.0, 2.0]] * 3, [[1.0, 2.0]] * 5]
    for call in (lambda: fr.LSTM(2)(ragged), lambda: fr.Dense(2)(ragged),
                 lambda: fr.Sequential([fr.Input((None, 2)), fr.GRU(2)]).predict(ragged)):
        with pytest.raises(ValueError, match=r"rectangular.*axis 1.*\[3, 5\]"):
            call()


def test_predict_batch_size_of_the_wrong_type():
    model = fr.Sequential([fr.Input((None, 4)), fr.LSTM(2)])
    with pytest.raises(TypeError, match="batch_size must be a positive integer, got '8'"):
        model.predict(X, batch_size="8")


def test_embedding_model_fed_the_wrong_rank_says_what_the_model_expects():
    """tf.keras 2 gives an Embedding the input shape (None,): the model is built at once
    and knows it takes (batch, time) ids."""
    ids = RNG.integers(0, 10, size=(2, 5, 1))
    for model in (fr.Sequential([fr.Embedding(10, 4), fr.LSTM(3), fr.Dense(1)], name="clf"),
                  fr.Sequential([fr.Input((None,), dtype="int32"), fr.Embedding(10, 4),
                                 fr.LSTM(3)], name="clf")):
        assert model.built and model.input_shape == (None, None)
        with pytest.raises(ValueError, match=r"model 'clf' expects inputs of shape "
                                             r"\(None, None\).*rank 2.*\(2, 5, 1\)"):
            model.predict(ids)
    assert fr.Sequential([fr.Embedding(10, 4, input_length=5)]).output_shape == (None, 5, 4)


def test_a_layer_error_inside_a_model_names_the_layer():
    model = fr.Sequential([fr.Masking(), fr.LSTM(3), fr.Dense(1)], name="m")
    with pytest.raises(ValueError, match=r"model 'm', layer 'lstm.*\(LSTM, layer 2 of 3\), "
                                         r"given inputs of shape \(2, 5, 1, 4\)"):
        model.predict(RNG.normal(size=(2, 5, 1, 4)))


def test_initial_state_as_nested_python_lists():
    layer = fr.LSTM(4, return_state=True)
    h, c = RNG.normal(size=(2, 3, 4)).astype("float32")
    with_arrays = layer(X, initial_state=[h, c])
    with_lists = layer(X, initial_state=[h.tolist(), c.tolist()])
    for a, b in zip(with_arrays, with_lists):
        np.testing.assert_array_equal(a, b)
    single = fr.GRU(4)
    np.testing.assert_array_equal(single(X, initial_state=h.tolist()),
                                  single(X, initial_state=[h]))
    with pytest.raises(ValueError, match="2 state.*received 1 value"):
        layer(X, initial_state=[h.tolist()])


def test_set_weights_before_build():
    weights = [np.zeros((4, 12)), np.zeros((3, 12)), np.zeros(12)]
    with pytest.raises(ValueError, match="not built yet.*build"):
        fr.LSTM(3).set_weights(weights)
    layer = fr.LSTM(3, batch_input_shape=(None, None, 4))   # tf.keras builds from it
    layer.set_weights(weights)
    assert layer.built
    np.testing.assert_array_equal(layer(X), np.zeros((3, 3)))
    model = fr.Sequential([fr.Input((None, 4)), fr.GRU(2)])
    model.set_weights([w for w in model.get_weights()])


def test_load_keras_accepts_file_objects_and_paths():
    pytest.importorskip("h5py")
    arrays = np.load(os.path.join(FIXTURES, "keras2_models.npz"))
    x, y = arrays["stacked_lstm/x"], arrays["stacked_lstm/y"]
    for name in ("keras2_stacked_lstm.keras", "keras2_stacked_lstm.h5"):
        path = os.path.join(FIXTURES, name)
        with open(path, "rb") as f:
            from_file = load_keras(f)
        from_bytes = load_keras(io.BytesIO(pathlib.Path(path).read_bytes()))
        from_pathlike = load_keras(pathlib.Path(path))
        for model in (from_file, from_bytes, from_pathlike):
            np.testing.assert_allclose(model.predict(x), y, rtol=1e-5, atol=1e-6)
    with open(os.path.join(FIXTURES, "keras2_stacked_lstm.h5"), encoding="latin-1") as text:
        with pytest.raises(TypeError, match="binary mode"):
            load_keras(text)
    with pytest.raises(ValueError, match="file object"):
        load_keras(io.BytesIO(b"not a model file"))
    with pytest.raises(TypeError, match="path must be"):
        load_keras(3)


# ---- the package: from_torch, repr, docstrings -------------------------------------------

def _torch_state(rng, prefix=""):
    state = {f"{prefix}weight_ih_l0": rng.normal(size=(16, 3)),
             f"{prefix}weight_hh_l0": rng.normal(size=(16, 4)),
             f"{prefix}bias_ih_l0": rng.normal(size=16), f"{prefix}bias_hh_l0": rng.normal(size=16)}
    return {k: v.astype("float32") for k, v in state.items()}


def test_from_torch_accepts_np_load_and_a_prefix(tmp_path):
    rng = np.random.default_rng(3)
    state = _torch_state(rng)
    x = rng.normal(size=(2, 5, 3)).astype("float32")
    want, (h, c) = run_rnn("lstm", x, state["weight_ih_l0"].T, state["weight_hh_l0"].T,
                           state["bias_ih_l0"] + state["bias_hh_l0"], return_sequences=True)
    np.savez(tmp_path / "lstm.npz", **state)
    with np.load(tmp_path / "lstm.npz") as npz:
        rnn = from_torch(npz, mode="LSTM", batch_first=True)
    out, (h_n, c_n) = rnn(x)
    np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)
    model_state = {**_torch_state(np.random.default_rng(3), "lstm."),
                   "fc.weight": np.ones((2, 4)), "fc.bias": np.zeros(2)}
    with pytest.raises(ValueError, match=r"prefixes \['lstm.'\].*prefix="):
        from_torch(model_state, mode="LSTM", batch_first=True)
    with pytest.raises(ValueError, match=r"prefix='gru.'.*\['lstm.'\]"):
        from_torch(model_state, mode="LSTM", batch_first=True, prefix="gru.")
    by_prefix = from_torch(model_state, mode="LSTM", batch_first=True, prefix="lstm.")
    np.testing.assert_array_equal(by_prefix(x)[0], out)


def test_from_torch_prefix_on_a_real_torch_model():
    torch = pytest.importorskip("torch")

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = torch.nn.GRU(3, 4, num_layers=2, batch_first=True)
            self.head = torch.nn.Linear(4, 2)

    model = Model()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}
    rnn = from_torch(state, mode="GRU", batch_first=True, prefix="encoder.")
    x = np.random.default_rng(0).normal(size=(2, 6, 3)).astype("float32")
    with torch.no_grad():
        want, h = model.encoder(torch.from_numpy(x))
    out, h_n = rnn(x)
    np.testing.assert_allclose(out, want.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(h_n, h.numpy(), rtol=1e-4, atol=1e-5)


def test_repr_says_what_a_layer_is():
    layer = fr.LSTM(64, return_sequences=True, name="enc")
    assert repr(layer) == "<LSTM name='enc' units=64 return_sequences=True>"
    layer(np.zeros((2, 10, 8), "float32"))
    assert repr(layer) == ("<LSTM name='enc' units=64 return_sequences=True built "
                           "input_shape=(2, 10, 8) output_shape=(2, 10, 64)>")
    model = fr.Sequential([fr.Input((None, 8)), fr.GRU(4), fr.Dense(2, activation="softmax")],
                          name="clf")
    text = repr(model)
    assert text.startswith("<Sequential name='clf' input_shape=(None, None, 8) "
                           "output_shape=(None, 2) layers=[<GRU name=")
    assert "units=4" in text and "activation='softmax'" in text
    assert "cell=[LSTMCell(state_size=[3, 3]), GRUCell(state_size=2)]" in repr(
        fr.RNN([fr.LSTMCell(3), fr.GRUCell(2)]))
    assert "layer=<LSTM units=3>" in repr(fr.Bidirectional(fr.LSTM(3)))
    assert "hidden_size=4" in repr(from_torch(_torch_state(RNG), mode="LSTM",
                                              batch_first=True))


@pytest.mark.parametrize("cls,arguments", [
    (fr.RNN, ["mask", "training", "initial_state", "constants"]),
    (fr.LSTM, ["mask", "training", "initial_state", "constants"]),
    (fr.Bidirectional, ["mask", "initial_state", "constants"]),
    (fr.Sequential, ["training", "mask"]),
    (fr.Layer, ["inputs"]),
])
def test_call_docstrings_list_the_call_arguments(cls, arguments):
    doc = cls.__call__.__doc__
    assert "see the class docstring" not in doc
    for argument in arguments:
        assert f"{argument} :" in doc, argument


# ---- neighbours tf.keras scripts call ------------------------------------------------------

def test_sequential_get_layer_pop_count_params_inputs_outputs():
    model = fr.Sequential([fr.Input((None, 4)), fr.LSTM(3, name="enc"), fr.Dense(2, name="out")])
    assert model.get_layer("enc") is model.layers[0] and model.get_layer(index=-1).name == "out"
    with pytest.raises(ValueError, match="no layer named 'dec'.*'enc', 'out'"):
        model.get_layer("dec")
    with pytest.raises(ValueError, match="either"):
        model.get_layer()
    # LSTM(3) on 4 features: 4*12 + 3*12 + 12; Dense: 3*2 + 2
    assert model.count_params() == 96 + 8 and model.layers[0].count_params() == 96
    assert model.inputs[0].shape == (None, None, 4) and model.outputs[0].shape == (None, 2)
    model.pop()
    assert [layer.name for layer in model.layers] == ["enc"] and model.output_shape == (None, 3)
    with pytest.raises(ValueError, match="not built"):
        fr.GRU(2).count_params()
    with pytest.raises(TypeError, match="no layers"):
        fr.Sequential().pop()
    assert fr.layers.Dense is fr.Dense and fr.layers.Bidirectional is fr.Bidirectional


def test_declared_input_shape_checks_rank_and_features_not_length():
    model = fr.Sequential([fr.Input((7, 3)), fr.GRU(2)])
    assert model.predict(RNG.normal(size=(2, 10, 3))).shape == (2, 2)   # other lengths run
    with pytest.raises(ValueError, match=r"expects inputs of shape \(None, 7, 3\)"):
        model.predict(RNG.normal(size=(2, 7, 4)))


@pytest.mark.parametrize("version", ["keras2", "keras3"])
@pytest.mark.parametrize("name", ["emb_bilstm", "stacked_lstm", "masking_gru_simplernn"])
def test_model_from_json_of_a_keras_sequential(version, name):
    """tf.keras's ``model.to_json()`` (the config.json of a .keras file) builds the model;
    with the model's weights it predicts what the Keras model predicted."""
    import zipfile
    with zipfile.ZipFile(os.path.join(FIXTURES, f"{version}_{name}.keras")) as archive:
        text = archive.read("config.json").decode()
    model = fr.models.model_from_json(text)
    arrays = np.load(os.path.join(FIXTURES, f"{version}_models.npz"))
    weights = [arrays[f"{name}/w{i}"] for i in range(len(model.get_weights()))]
    model.set_weights(weights)
    x, y = arrays[f"{name}/x"], arrays[f"{name}/y"]
    np.testing.assert_allclose(model.predict(x), y, rtol=1e-5, atol=1e-6)
