"""fastrnn layers: the tf.keras RNN API on NumPy arrays (see ``fastrnn`` for the tour)."""
from .base import Input, Layer, Placeholder, TensorShape, deserialize, serialize
from .cells import (AbstractRNNCell, DropoutRNNCellMixin, GRUCell, LSTMCell, SimpleRNNCell,
                    StackedRNNCells, TfLiteRNNCell)
from .recurrent import GRU, LSTM, SimpleRNN
from .core import Dense, Dropout, Embedding, InputLayer, Masking
from .rnn import RNN
from .wrappers import Bidirectional

__all__ = ["Layer", "Input", "Placeholder", "TensorShape", "AbstractRNNCell",
           "DropoutRNNCellMixin", "SimpleRNNCell", "LSTMCell", "GRUCell", "TfLiteRNNCell",
           "StackedRNNCells", "RNN", "SimpleRNN", "LSTM", "GRU", "InputLayer", "Embedding",
           "Masking", "Dense", "Dropout", "Bidirectional", "serialize", "deserialize"]
