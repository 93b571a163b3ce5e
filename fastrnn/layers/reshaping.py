"""Shape layers: ``Flatten``, ``Reshape``, ``Permute``, ``RepeatVector``, ``ZeroPadding1D``,
``Cropping1D``, ``UpSampling1D`` (as tf.keras).

None of them passes a mask on (as Keras 3).  The batch axis is never touched.
"""
from typing import Any, Dict

import math

import numpy as np

from .. import _validation as check
from .base import Layer, register

__all__ = ["Flatten", "Reshape", "Permute", "RepeatVector", "ZeroPadding1D", "Cropping1D",
           "UpSampling1D"]


def _array(layer, inputs, min_rank=1):
    x = np.asarray(inputs)
    if x.ndim < min_rank:
        raise ValueError(f"layer {layer.name!r} expects inputs of rank >= {min_rank}, got "
                         f"shape {x.shape}")
    return x


@register
class Flatten(Layer):
    """Flatten all axes but the batch axis (tf.keras ``Flatten``).

    Parameters
    ----------
    data_format : {"channels_last", "channels_first"}, optional
        ``channels_first``: the channel axis (1) is moved last before flattening,
        as tf.keras.
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Flatten()(np.ones((2, 3, 4))).shape
    (2, 12)
    """

    def __init__(self, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data_format = check.choice(data_format or "channels_last", "data_format",
                                        ("channels_last", "channels_first"))

    def call(self, inputs: Any) -> Any:
        """``inputs.reshape(batch, -1)`` (after moving channels last if channels_first)."""
        x = _array(self, inputs)
        if self.data_format == "channels_first" and x.ndim > 2:
            x = np.moveaxis(x, 1, -1)
        return np.ascontiguousarray(x).reshape(x.shape[0], -1) if x.ndim > 1 else \
            x.reshape(x.shape[0], 1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, prod(other sizes))`` (None when one is unknown)."""
        rest = tuple(input_shape)[1:]
        size = None if any(d is None for d in rest) else math.prod(rest)
        return (tuple(input_shape)[0], size)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["data_format"] = self.data_format
        return config


def _resolve_target(source, target, name):
    """``target`` with its one ``-1`` resolved from ``source`` (per-sample shapes)."""
    unknown = [i for i, d in enumerate(target) if d == -1]
    if len(unknown) > 1:
        raise ValueError(f"layer {name!r}: target_shape {target} may hold one -1 only")
    known = math.prod(d for d in target if d != -1)
    if any(d is None for d in source):
        return tuple(None if d == -1 else d for d in target)
    total = math.prod(source)
    if unknown:
        if known == 0 or total % known:
            raise ValueError(f"layer {name!r}: cannot reshape {tuple(source)} to {target}")
        return tuple(total // known if d == -1 else d for d in target)
    if known != total:
        raise ValueError(f"layer {name!r}: cannot reshape {tuple(source)} ({total} values) "
                         f"to {target} ({known} values)")
    return tuple(target)


@register
class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (tf.keras ``Reshape``; one -1 allowed).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Reshape((3, -1))(np.ones((2, 12))).shape
    (2, 3, 4)
    """

    def __init__(self, target_shape: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = list(target_shape)
        if any(isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer))
               or (d < 1 and d != -1) for d in items):
            raise ValueError(f"target_shape must be positive ints (and one -1), got "
                             f"{target_shape!r}")
        self.target_shape = tuple(int(d) for d in items)

    def call(self, inputs: Any) -> Any:
        """``inputs.reshape((batch,) + target_shape)``."""
        x = _array(self, inputs)
        shape = _resolve_target(x.shape[1:], self.target_shape, self.name)
        return x.reshape((x.shape[0],) + shape)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch,) + target_shape`` (-1 resolved when the sizes are known)."""
        shape = tuple(input_shape)
        return (shape[0],) + _resolve_target(shape[1:], self.target_shape, self.name)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


@register
class Permute(Layer):
    """Permute the non-batch axes (tf.keras ``Permute``; ``dims`` count from 1).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Permute((2, 1))(np.ones((2, 3, 4))).shape
    (2, 4, 3)
    """

    def __init__(self, dims: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        dims = tuple(int(d) for d in dims)
        if sorted(dims) != list(range(1, len(dims) + 1)):
            raise ValueError(f"dims must be a permutation of 1..{len(dims)}, got {dims}")
        self.dims = dims

    def call(self, inputs: Any) -> Any:
        """``inputs.transpose((0,) + dims)``."""
        x = _array(self, inputs)
        if x.ndim != len(self.dims) + 1:
            raise ValueError(f"layer {self.name!r} permutes {len(self.dims)} axes, got inputs "
                             f"of shape {x.shape}")
        return np.ascontiguousarray(x.transpose((0,) + self.dims))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input sizes in the order of ``dims``."""
        shape = tuple(input_shape)
        return (shape[0],) + tuple(shape[d] for d in self.dims)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["dims"] = self.dims
        return config


