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

from .activation import (ELU, ActivityRegularization, Activation, AlphaDropout,  # noqa: E402
                         GaussianDropout, GaussianNoise, Identity, LeakyReLU, ReLU,
                         SpatialDropout1D)
from .attention import AdditiveAttention, Attention  # noqa: E402
from .conv import Conv1D  # noqa: E402
from .merge import (Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply,  # noqa: E402
                    Subtract)
from .normalization import BatchNormalization, LayerNormalization  # noqa: E402
from .pooling import (AveragePooling1D, GlobalAveragePooling1D,  # noqa: E402
                      GlobalMaxPooling1D, MaxPooling1D)
from .reshaping import (Cropping1D, Flatten, Permute, RepeatVector, Reshape,  # noqa: E402
                        UpSampling1D, ZeroPadding1D)
from .time_distributed import TimeDistributed  # noqa: E402

#: The layers around recurrent layers (issue 13), exported here and from ``fastrnn``.
MODEL_LAYERS = ["Conv1D", "MaxPooling1D", "AveragePooling1D", "GlobalMaxPooling1D",
                "GlobalAveragePooling1D", "LayerNormalization", "BatchNormalization",
                "TimeDistributed", "Activation", "SpatialDropout1D", "GaussianNoise",
                "GaussianDropout", "Flatten", "Reshape", "Permute", "RepeatVector",
                "Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
                "Dot", "Attention", "AdditiveAttention", "ZeroPadding1D", "Cropping1D",
                "UpSampling1D", "ReLU", "LeakyReLU", "ELU", "AlphaDropout",
                "ActivityRegularization", "Identity"]
__all__ += MODEL_LAYERS
