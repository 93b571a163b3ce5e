"""Load tf.keras and PyTorch recurrent models into fastrnn, with no framework at run time.

* :func:`from_keras_config` -- one tf.keras layer config (+ weights) -> a fastrnn layer;
* :func:`load_keras` -- a ``.keras`` or legacy ``.h5`` model file -> :class:`fastrnn.Sequential`,
  or :class:`Model` for functional graphs (needs h5py: ``pip install 'fastrnn[files]'``);
* :func:`from_torch` -- a ``torch.nn.LSTM`` / ``GRU`` / ``RNN`` or its state_dict ->
  :class:`TorchRNN`, called like the torch module; ``nn.Linear``, ``Embedding``,
  ``LayerNorm``, ``Dropout``, ``Conv1d``, activations and ``nn.Sequential`` -> fastrnn
  layers; :func:`rnn_layers` puts a :class:`TorchRNN`'s layers in a fastrnn model.

Examples
--------
>>> import numpy as np
>>> import fastrnn.convert as fc
>>> rng = np.random.default_rng(0)
>>> state = {"weight_ih_l0": rng.normal(size=(8, 3)), "weight_hh_l0": rng.normal(size=(8, 2)),
...          "bias_ih_l0": np.zeros(8), "bias_hh_l0": np.zeros(8)}
>>> rnn = fc.from_torch(state, mode="LSTM", batch_first=True)
>>> output, (h_n, c_n) = rnn(np.ones((4, 5, 3), "float32"))
>>> output.shape, h_n.shape
((4, 5, 2), (1, 4, 2))
"""
from ._graph import Model
from ._keras import from_keras_config
from ._keras_files import load_keras
from ._torch import TorchRNN, from_torch
from ._torch_heads import rnn_layers

__all__ = ["from_keras_config", "load_keras", "from_torch", "TorchRNN", "Model", "rnn_layers"]
