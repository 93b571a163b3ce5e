"""get_config / from_config round trips (tf.keras keys and nesting) and weight transfer."""
import json

import numpy as np
import pytest

import fastrnn as fr

NON_DEFAULT_CELL_ARGS = dict(
    activation="relu", use_bias=False,
    kernel_initializer={"class_name": "RandomNormal",
                        "config": {"mean": 0.5, "stddev": 0.2, "seed": 7}},
    recurrent_initializer=fr.initializers.Orthogonal(gain=2.0, seed=3),
    bias_initializer="ones",
    kernel_regularizer="l2", recurrent_regularizer=fr.regularizers.L1L2(l1=0.1, l2=0.2),
    bias_regularizer={"class_name": "L1", "config": {"l1": 0.3}},
    kernel_constraint="non_neg", recurrent_constraint=fr.constraints.MaxNorm(3, axis=1),
    bias_constraint={"class_name": "MinMaxNorm",
                     "config": {"min_value": 0.1, "max_value": 2.0, "rate": 0.5, "axis": 0}},
    dropout=0.25, recurrent_dropout=0.5)

LAYERS = {
    "SimpleRNNCell": lambda: fr.SimpleRNNCell(3, **NON_DEFAULT_CELL_ARGS, name="s"),
    "LSTMCell": lambda: fr.LSTMCell(3, recurrent_activation="hard_sigmoid",
                                    unit_forget_bias=False, **NON_DEFAULT_CELL_ARGS),
    "GRUCell": lambda: fr.GRUCell(3, reset_after=False, dtype="float64",
                                  **NON_DEFAULT_CELL_ARGS),
    "TfLiteRNNCell": lambda: fr.TfLiteRNNCell(4, activation="relu", reuse=True),
    "SimpleRNN": lambda: fr.SimpleRNN(3, return_sequences=True, go_backwards=True,
                                      activity_regularizer="l1", **NON_DEFAULT_CELL_ARGS),
    "LSTM": lambda: fr.LSTM(3, stateful=True, batch_input_shape=(2, 5, 4), unroll=True,
                            time_major=True, zero_output_for_mask=True, implementation=1,
                            **NON_DEFAULT_CELL_ARGS),
    "GRU": lambda: fr.GRU(3, reset_after=False, return_state=True, dtype="float64",
                          trainable=False, **NON_DEFAULT_CELL_ARGS),
    "RNN": lambda: fr.RNN(fr.LSTMCell(2, seed=5), return_sequences=True,
                          zero_output_for_mask=True, name="my_rnn"),
    "RNN_stacked": lambda: fr.RNN([fr.LSTMCell(2), fr.GRUCell(3), fr.TfLiteRNNCell(2)],
                                  return_state=True, stateful=True, batch_size=4),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_config_round_trip_is_exact(name):
    layer = LAYERS[name]()
    config = layer.get_config()
    json.dumps(config)
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    again = fr.layers.deserialize(fr.layers.serialize(rebuilt))
    assert type(again) is type(layer) and again.get_config() == config


def test_config_keys_are_tf_keras_ones():
    config = fr.LSTM(3).get_config()
    assert set(config) == {
        "name", "trainable", "dtype", "return_sequences", "return_state", "go_backwards",
        "stateful", "unroll", "time_major", "units", "activation", "recurrent_activation",
        "use_bias", "kernel_initializer", "recurrent_initializer", "bias_initializer",
        "unit_forget_bias", "kernel_regularizer", "recurrent_regularizer", "bias_regularizer",
        "activity_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
        "dropout", "recurrent_dropout", "implementation"}
    assert config["kernel_initializer"] == {"class_name": "GlorotUniform",
                                            "config": {"seed": None}}
    assert config["activation"] == "tanh" and config["implementation"] == 2
    rnn = fr.RNN(fr.GRUCell(2)).get_config()
    assert "zero_output_for_mask" not in rnn
    assert rnn["cell"]["class_name"] == "GRUCell" and rnn["cell"]["config"]["units"] == 2
    assert fr.RNN(fr.GRUCell(2), zero_output_for_mask=True).get_config()["zero_output_for_mask"]
    assert fr.LSTM(2, input_shape=(5, 3)).get_config()["batch_input_shape"] == (None, 5, 3)
    assert fr.SimpleRNN(2, input_dim=3, input_length=4).get_config()["batch_input_shape"] == \
        (None, 4, 3)


def test_non_default_values_are_restored():
    layer = fr.LSTM.from_config(LAYERS["LSTM"]().get_config())
    cell = layer.cell
    assert cell.activation is fr.activations.relu and not cell.use_bias
    assert isinstance(cell.kernel_initializer, fr.initializers.RandomNormal)
    assert cell.kernel_initializer.seed == 7
    assert cell.recurrent_regularizer.l1 == pytest.approx(0.1)
    assert isinstance(cell.recurrent_constraint, fr.constraints.MaxNorm)
    assert cell.recurrent_constraint.axis == 1
    assert cell.dropout == 0.25 and cell.implementation == 1
    assert layer.stateful and layer.time_major and layer.unroll and layer.zero_output_for_mask
    assert layer._batch_input_shape == (2, 5, 4)
    simple = fr.SimpleRNN.from_config(LAYERS["SimpleRNN"]().get_config())
    assert isinstance(simple.activity_regularizer, fr.regularizers.L1)


def test_keras_extras_are_accepted():
    config = fr.LSTM(3).get_config()
    config.update({"dtype": {"module": "keras", "class_name": "DTypePolicy",
                             "config": {"name": "float64"}, "registered_name": None},
                   "implementation": 0 + 1, "enable_caching_device": True})
    config["kernel_initializer"] = {"module": "keras.initializers", "class_name": "GlorotUniform",
                                    "config": {"seed": 2}, "registered_name": None}
    layer = fr.LSTM.from_config(config)
    assert layer.dtype == "float64" and layer.cell.dtype == "float64"
    assert layer.cell.kernel_initializer.seed == 2
    cell = fr.layers.deserialize({"module": "keras.layers", "class_name": "GRUCell",
                                  "config": {"units": 2, "reset_after": False,
                                             "dtype": "float32", "name": "g"},
                                  "registered_name": None})
    assert cell.units == 2 and not cell.reset_after
    listed = fr.RNN.from_config({"cell": [{"class_name": "LSTMCell", "config": {"units": 2}},
                                          {"class_name": "GRUCell", "config": {"units": 3}}]})
    assert isinstance(listed.cell, fr.StackedRNNCells) and len(listed.cell.cells) == 2


def test_custom_cell_config_with_custom_objects():
    class Cell(fr.AbstractRNNCell):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        @property
        def state_size(self):
            return self.units

        def call(self, inputs, states):
            return states[0] + 1, states[0] + 1

        def get_config(self):
            return dict(super().get_config(), units=self.units)

    layer = fr.RNN([Cell(2), Cell(3)], go_backwards=True)
    config = layer.get_config()
    with pytest.raises(ValueError, match="custom_objects"):
        fr.RNN.from_config(config)
    rebuilt = fr.RNN.from_config(config, custom_objects={"Cell": Cell})
    assert rebuilt.get_config() == config
    assert [c.units for c in rebuilt.cell.cells] == [2, 3]


def test_python_callable_activation_serializes_by_name():
    def my_act(x):
        return np.tanh(x)

    config = fr.SimpleRNN(2, activation=my_act).get_config()
    assert config["activation"] == "my_act"
    restored = fr.SimpleRNNCell.from_config(
        {"units": 2, "activation": fr.activations.deserialize("my_act",
                                                              {"my_act": my_act})})
    assert restored.activation is my_act


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_weights_transfer_between_equal_layers(name):
    rng = np.random.default_rng(1)
    source, target = LAYERS[name](), LAYERS[name]()
    shape = (4, 5, 6) if name != "LSTM" else (5, 2, 6)
    if name in ("SimpleRNNCell", "LSTMCell", "GRUCell", "TfLiteRNNCell"):
        shape = (4, 6)
    source.build(shape)
    target.build(shape)
    weights = [rng.normal(size=w.shape) for w in source.get_weights()]
    source.set_weights(weights)
    target.set_weights(source.get_weights())
    for a, b in zip(source.get_weights(), target.get_weights()):
        np.testing.assert_array_equal(a, b)
    for got, want in zip(target.get_weights(), weights):
        np.testing.assert_allclose(got, want, rtol=1e-6)


def test_weights_kwarg_sets_initial_weights():
    weights = [np.full((3, 8), 0.1), np.full((2, 8), 0.2), np.full((8,), 0.3)]
    layer = fr.LSTM(2, weights=weights)
    layer(np.ones((1, 2, 3), "float32"))
    for got, want in zip(layer.get_weights(), weights):
        np.testing.assert_allclose(got, want)