@register
class RepeatVector(Layer):
    """Repeat a ``(batch, features)`` input ``n`` times: ``(batch, n, features)`` (tf.keras).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.RepeatVector(3)(np.ones((2, 4))).shape
    (2, 3, 4)
    """

    def __init__(self, n: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.n = check.positive_int(n, "n")

    def call(self, inputs: Any) -> Any:
        """``inputs[:, None, :]`` repeated ``n`` times on axis 1."""
        x = _array(self, inputs)
        if x.ndim != 2:
            raise ValueError(f"layer {self.name!r} expects 2-D inputs, got shape {x.shape}")
        return np.repeat(x[:, None, :], self.n, axis=1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, n, features)``."""
        shape = tuple(input_shape)
        if len(shape) != 2:
            raise ValueError(f"layer {self.name!r} expects 2-D inputs, got shape {shape}")
        return (shape[0], self.n, shape[1])

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["n"] = self.n
        return config


@register
class ZeroPadding1D(Layer):
    """Zeros added at the start and end of the time axis (tf.keras ``ZeroPadding1D``).

    Parameters
    ----------
    padding : int or tuple of 2 ints, default 1
        Steps added before and after.
    data_format : {"channels_last", "channels_first"}, optional
        ``channels_first`` inputs are ``(batch, channels, steps)`` (Keras 3's argument).
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.ZeroPadding1D((1, 2))(np.ones((1, 3, 2))).shape
    (1, 6, 2)
    """

    def __init__(self, padding: Any = 1, data_format: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = [padding, padding] if isinstance(padding, (int, np.integer)) else list(padding)
        if len(items) != 2 or any(isinstance(p, (bool, np.bool_)) or not isinstance(
                p, (int, np.integer)) or p < 0 for p in items):
            raise ValueError(f"padding must be an int or a pair of ints >= 0, got {padding!r}")
        self.padding = (int(items[0]), int(items[1]))
        self.data_format = check.choice(data_format or "channels_last", "data_format",
                                        ("channels_last", "channels_first"))

    @property
    def _time_axis(self):
        return 1 if self.data_format == "channels_last" else 2

    def call(self, inputs: Any) -> Any:
        """``inputs`` with ``padding`` zero steps before and after."""
        x = _array(self, inputs)
        if x.ndim != 3:
            raise ValueError(f"layer {self.name!r} expects 3-D inputs, got shape {x.shape}")
        widths = [(0, 0)] * 3
        widths[self._time_axis] = self.padding
        return np.pad(x, widths)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape with ``sum(padding)`` more steps."""
        shape = list(input_shape)
        axis = self._time_axis
        shape[axis] = None if shape[axis] is None else shape[axis] + sum(self.padding)
        return tuple(shape)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"padding": self.padding, "data_format": self.data_format})
        return config


@register
class Cropping1D(Layer):
    """Remove steps at the start and end of the time axis (tf.keras ``Cropping1D``).

    Parameters
    ----------
    cropping : int or tuple of 2 ints, default (1, 1)

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Cropping1D((1, 2))(np.ones((1, 6, 2))).shape
    (1, 3, 2)
    """

    def __init__(self, cropping: Any = (1, 1), **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = [cropping, cropping] if isinstance(cropping, (int, np.integer)) \
            else list(cropping)
        if len(items) != 2 or any(isinstance(c, (bool, np.bool_)) or not isinstance(
                c, (int, np.integer)) or c < 0 for c in items):
            raise ValueError(f"cropping must be an int or a pair of ints >= 0, got "
                             f"{cropping!r}")
        self.cropping = (int(items[0]), int(items[1]))

    def call(self, inputs: Any) -> Any:
        """``inputs[:, start:steps - end]``."""
        x = _array(self, inputs)
        if x.ndim != 3 or sum(self.cropping) >= x.shape[1]:
            raise ValueError(f"layer {self.name!r} crops {self.cropping} steps from inputs "
                             f"of shape {x.shape}: nothing would be left")
        return x[:, self.cropping[0]:x.shape[1] - self.cropping[1]]

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape with ``sum(cropping)`` fewer steps."""
        shape = tuple(input_shape)
        steps = None if shape[1] is None else shape[1] - sum(self.cropping)
        return (shape[0], steps) + shape[2:]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["cropping"] = self.cropping
        return config


@register
class UpSampling1D(Layer):
    """Repeat each time step ``size`` times (tf.keras ``UpSampling1D``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.UpSampling1D(2)(np.arange(2.0).reshape(1, 2, 1)).ravel().tolist()
    [0.0, 0.0, 1.0, 1.0]
    """

    def __init__(self, size: Any = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.size = check.positive_int(size, "size")

    def call(self, inputs: Any) -> Any:
        """``repeat(inputs, size, axis=1)``."""
        x = _array(self, inputs)
        if x.ndim != 3:
            raise ValueError(f"layer {self.name!r} expects 3-D inputs, got shape {x.shape}")
        return np.repeat(x, self.size, axis=1)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The input shape with ``size`` times the steps."""
        shape = tuple(input_shape)
        return (shape[0], None if shape[1] is None else shape[1] * self.size) + shape[2:]

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["size"] = self.size
        return config
