"""Every example of the seeds (/work/shared/seeds), run with the renames of DESIGN.md.

``keras.`` / ``tf.keras.layers.`` become ``fr.``, ``K`` is ``fr.backend``, and
``tf.random.normal(shape)`` is a NumPy array.  Each example runs as written,
then its values are checked against a plain NumPy computation.
"""
import numpy as np
import pytest

import fastrnn as fr
from oracle import run_rnn

K = fr.backend
keras = fr          # the seeds' `keras.` namespace
RNN = fr.RNN


def numpy_minimal_rnn(x, kernels):
    """The MinimalRNNCell recurrence h' = x W + h U, stacked over ``kernels``."""
    for kernel, recurrent_kernel in kernels:
        h, outputs = np.zeros((x.shape[0], kernel.shape[1])), []
        for t in range(x.shape[1]):
            h = x[:, t] @ kernel + h @ recurrent_kernel
            outputs.append(h)
        x = np.stack(outputs, axis=1)
    return x[:, -1]


# --- RNN seed -----------------------------------------------------------------

class MinimalRNNCell(keras.Layer):   # seed: class MinimalRNNCell(keras.layers.Layer)

    def __init__(self, units, **kwargs):
        self.units = units
        self.state_size = units
        super(MinimalRNNCell, self).__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer='uniform',
                                      name='kernel')
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            initializer='uniform',
            name='recurrent_kernel')
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = K.dot(inputs, self.kernel)
        output = h + K.dot(prev_output, self.recurrent_kernel)
        return output, [output]


def test_rnn_seed_minimal_cell():
    # Let's use this cell in a RNN layer:

    cell = MinimalRNNCell(32)
    x = keras.Input((None, 5))
    layer = RNN(cell)
    y = layer(x)

    assert y.shape == (None, 32)
    assert cell.kernel.shape == (5, 32) and cell.recurrent_kernel.shape == (32, 32)
    values = np.random.default_rng(0).random((6, 4, 5))
    np.testing.assert_allclose(layer(values), numpy_minimal_rnn(
        values, [(cell.kernel, cell.recurrent_kernel)]), rtol=1e-5, atol=1e-6)


def test_rnn_seed_stacked_minimal_cells():
    # Here's how to use the cell to build a stacked RNN:

    cells = [MinimalRNNCell(32), MinimalRNNCell(64)]
    x = keras.Input((None, 5))
    layer = RNN(cells)
    y = layer(x)

    assert y.shape == (None, 64)
    assert [w.shape for w in layer.weights] == [(5, 32), (32, 32), (32, 64), (64, 64)]
    values = np.random.default_rng(1).random((3, 6, 5))
    kernels = [(c.kernel, c.recurrent_kernel) for c in cells]
    np.testing.assert_allclose(layer(values), numpy_minimal_rnn(values, kernels), rtol=1e-5,
                               atol=1e-5)


def test_rnn_seed_reset_states_with_numpy_states():
    """'You can specify the initial state of RNN layers numerically by calling
    reset_states with the keyword argument states.'"""
    layer = RNN(fr.LSTMCell(4), stateful=True, batch_input_shape=(2, 3, 5))
    states = [np.full((2, 4), 0.5), np.full((2, 4), -0.5)]
    layer.reset_states(states=states)
    for got, want in zip(layer.states, states):
        np.testing.assert_array_equal(got, want)
    x = np.random.default_rng(2).random((2, 3, 5))
    out = layer(x)
    kernel, recurrent, bias = layer.get_weights()
    want, _ = run_rnn("lstm", x, kernel, recurrent, bias, initial_state=states)
    np.testing.assert_allclose(out, want, atol=1e-5)
    with pytest.raises(AttributeError):
        RNN(fr.LSTMCell(4)).reset_states()


def test_rnn_seed_constants_note():
    """'Note on passing external constants to RNNs': the cell's call takes constants=."""
    class AttentionLikeCell(keras.Layer):
        def __init__(self, units, **kwargs):
            self.units = units
            self.state_size = units
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                          initializer="ones", name="kernel")
            self.built = True

        def call(self, inputs, states, constants=None):
            return K.dot(inputs, self.kernel) + states[0] + constants[0], \
                [K.dot(inputs, self.kernel) + states[0] + constants[0]]

    layer = RNN(AttentionLikeCell(2))
    out = layer(np.ones((1, 3, 2)), constants=[np.full((1, 2), 10.0)])
    np.testing.assert_allclose(out, np.full((1, 2), 36.0))


# --- AbstractRNNCell seed --------------------------------------------------------

class AbstractMinimalRNNCell(fr.AbstractRNNCell):   # seed: class MinimalRNNCell(AbstractRNNCell)

    def __init__(self, units, **kwargs):
        self.units = units
        super(AbstractMinimalRNNCell, self).__init__(**kwargs)

    @property
    def state_size(self):
        return self.units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units),
                                      initializer='uniform',
                                      name='kernel')
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, self.units),
            initializer='uniform',
            name='recurrent_kernel')
        self.built = True

    def call(self, inputs, states):
        prev_output = states[0]
        h = K.dot(inputs, self.kernel)
        output = h + K.dot(prev_output, self.recurrent_kernel)
        return output, output


def test_abstract_rnn_cell_seed():
    cell = AbstractMinimalRNNCell(8)
    layer = RNN(cell, return_sequences=True, return_state=True)
    seq, state = layer(keras.Input((None, 3)))
    assert seq.shape == (None, None, 8) and state.shape == (None, 8)
    values = np.random.default_rng(3).random((4, 5, 3))
    seq, state = layer(values)
    want = numpy_minimal_rnn(values, [(cell.kernel, cell.recurrent_kernel)])
    np.testing.assert_allclose(state, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(seq[:, -1], want, rtol=1e-5, atol=1e-6)
    initial = cell.get_initial_state(batch_size=4, dtype="float32")
    assert initial.shape == (4, 8) and not initial.any()
    with pytest.raises(NotImplementedError):
        _ = cell.output_size


# --- LSTMCell seed ----------------------------------------------------------------

def test_lstm_cell_seed():
    inputs = np.random.normal(size=[32, 10, 8]).astype(np.float32)   # tf.random.normal
    rnn = fr.RNN(fr.LSTMCell(4))
    output = rnn(inputs)
    assert output.shape == (32, 4)
    rnn = fr.RNN(
        fr.LSTMCell(4),
        return_sequences=True,
        return_state=True)
    whole_seq_output, final_memory_state, final_carry_state = rnn(inputs)
    assert whole_seq_output.shape == (32, 10, 4)
    assert final_memory_state.shape == (32, 4)
    assert final_carry_state.shape == (32, 4)

    kernel, recurrent, bias = rnn.get_weights()
    want, (h, c) = run_rnn("lstm", inputs, kernel, recurrent, bias, return_sequences=True)
    np.testing.assert_allclose(whole_seq_output, want, atol=1e-5)
    np.testing.assert_allclose(final_memory_state, h, atol=1e-5)
    np.testing.assert_allclose(final_carry_state, c, atol=1e-5)


# --- SimpleRNNCell seed -----------------------------------------------------------

def test_simple_rnn_cell_seed():
    inputs = np.random.random([32, 10, 8]).astype(np.float32)
    rnn = fr.RNN(fr.SimpleRNNCell(4))

    output = rnn(inputs)  # The output has shape `[32, 4]`.
    assert output.shape == (32, 4)

    rnn = fr.RNN(
        fr.SimpleRNNCell(4),
        return_sequences=True,
        return_state=True)

    # whole_sequence_output has shape `[32, 10, 4]`.
    # final_state has shape `[32, 4]`.
    whole_sequence_output, final_state = rnn(inputs)
    assert whole_sequence_output.shape == (32, 10, 4) and final_state.shape == (32, 4)

    kernel, recurrent, bias = rnn.get_weights()
    want, (h,) = run_rnn("simple", inputs, kernel, recurrent, bias, return_sequences=True)
    np.testing.assert_allclose(whole_sequence_output, want, atol=1e-5)
    np.testing.assert_allclose(final_state, h, atol=1e-5)


# --- TfLiteRNNCell seed ------------------------------------------------------------

def test_tflite_rnn_cell_seed_api():
    cell = fr.TfLiteRNNCell(num_units=6, activation=None, reuse=None, name="rnn_cell", dtype=None)
    assert cell.state_size == 6 and cell.output_size == 6 and cell.name == "rnn_cell"
    zero = cell.zero_state(3, np.float64)
    assert zero.shape == (3, 6) and zero.dtype == np.float64
    inputs = np.random.default_rng(4).random((3, 5, 2))           # float64: the cell follows
    output, state = fr.RNN(cell, return_state=True)(inputs)
    assert cell.dtype == "float64" and output.dtype == np.float64
    input_weights, recurrent_weights, bias = cell.get_weights()
    assert input_weights.shape == (6, 2) and recurrent_weights.shape == (6, 6)
    want, _ = run_rnn("simple", inputs, input_weights.T, recurrent_weights.T, bias)
    np.testing.assert_allclose(output, want, atol=1e-12)
    np.testing.assert_array_equal(output, state)
    initial = cell.get_initial_state(inputs=inputs[:, 0], batch_size=None, dtype=None)
    assert initial.shape == (3, 6) and initial.dtype == np.float64 and not initial.any()
