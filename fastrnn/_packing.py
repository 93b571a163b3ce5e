"""Weight packing: Keras-layout weights -> the recurrent micro-kernel's panel layout.

Done once when weights are set, never per call.  Hidden units are grouped in panels of
``NB = 64 bytes / itemsize`` units (16 float32, 8 float64), padded with zeros to a whole
number of panels; a weight ``W`` of shape ``(K, blocks * units)`` (Keras: ``blocks``
gate blocks of ``units`` columns) becomes

    packed[p, g, k, l] = W[k, g * units + p * NB + l]

so a panel holds every gate of the same NB units (the micro-kernel's tile covers all
gates of its units, and its epilogue needs nothing outside the tile), each gate block
contiguous in ``k``: one 64-byte line per ``k``, read as a sequential stream.
Packed arrays are 64-byte aligned and read-only.
"""
import numpy as np

from ._kernels import _rnn


def panel_units(dtype):
    """Units per panel for ``dtype``."""
    return _rnn.panel_units(np.dtype(dtype).itemsize)


def aligned_empty(shape, dtype):
    """An uninitialised C-contiguous array whose data starts on a 64-byte boundary."""
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + _rnn.ALIGNMENT, np.uint8)
    start = -raw.ctypes.data % _rnn.ALIGNMENT
    return raw[start:start + nbytes].view(dtype).reshape(shape)


def pack_gates(weight, blocks, units, dtype):
    """``weight`` (K, blocks * units) or a bias (blocks * units,) -> packed, read-only.

    Returns an array (panels, blocks, K, NB), or (panels, blocks, NB) for a bias.
    """
    dtype = np.dtype(dtype)
    weight = np.asarray(weight)
    bias = weight.ndim == 1
    rows = weight.reshape(1 if bias else weight.shape[0], blocks, units)
    nb = panel_units(dtype)
    panels = -(-units // nb)
    padded = np.zeros((rows.shape[0], blocks, panels * nb), dtype)
    padded[:, :, :units] = rows
    shape = (panels, blocks, nb) if bias else (panels, blocks, rows.shape[0], nb)
    packed = aligned_empty(shape, dtype)
    packed[...] = padded.reshape(rows.shape[0], blocks, panels, nb).transpose(2, 1, 0, 3) \
        .reshape(shape)
    packed.flags.writeable = False
    return packed


def packed_nbytes(*arrays):
    """Bytes held by packed arrays (the report of a layer's weight memory)."""
    return sum(a.nbytes for a in arrays if a is not None)
