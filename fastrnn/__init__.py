"""fastrnn: fast CPU inference for recurrent networks with the tf.keras RNN API.

NumPy arrays in and out; each built-in layer's whole time loop runs in a
compiled kernel.

Examples
--------
>>> import numpy as np
>>> import fastrnn as fr
>>> layer = fr.LSTM(4, return_sequences=True)
>>> layer(np.zeros((2, 5, 3), "float32")).shape
(2, 5, 4)
"""
__version__ = "0.1.0"

from . import activations, backend, constraints, initializers, layers, regularizers
from .layers import (GRU, LSTM, RNN, AbstractRNNCell, GRUCell, Input, Layer, LSTMCell,
                     SimpleRNN, SimpleRNNCell, StackedRNNCells, TensorShape, TfLiteRNNCell)

__all__ = ["__version__", "Layer", "Input", "TensorShape", "AbstractRNNCell", "SimpleRNNCell",
           "LSTMCell", "GRUCell", "TfLiteRNNCell", "StackedRNNCells", "RNN", "SimpleRNN",
           "LSTM", "GRU", "activations", "backend", "constraints", "initializers", "layers",
           "models", "regularizers"]

from . import convert  # noqa: E402
from ._threads import get_num_threads, num_threads, set_num_threads  # noqa: E402
from .layers.core import Dense, Dropout, Embedding, InputLayer, Masking  # noqa: E402
from .layers.wrappers import Bidirectional  # noqa: E402
from .models import Sequential  # noqa: E402

__all__ += ["InputLayer", "Embedding", "Masking", "Dense", "Dropout", "Bidirectional",
            "Sequential", "convert", "set_num_threads", "get_num_threads", "num_threads"]

from .layers import (ELU, ActivityRegularization, Activation, Add,  # noqa: E402
                     AdditiveAttention, AlphaDropout, Attention, Average, AveragePooling1D,
                     BatchNormalization, Concatenate, Conv1D, Cropping1D, Dot, Flatten,
                     GaussianDropout, GaussianNoise, GlobalAveragePooling1D,
                     GlobalMaxPooling1D, Identity, LayerNormalization, LeakyReLU, Maximum,
                     MaxPooling1D, Minimum, Multiply, Permute, ReLU, RepeatVector, Reshape,
                     SpatialDropout1D, Subtract, TimeDistributed, UpSampling1D, ZeroPadding1D)
from .layers import MODEL_LAYERS as _MODEL_LAYERS  # noqa: E402

__all__ += _MODEL_LAYERS
