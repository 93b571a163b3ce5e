"""Input checking: every value from a user is checked and cast here, once.

Each function raises ``ValueError`` / ``TypeError`` with a message naming the
argument, what was expected and what was received, so that nothing malformed
ever reaches the compiled kernels.
"""
import numpy as np

#: Largest dimension or stride BLAS takes (its integers are C ints).
BLAS_INT_MAX = 2**31 - 1

COMPUTE_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def compute_dtype(dtype, name="dtype"):
    """The float dtype a layer computes in: float32 (default) or float64."""
    if dtype is None:
        return np.dtype(np.float32)
    if isinstance(dtype, dict):  # a Keras DTypePolicy config
        dtype = dtype.get("config", {}).get("name", "float32")
    try:
        resolved = np.dtype(getattr(dtype, "name", dtype))
    except TypeError:
        raise TypeError(f"{name} must be 'float32' or 'float64', got {dtype!r}") from None
    if resolved not in COMPUTE_DTYPES:
        raise TypeError(f"{name} must be 'float32' or 'float64', got {resolved}")
    return resolved


def as_real_array(value, name, dtype, *, copy=False):
    """``value`` as a C-contiguous array of ``dtype`` (one copy at most).

    Integers, booleans and floats are cast; complex, object and string data are
    refused with a ``TypeError`` naming ``name``.
    """
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must contain real numbers, got dtype {arr.dtype}")
    if copy:
        return np.array(arr, dtype=dtype, order="C", copy=True)
    return np.ascontiguousarray(arr, dtype=dtype)


def sequence_input(value, dtype, *, time_major=False, features=None, name="inputs"):
    """Check a 3-D sequence batch; returns ``(array, batch, steps)``.

    ``features``: the feature size the layer was built with (or a tuple of
    trailing dimensions), checked when given.
    """
    x = as_real_array(value, name, dtype)
    if x.ndim != 3:
        layout = "(time, batch, features)" if time_major else "(batch, time, features)"
        raise ValueError(f"{name} must be 3-D {layout}, got shape {x.shape}")
    if features is not None and x.shape[2] != features:
        raise ValueError(
            f"{name} has {x.shape[2]} features per step but the layer was built for "
            f"{features} (shape received: {x.shape})")
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    return x, batch, steps


def sequence_mask(mask, batch, steps, *, time_major=False, name="mask"):
    """A mask as C-contiguous uint8 in the input's layout, or None when absent or all true."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    expected = (steps, batch) if time_major else (batch, steps)
    if arr.shape != expected:
        layout = "(time, batch)" if time_major else "(batch, time)"
        raise ValueError(f"{name} must have shape {layout} = {expected}, got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be boolean, got dtype {arr.dtype}")
    mask_u8 = np.ascontiguousarray(arr != 0, dtype=np.uint8)
    return None if mask_u8.all() else mask_u8


def state_array(value, name, shape, dtype):
    """A fresh C-contiguous state array of exact ``shape`` (the kernel updates it in place)."""
    arr = as_real_array(value, name, dtype, copy=True)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr


def fits_blas(name, *values):
    """Raise if any dimension or stride is too large for BLAS's C ints."""
    for value in values:
        if value > BLAS_INT_MAX:
            raise ValueError(f"{name} is too large for BLAS (dimension {value} > {BLAS_INT_MAX})")


def positive_int(value, name):
    """``value`` as a positive int, or a ``ValueError`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be a positive integer, got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value}")
    return int(value)


def weight_array(value, name, shape, dtype):
    """A weight for ``set_weights``: exact ``shape``, real numbers, cast to ``dtype``."""
    arr = as_real_array(value, name, dtype, copy=True)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr
