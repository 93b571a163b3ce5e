"""Input checking: every value from a user is checked and cast here, once.

Each function raises ``ValueError`` / ``TypeError`` with a message naming the
argument, what was expected and what was received, so that nothing malformed
ever reaches the compiled kernels.
"""
import os

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
    return np.asarray(arr, dtype=dtype, order="C")  # C-contiguous; keeps 0-d arrays 0-d


def sequence_input(value, dtype, *, time_major=False, features=None, name="inputs"):
    """Check a 3-D sequence batch; returns ``(array, batch, steps)``.

    ``features``: the feature size the layer was built with (or a tuple of
    trailing dimensions), checked when given.
    """
    if (type(value) is np.ndarray and value.dtype == dtype and value.ndim == 3
            and value.flags.c_contiguous):
        x = value  # the common case, checked without conversions
    else:
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
    if not 0 < value <= BLAS_INT_MAX:
        raise ValueError(f"{name} must be a positive integer (at most {BLAS_INT_MAX}), "
                         f"got {value}")
    return int(value)


def weight_array(value, name, shape, dtype):
    """A weight for ``set_weights``: exact ``shape``, real numbers, cast to ``dtype``."""
    arr = as_real_array(value, name, dtype, copy=True)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    return arr


def step_sequence_input(value, dtype, *, time_major=False, feature_shape=None, name="inputs"):
    """Check a sequence batch of rank >= 3 for the Python step loop.

    Returns ``(array, batch, steps)``; ``feature_shape`` (the per-step shape
    after batch and time the layer was built with; ``None`` entries match
    anything) is checked when given.
    """
    x = as_real_array(value, name, dtype)
    if x.ndim < 3:
        layout = "(time, batch, ...)" if time_major else "(batch, time, ...)"
        raise ValueError(f"{name} must have at least 3 dimensions {layout}, got shape {x.shape}")
    if feature_shape is not None:
        trailing = x.shape[2:]
        if len(trailing) != len(feature_shape) or any(
                want is not None and got != want for got, want in zip(trailing, feature_shape)):
            raise ValueError(f"{name} has per-step shape {trailing} but the layer was built "
                             f"for {tuple(feature_shape)} (shape received: {x.shape})")
    steps, batch = (x.shape[0], x.shape[1]) if time_major else (x.shape[1], x.shape[0])
    return x, batch, steps


def stored_state(value, name, shape, dtype):
    """A stateful layer's stored state: ``ValueError`` unless real numbers of ``shape``."""
    try:
        return state_array(value, name, shape, dtype)
    except TypeError as exc:
        raise ValueError(str(exc)) from None


def index_array(value, name, size):
    """Integer ids for a table of ``size`` rows: int64, every id in ``[0, size)``.

    Floats are accepted when they hold whole numbers (as Keras casts them).
    """
    arr = np.asarray(value)
    if arr.dtype.kind == "f":
        if not np.array_equal(arr, np.floor(arr)):
            raise ValueError(f"{name} must hold whole numbers (ids), got non-integral floats")
    elif arr.dtype.kind not in "biu":
        raise TypeError(f"{name} must be an array of integer ids, got dtype {arr.dtype}")
    ids = np.ascontiguousarray(arr, dtype=np.int64)
    if ids.size and (ids.min() < 0 or ids.max() >= size):
        raise ValueError(f"{name} must be ids in [0, {size}), got values in "
                         f"[{ids.min()}, {ids.max()}]")
    return ids


def last_axis_input(value, name, dtype, features):
    """An array of rank >= 2 whose last axis has ``features`` entries, cast to ``dtype``."""
    x = as_real_array(value, name, dtype)
    if x.ndim < 2 or x.shape[-1] != features:
        raise ValueError(f"{name} must have shape (batch, ..., {features}), got {x.shape}")
    return x


def choice(value, name, choices):
    """``value`` if it is one of ``choices``, else a ``ValueError`` listing them."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)}, got {value!r}")
    return value


def fraction(value, name):
    """``value`` as a float in [0, 1] (a rate), else a ``ValueError`` naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number in [0, 1], got {value!r}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def clipped_rate(value, name):
    """A dropout rate as tf.keras takes it: a number, clipped to [0, 1]."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number between 0 and 1, got {value!r}")
    return min(1.0, max(0.0, float(value)))


def rnn_cell(cell):
    """Raise unless ``cell`` has a ``call`` method and a ``state_size`` (tf.keras's test)."""
    names = dir(cell)
    if "call" not in names or not callable(cell.call):
        raise ValueError(f"an RNN cell must have a `call` method; got {cell!r}")
    if "state_size" not in names:
        raise ValueError(f"an RNN cell must have a `state_size` attribute (int, TensorShape, "
                         f"or a list of those); got {cell!r}")
    return cell


def state_values(values, name, layer, shapes, dtypes, *, stored=False):
    """Fresh validated arrays for a layer's states, one per entry of ``shapes``.

    ``values`` is the flat list given for ``name`` (``initial_state`` or
    ``states``); ``shapes`` are the full expected shapes, batch included.
    ``stored=True`` (``reset_states``) reports non-real values as ``ValueError``.
    """
    if len(values) != len(shapes):
        raise ValueError(f"{name}: layer {layer!r} has {len(shapes)} state(s) of shapes "
                         f"{list(shapes)}, but received {len(values)} value(s)")
    make = stored_state if stored else state_array
    return [make(value, f"{name}[{i}]", shape, dtype)
            for i, (value, shape, dtype) in enumerate(zip(values, shapes, dtypes))]


# --------------------------------------------------------------------------
# sizes: checked before anything sized by them is allocated
# --------------------------------------------------------------------------

#: Deepest nesting accepted in configs and shape arguments (tf.keras models nest a few levels).
MAX_NESTING = 64


def memory_limit():
    """Bytes of physical memory: no single allocation sized by input may exceed it."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):  # not POSIX: a fixed 64 GiB
        return 64 * 2**30


def _is_int(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def dimension(value, name, *, allow_none=False, minimum=0):
    """A size (an entry of a shape, ``units``): an int in ``[minimum, 2**31 - 1]``.

    Sizes above BLAS's C-int limit are refused here, before any array of that
    size is made, with a ``ValueError`` naming ``name``.
    """
    if value is None and allow_none:
        return None
    if not _is_int(value):
        raise TypeError(f"{name} must be an integer{' or None' if allow_none else ''}, "
                        f"got {value!r}")
    if not minimum <= value <= BLAS_INT_MAX:
        raise ValueError(f"{name} must be an integer in [{minimum}, {BLAS_INT_MAX}], "
                         f"got {value}")
    return int(value)


def shape_tuple(value, name, *, allow_none=True):
    """A shape argument (tuple / list / TensorShape of sizes, None for unknown) as a tuple."""
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{name} must be a tuple of integers (None for an unknown size), "
                        f"got {value!r}")
    dims = tuple(value)
    if len(dims) > MAX_NESTING:
        raise ValueError(f"{name} has {len(dims)} dimensions (at most {MAX_NESTING})")
    return tuple(dimension(d, f"{name}[{i}]", allow_none=allow_none)
                 for i, d in enumerate(dims))


def nested_shape(value, name):
    """A build ``input_shape``: a shape tuple, or a (nested) list / tuple of shape tuples.

    Only the structure and the entries are checked (ints in range or None);
    strings, floats and nesting deeper than :data:`MAX_NESTING` are refused.
    """
    stack = [(value, name, 0)]
    while stack:
        node, label, depth = stack.pop()
        if depth > MAX_NESTING:
            raise ValueError(f"{name} is nested more than {MAX_NESTING} levels deep")
        if node is None or _is_int(node):
            dimension(node, label, allow_none=True)
        elif isinstance(node, (str, bytes)) or not hasattr(node, "__iter__"):
            raise TypeError(f"{name} must be a shape tuple of integers / None (or a list of "
                            f"them), got {node!r} at {label}")
        else:
            stack.extend((item, f"{label}[{i}]", depth + 1) for i, item in enumerate(node))
    return value


def weight_shape(shape, name, dtype):
    """The shape of a new weight, checked to fit BLAS and this machine's memory."""
    dims = shape_tuple(shape if shape is not None else (), f"shape of weight {name!r}",
                       allow_none=False)
    # the weight, plus its initial values (initializers compute in float64)
    nbytes = int(np.prod(dims, dtype=object)) * (np.dtype(dtype).itemsize + 8)
    allocation(nbytes, f"creating weight {name!r} of shape {dims}")
    return dims


def weights_fit(shapes, dtype, what):
    """Check all the weights a build will create at once, before the first is made."""
    dims = [shape_tuple(shape, f"shape of a weight of {what}", allow_none=False)
            for shape in shapes]
    total = sum(int(np.prod(d, dtype=object)) for d in dims)
    allocation(total * (np.dtype(dtype).itemsize + 8), f"creating the weights of {what} "
               f"(shapes {dims})")


def allocation(nbytes, what):
    """Raise a ``ValueError`` if ``what`` would need more bytes than the machine has."""
    limit = memory_limit()
    if nbytes > limit:
        raise ValueError(f"{what} needs {nbytes / 2**30:.3g} GiB, more than this machine's "
                         f"memory ({limit / 2**30:.3g} GiB)")


def batched(value, name):
    """``value`` as an array with a batch axis (rank >= 1), else a ``ValueError``."""
    arr = regular_array(value, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must be an array with a batch axis first, got a scalar "
                         f"{value!r}")
    return arr


def optional_name(value, name="name"):
    """A layer name: a string or None."""
    if value is not None and not isinstance(value, str):
        raise TypeError(f"{name} must be a string, got {value!r}")
    return value


def nesting_depth(value, name, limit=MAX_NESTING):
    """Raise a ``ValueError`` if the dicts / lists of ``value`` nest deeper than ``limit``.

    Iterative, so that a hostile config cannot exhaust the interpreter's stack.
    """
    stack = [(value, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, (list, tuple)):
            children = node
        else:
            continue
        if depth >= limit:
            raise ValueError(f"{name} is nested more than {limit} levels deep")
        stack.extend((child, depth + 1) for child in children)
    return value


def cell_step(inputs, states, dtype, features, state_sizes, *, name="inputs"):
    """A direct cell call's ``(inputs, states)``: real arrays of ``dtype``, shapes checked.

    ``inputs`` must be ``(batch, features)``; ``states`` one array (a
    single-state cell) or a list of one ``(batch, size)`` array per entry of
    ``state_sizes``.  Returns ``(x, [state, ...])``.
    """
    x = step_input(inputs, dtype, features, name)
    values = list(states) if isinstance(states, (list, tuple)) else [states]
    expected = [(x.shape[0], size) for size in state_sizes]
    if len(values) != len(expected):
        raise ValueError(f"states must hold {len(expected)} state(s) of shapes {expected}, "
                         f"got {len(values)}")
    arrays = []
    for i, (value, shape) in enumerate(zip(values, expected)):
        arr = as_real_array(value, f"states[{i}]", dtype)
        if arr.shape != shape:
            raise ValueError(f"states[{i}] must have shape {shape}, got {arr.shape}")
        arrays.append(arr)
    return x, arrays


def int_tuple(value, n, name):
    """An int or an iterable of ``n`` ints as a tuple of ``n`` positive ints (Keras's
    ``normalize_tuple``), else a ``TypeError`` / ``ValueError`` naming ``name``."""
    items = [value] * n if isinstance(value, (int, np.integer)) else value
    try:
        items = list(items)
    except TypeError:
        raise TypeError(f"{name} must be an int or a tuple of {n} ints, got {value!r}") from None
    if len(items) != n:
        raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
    return tuple(positive_int(item, name) for item in items)


def axis_index(axis, ndim, name="axis"):
    """``axis`` (negative counts from the end) as an index in ``[0, ndim)``."""
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {axis!r}")
    if not -ndim <= axis < ndim:
        raise ValueError(f"{name}={axis} is out of range for inputs of rank {ndim}")
    return int(axis) % ndim


def input_list(value, name, count=None, minimum=1):
    """A layer's list of inputs (a list or tuple), checked for its length."""
    if not isinstance(value, (list, tuple)):
        raise ValueError(f"{name} must be a list of inputs, got {type(value).__name__}")
    if count is not None and len(value) != count:
        raise ValueError(f"{name} must be a list of {count} inputs, got {len(value)}")
    if len(value) < minimum:
        raise ValueError(f"{name} must be a list of at least {minimum} inputs, got {len(value)}")
    return list(value)


def real_number(value, name, minimum=None):
    """``value`` as a float (>= ``minimum`` when given), else an error naming it."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if minimum is not None and float(value) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return float(value)


def feature_mask(mask, shape, name="mask"):
    """A boolean mask of ``shape`` (the input's leading axes), or None when absent."""
    if mask is None:
        return None
    arr = np.asarray(mask)
    if arr.shape != tuple(shape):
        raise ValueError(f"{name} must have shape {tuple(shape)}, got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be boolean, got dtype {arr.dtype}")
    return arr != 0


def sequence_lengths(lengths, batch, steps, name="lengths"):
    """``lengths`` as C-contiguous intp (batch,), each in [0, steps], or None when absent.

    Row b is valid at timesteps t < lengths[b] (post-padding), as the mask
    ``arange(steps) < lengths[:, None]`` says.
    """
    if lengths is None:
        return None
    arr = np.asarray(lengths)
    if arr.dtype.kind not in "iu":
        raise TypeError(f"{name} must be an integer array of shape (batch,) = ({batch},), "
                        f"got dtype {arr.dtype}")
    if arr.shape != (batch,):
        raise ValueError(f"{name} must have shape (batch,) = ({batch},), got {arr.shape}")
    if arr.size and (arr.min() < 0 or arr.max() > steps):
        raise ValueError(f"{name} must be in [0, {steps}] (the number of timesteps), got "
                         f"values from {arr.min()} to {arr.max()}")
    return np.ascontiguousarray(arr, dtype=np.intp)


def step_input(inputs, dtype, features, name="inputs"):
    """One timestep's inputs as C-contiguous (batch, features) of ``dtype``."""
    arr = as_real_array(inputs, name, dtype)
    if arr.ndim != 2 or arr.shape[1] != features:
        raise ValueError(f"{name} of one step must have shape (batch, {features}), "
                         f"got {arr.shape}")
    return np.ascontiguousarray(arr)


def step_mask(mask, batch, name="mask"):
    """One timestep's mask as C-contiguous uint8 (batch,)."""
    arr = np.asarray(mask)
    if arr.shape != (batch,):
        raise ValueError(f"{name} of one step must have shape (batch,) = ({batch},), "
                         f"got {arr.shape}")
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be boolean, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr != 0, dtype=np.uint8)


def _ragged_axis(value):
    """``(axis, lengths)`` of the first axis along which nested lists differ in length."""
    level = [value]
    for axis in range(1, 33):
        nodes = [v for v in level if isinstance(v, (list, tuple))]
        if not nodes:
            return None
        lengths = sorted({len(v) for v in nodes})
        if len(lengths) > 1:
            return axis - 1, lengths
        level = [child for v in nodes for child in v]
    return None


def regular_array(value, name):
    """``np.asarray(value)``; a ``ValueError`` naming ``name`` when nested lists are ragged."""
    try:
        return np.asarray(value)
    except ValueError:
        ragged = _ragged_axis(value)
        detail = "" if ragged is None else (
            f": along axis {ragged[0]} the nested lists have lengths {ragged[1]}")
        raise ValueError(f"{name} must be a rectangular array, but the nested lists given are "
                         f"ragged{detail}; pad them to one length (and pass a mask) or give a "
                         f"NumPy array") from None
