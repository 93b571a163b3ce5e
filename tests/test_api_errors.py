"""Misuse gets a clear exception naming the argument, the expected and the received value."""
import re

import numpy as np
import pytest

import fastrnn as fr


def python_relu(x):
    return np.maximum(x, 0)


@pytest.fixture(params=["kernel", "step_loop"])
def built_lstm(request):
    """An LSTM(5) built for 4 features, run by the kernel or by the Python step loop."""
    activation = "tanh" if request.param == "kernel" else python_relu
    layer = fr.LSTM(5, activation=activation, return_state=True)
    layer(np.zeros((3, 7, 4), "float32"))
    return layer


@pytest.mark.parametrize("shape", [(3, 4), (4,), (3, 7, 4, 1)])
def test_wrong_input_rank(built_lstm, shape):
    received = re.escape(str(shape))
    with pytest.raises(ValueError, match=r"inputs (must|has per-step shape).*" + received):
        built_lstm(np.zeros(shape, "float32"))


def test_wrong_input_rank_at_build():
    with pytest.raises(ValueError, match=r"rank 3 or more.*\(3, 4\)"):
        fr.GRU(2)(np.zeros((3, 4)))


def test_feature_size_differs_from_the_built_one(built_lstm):
    with pytest.raises(ValueError, match=r"inputs has .*5.* built for .*4"):
        built_lstm(np.zeros((3, 7, 5), "float32"))


def test_inputs_must_be_real_numbers(built_lstm):
    with pytest.raises(TypeError, match="inputs must contain real numbers"):
        built_lstm(np.zeros((3, 7, 4), complex))
    with pytest.raises(TypeError, match="inputs"):
        built_lstm(np.array([["a"] * 4] * 7 * 3).reshape(3, 7, 4))


@pytest.mark.parametrize("mask_shape", [(7, 3), (3, 6), (3,), (3, 7, 1)])
def test_mask_of_the_wrong_shape(built_lstm, mask_shape):
    with pytest.raises(ValueError, match=r"mask must have shape \(batch, time\) = \(3, 7\), "
                                         r"got " + str(tuple(mask_shape)).replace("(", r"\(")
                       .replace(")", r"\)")):
        built_lstm(np.zeros((3, 7, 4), "float32"), mask=np.ones(mask_shape, bool))


def test_mask_of_the_wrong_dtype(built_lstm):
    with pytest.raises(TypeError, match="mask must be boolean, got dtype <U1"):
        built_lstm(np.zeros((3, 7, 4), "float32"), mask=np.full((3, 7), "x"))


def test_time_major_mask_layout_is_named():
    layer = fr.GRU(2, time_major=True)
    with pytest.raises(ValueError, match=r"\(time, batch\) = \(7, 3\), got \(3, 7\)"):
        layer(np.zeros((7, 3, 4)), mask=np.ones((3, 7), bool))


def test_initial_state_of_the_wrong_count(built_lstm):
    x = np.zeros((3, 7, 4), "float32")
    with pytest.raises(ValueError, match=r"initial_state: layer .* has 2 state\(s\) of shapes "
                                         r"\[\(3, 5\), \(3, 5\)\], but received 1"):
        built_lstm(x, initial_state=[np.zeros((3, 5))])
    with pytest.raises(ValueError, match="received 3"):
        built_lstm(x, initial_state=[np.zeros((3, 5))] * 3)


def test_initial_state_of_the_wrong_shape(built_lstm):
    with pytest.raises(ValueError, match=r"initial_state\[1\] must have shape \(3, 5\), "
                                         r"got \(3, 4\)"):
        built_lstm(np.zeros((3, 7, 4), "float32"),
                   initial_state=[np.zeros((3, 5)), np.zeros((3, 4))])


def test_initial_state_of_stacked_cells():
    layer = fr.RNN([fr.LSTMCell(2), fr.GRUCell(3)])
    x = np.zeros((2, 4, 3), "float32")
    with pytest.raises(ValueError, match=r"has 3 state\(s\) of shapes \[\(2, 2\), \(2, 2\), "
                                         r"\(2, 3\)\], but received 2"):
        layer(x, initial_state=[np.zeros((2, 2)), np.zeros((2, 3))])
    with pytest.raises(ValueError, match=r"initial_state\[2\] must have shape \(2, 3\)"):
        layer(x, initial_state=[[np.zeros((2, 2)), np.zeros((2, 2))], np.zeros((2, 2))])


def test_reset_states_on_a_non_stateful_layer():
    with pytest.raises(AttributeError, match="not stateful"):
        fr.LSTM(2).reset_states()


def test_reset_states_with_unknown_batch_size():
    layer = fr.LSTM(2, stateful=True)
    with pytest.raises(ValueError, match="batch size"):
        layer.reset_states()
    with pytest.raises(ValueError, match="batch_input_shape"):
        layer.reset_states(states=[np.zeros((1, 2))] * 2)
    fr.LSTM(2, stateful=True, batch_size=3).reset_states()   # known from batch_size


def test_reset_states_with_wrong_values():
    layer = fr.LSTM(2, stateful=True, batch_input_shape=(3, 4, 5))
    layer(np.ones((3, 4, 5), "float32"))
    before = [s.copy() for s in layer.states]
    with pytest.raises(ValueError, match=r"has 2 state\(s\) of shapes \[\(3, 2\), \(3, 2\)\], "
                                         r"but received 1"):
        layer.reset_states(states=[np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"states\[1\] must have shape \(3, 2\), got \(2, 2\)"):
        layer.reset_states(states=[np.zeros((3, 2)), np.zeros((2, 2))])
    with pytest.raises(ValueError, match=r"states\[0\] must contain real numbers"):
        layer.reset_states(states=[np.zeros((3, 2), complex), np.zeros((3, 2))])
    with pytest.raises(ValueError, match=r"states\[0\]"):
        layer.reset_states(states=[np.full((3, 2), "a"), np.zeros((3, 2))])
    for got, want in zip(layer.states, before):    # nothing changed
        np.testing.assert_array_equal(got, want)
    layer.reset_states(states=[np.ones((3, 2), int), np.zeros((3, 2), bool)])
    assert layer.states[0].dtype == np.float32 and np.all(layer.states[0] == 1)


def test_stateful_batch_size_is_fixed():
    layer = fr.GRU(2, stateful=True)
    layer(np.ones((3, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"stored states have shape \(3, 2\).*batch size 2"):
        layer(np.ones((2, 4, 5), "float32"))
    python = fr.GRU(2, stateful=True, activation=python_relu)
    python(np.ones((3, 4, 5), "float32"))
    with pytest.raises(ValueError, match=r"batch size 3.*batch size 2"):
        python(np.ones((2, 4, 5), "float32"))


@pytest.mark.parametrize("argument", ["activation", "recurrent_activation"])
def test_unknown_activation_name(argument):
    with pytest.raises(ValueError, match=r"Unknown activation 'gelu_fast'.*'hard_sigmoid'"):
        fr.LSTM(2, **{argument: "gelu_fast"})
    with pytest.raises(TypeError, match="activation must be"):
        fr.LSTM(2, **{argument: 3})


@pytest.mark.parametrize("argument", ["kernel_initializer", "recurrent_initializer",
                                      "bias_initializer"])
def test_unknown_initializer_name(argument):
    with pytest.raises(ValueError, match=r"Unknown initializer 'glorot_unifrom'"):
        fr.GRU(2, **{argument: "glorot_unifrom"})


def test_unknown_regularizer_and_constraint_names():
    with pytest.raises(ValueError, match="Unknown regularizer 'l3'"):
        fr.SimpleRNN(2, kernel_regularizer="l3")
    with pytest.raises(ValueError, match="Unknown constraint 'positive'"):
        fr.SimpleRNN(2, kernel_constraint="positive")


def test_set_weights_of_the_wrong_shape_changes_nothing():
    layer = fr.LSTM(3)
    layer(np.ones((1, 2, 4), "float32"))
    before = layer.get_weights()
    out_before = layer(np.ones((1, 2, 4), "float32"))
    good = [np.ones_like(w) for w in before]
    with pytest.raises(ValueError, match=r"weights\[1\] \(recurrent_kernel\) must have shape "
                                         r"\(3, 12\), got \(12, 3\)"):
        layer.set_weights([good[0], good[1].T, good[2]])
    with pytest.raises(ValueError, match=r"has 3 weights .* got a list of 2"):
        layer.set_weights(good[:2])
    with pytest.raises(TypeError, match=r"weights\[2\] \(bias\) must contain real numbers"):
        layer.set_weights([good[0], good[1], np.ones(12, complex)])
    for got, want in zip(layer.get_weights(), before):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(layer(np.ones((1, 2, 4), "float32")), out_before)


@pytest.mark.parametrize("units, error", [(0, ValueError), (-2, ValueError), (2.5, TypeError),
                                          ("3", TypeError), (True, TypeError)])
def test_units_must_be_a_positive_integer(units, error):
    with pytest.raises(error, match="units must be a positive integer"):
        fr.LSTMCell(units)


def test_unknown_constructor_and_call_arguments():
    with pytest.raises(TypeError, match=r"not understood: \['retrun_sequences'\]"):
        fr.LSTM(2, retrun_sequences=True)
    with pytest.raises(TypeError, match=r"unexpected argument\(s\) \['initial_states'\]"):
        fr.LSTM(2)(np.ones((1, 2, 3)), initial_states=[])


def test_dtype_must_be_float32_or_float64():
    with pytest.raises(TypeError, match="dtype must be 'float32' or 'float64', got float16"):
        fr.LSTM(2, dtype="float16")
    with pytest.raises(TypeError, match="dtype must be 'float32' or 'float64'"):
        fr.LSTM(2, dtype={"class_name": "DTypePolicy", "config": {"name": "mixed_float16"}})


def test_objects_that_are_not_cells():
    with pytest.raises(ValueError, match="`call` method"):
        fr.RNN(object())

    class NoState(fr.Layer):
        def call(self, inputs, states):
            return inputs, states

    with pytest.raises(ValueError, match="`state_size`"):
        fr.RNN(NoState())


def test_cell_returning_the_wrong_number_of_states():
    class Bad(fr.Layer):
        state_size = [2, 2]

        def call(self, inputs, states):
            return states[0], [states[0]]

    with pytest.raises(ValueError, match=r"returned 1 state\(s\), but its state_size has 2"):
        fr.RNN(Bad())(np.ones((1, 3, 2)))


def test_constants_need_a_cell_accepting_them():
    with pytest.raises(ValueError, match="does not accept `constants`"):
        fr.SimpleRNN(2)(np.ones((1, 3, 2)), constants=[np.ones((1, 2))])
