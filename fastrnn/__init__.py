"""fastrnn: fast CPU inference for recurrent networks with the tf.keras RNN API."""
__version__ = "0.1.0"
