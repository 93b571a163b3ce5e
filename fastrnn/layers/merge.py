"""Merge layers: ``Concatenate``, ``Add``, ``Subtract``, ``Multiply``, ``Average``,
``Maximum``, ``Minimum`` and ``Dot`` (tf.keras names, arguments and Keras 3 mask rules).

Each takes a list of arrays.  The elementwise merges broadcast as tf.keras does
(an input of lower rank gets unit axes after the batch axis).  Masks, one per
input (``(batch, steps)`` or None), follow Keras 3:

* ``Add`` / ``Subtract`` / ``Average``: values unchanged; output mask = OR of the
  masks when every input has one, else None.
* ``Maximum`` / ``Minimum``: a masked entry of one input takes the other's value
  before the reduction; output mask as above.
* ``Multiply``: masked entries count as 1; with every input masked, entries
  masked everywhere are 0 and the output mask is the OR.
* ``Concatenate``: the masks (an unmasked input counts as all true) are
  concatenated like the values and reduced with ``any`` over the last axis.
* ``Dot``: no output mask.

tf.keras 2 (``mask_rules="keras2"``, which the loader sets for tf.keras 2 files)
leaves the values alone and combines the masks with AND (the elementwise merges:
of the masks given; ``Concatenate``: ``all`` over the last axis).
"""
from typing import Any, Dict, Optional

import numpy as np

from .. import _validation as check
from .base import Layer, register

__all__ = ["Concatenate", "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum",
           "Dot"]


def _arrays(inputs, dtype, name, count=None):
    values = check.input_list(inputs, "inputs", count=count)
    return [check.as_real_array(v, f"inputs[{i}] of layer {name!r}", dtype)
            for i, v in enumerate(values)]


def _masks(mask, count):
    """``mask`` as a list of ``count`` entries (None or boolean arrays)."""
    if mask is None:
        return [None] * count
    masks = list(mask) if isinstance(mask, (list, tuple)) else [mask] * count
    if len(masks) != count:
        raise ValueError(f"mask must be a list of {count} masks (one per input), "
                         f"got {len(masks)}")
    return [None if m is None else np.asarray(m) != 0 for m in masks]


def _same_rank(values):
    """Inputs of lower rank get unit axes after the batch axis (tf.keras's broadcast)."""
    rank = max(v.ndim for v in values)
    return [v.reshape(v.shape[:1] + (1,) * (rank - v.ndim) + v.shape[1:]) for v in values]


def _broadcast_shapes(shapes, name):
    """The elementwise merge's output shape (None for unknown sizes)."""
    rank = max(len(s) for s in shapes)
    padded = [tuple(s[:1]) + (1,) * (rank - len(s)) + tuple(s[1:]) for s in shapes]
    out = []
    for sizes in zip(*padded):
        known = {d for d in sizes if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"layer {name!r}: inputs of shapes {list(shapes)} cannot be "
                             f"merged elementwise")
        if known:
            out.append(known.pop())
        elif any(d is None for d in sizes):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


class _MaskRules(Layer):
    """The ``mask_rules`` argument of the merge layers: ``"keras3"`` (default) or ``"keras2"``
    (see the module docstring; a fastrnn argument, not a Keras one)."""

    supports_masking = True

    def __init__(self, mask_rules: Any = "keras3", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._mask_rules = check.choice(mask_rules, "mask_rules", ("keras3", "keras2"))

    def _declared_weights(self, input_shape: Any) -> Any:
        return []        # build only checks the shapes

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["mask_rules"] = self._mask_rules
        return config


class _Merge(_MaskRules):
    """An elementwise merge of a list of inputs."""

    _count: Optional[int] = None

    def _merge(self, values, masks):
        raise NotImplementedError

    def _check_count(self, count):
        if self._count is not None and count != self._count:
            raise ValueError(f"layer {self.name!r} ({type(self).__name__}) takes exactly "
                             f"{self._count} inputs, got {count}")

    def build(self, input_shape: Any) -> None:
        """Check the input shapes merge (a list of at least one shape)."""
        shapes = check.input_list(input_shape, "input_shape")
        self._check_count(len(shapes))
        _broadcast_shapes(shapes, self.name)
        self.built = True

    def call(self, inputs: Any, mask: Any = None) -> Any:
        """The merged values (see the module docstring for masks)."""
        values = _same_rank(_arrays(inputs, self._compute_dtype, self.name))
        self._check_count(len(values))
        masks = _masks(mask, len(values))
        if self._mask_rules == "keras2":
            masks = [None] * len(values)
        return np.asarray(self._merge(values, masks), dtype=self._compute_dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The broadcast shape of the inputs."""
        return _broadcast_shapes(check.input_list(input_shape, "input_shape"), self.name)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The OR of the masks when every input has one, else None."""
        if mask is None:
            return None
        masks = _masks(mask, len(mask) if isinstance(mask, (list, tuple)) else 1)
        if self._mask_rules == "keras2":
            given = [m for m in masks if m is not None]
            return np.logical_and.reduce(given) if given else None
        if any(m is None for m in masks):
            return None
        return np.logical_or.reduce(masks)


@register
class Add(_Merge):
    """Sum of the inputs (tf.keras ``Add``).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Add()([np.ones((1, 2)), np.ones((1, 2))]).tolist()
    [[2.0, 2.0]]
    """

    def _merge(self, values, masks):
        return sum(values[1:], values[0])


@register
class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (tf.keras ``Subtract``; exactly two inputs)."""

    _count = 2

    def _merge(self, values, masks):
        return values[0] - values[1]


@register
class Average(_Merge):
    """Mean of the inputs (tf.keras ``Average``)."""

    def _merge(self, values, masks):
        return sum(values[1:], values[0]) / len(values)


def _expanded(mask, value):
    """A ``(batch, steps)`` mask broadcast to the shape of ``value``."""
    return None if mask is None else np.broadcast_to(mask[..., None], value.shape)


class _Extremum(_Merge):
    """Maximum / Minimum: masked entries of one input take the running result's value."""

    def _merge(self, values, masks):
        output, output_mask = values[0], _expanded(masks[0], values[0])
        for x, mask in zip(values[1:], masks[1:]):
            mask = _expanded(mask, x)
            if mask is not None:
                x = np.where(mask, x, output)
            if output_mask is not None:
                output = np.where(output_mask, output, x)
            output_mask = (np.logical_or(output_mask, mask)
                           if mask is not None and output_mask is not None else None)
            output = self._op(output, x)
        return output


@register
class Maximum(_Extremum):
    """Elementwise maximum of the inputs (tf.keras ``Maximum``)."""

    _op = staticmethod(np.maximum)


@register
class Minimum(_Extremum):
    """Elementwise minimum of the inputs (tf.keras ``Minimum``)."""

    _op = staticmethod(np.minimum)


@register
class Multiply(_Merge):
    """Elementwise product of the inputs (tf.keras ``Multiply``)."""

    def _merge(self, values, masks):
        every = all(m is not None for m in masks)
        output, output_mask = None, None
        for x, mask in zip(values, masks):
            if mask is not None:
                mask = _expanded(mask, x)
                x = np.where(mask, x, x.dtype.type(1))
                if every:
                    output_mask = mask if output_mask is None else np.logical_or(output_mask,
                                                                                 mask)
            output = x if output is None else output * x
        if every:
            output = np.where(output_mask, output, output.dtype.type(0))
        return output


@register
class Concatenate(_MaskRules):
    """Concatenate the inputs along ``axis`` (tf.keras ``Concatenate``).

    Parameters
    ----------
    axis : int, default -1
    **kwargs
        :class:`fastrnn.Layer` arguments and ``mask_rules`` (see the module docstring).

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Concatenate()([np.ones((2, 3)), np.zeros((2, 1))]).shape
    (2, 4)
    """

    def __init__(self, axis: Any = -1, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, (int, np.integer)):
            raise TypeError(f"axis must be an int, got {axis!r}")
        self.axis = int(axis)

    def build(self, input_shape: Any) -> None:
        """Check the shapes agree except on ``axis``."""
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        """``concatenate(inputs, axis)``."""
        values = _arrays(inputs, self._compute_dtype, self.name)
        ranks = {v.ndim for v in values}
        if len(ranks) != 1:
            raise ValueError(f"layer {self.name!r}: inputs must have one rank, got shapes "
                             f"{[v.shape for v in values]}")
        axis = check.axis_index(self.axis, values[0].ndim)
        try:
            return np.concatenate(values, axis=axis)
        except ValueError:
            raise ValueError(f"layer {self.name!r}: inputs of shapes {[v.shape for v in values]}"
                             f" cannot be concatenated on axis {self.axis}") from None

    def compute_output_shape(self, input_shape: Any) -> Any:
        """The shared shape with the sizes on ``axis`` added."""
        shapes = [tuple(s) for s in check.input_list(input_shape, "input_shape")]
        if len({len(s) for s in shapes}) != 1:
            raise ValueError(f"layer {self.name!r}: inputs must have one rank, got {shapes}")
        axis = check.axis_index(self.axis, len(shapes[0]))
        out = []
        for i, sizes in enumerate(zip(*shapes)):
            if i == axis:
                out.append(None if any(d is None for d in sizes) else sum(sizes))
                continue
            known = {d for d in sizes if d is not None}
            if len(known) > 1:
                raise ValueError(f"layer {self.name!r}: inputs of shapes {shapes} differ "
                                 f"off axis {self.axis}")
            out.append(known.pop() if known else None)
        return tuple(out)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """``any`` over the last axis of the masks concatenated like the values."""
        if mask is None:
            return None
        values = [np.asarray(v) for v in inputs]
        masks = _masks(mask, len(values))
        if all(m is None for m in masks):
            return None
        full = []
        for value, m in zip(values, masks):
            if m is None:
                full.append(np.ones(value.shape, bool))
            elif m.ndim < value.ndim:
                full.append(np.broadcast_to(m[..., None], value.shape))
            else:
                full.append(m)
        axis = check.axis_index(self.axis, values[0].ndim)
        joined = np.concatenate(full, axis=axis)
        return joined.all(axis=-1) if self._mask_rules == "keras2" else joined.any(axis=-1)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["axis"] = self.axis
        return config


def _l2_normalize(x, axis, epsilon=1e-7):
    """``x / max(||x||_2, epsilon)`` along ``axis`` (Keras 3's ``normalize``)."""
    inv = 1.0 / np.sqrt(np.sum(np.square(x), axis=axis, keepdims=True))
    with np.errstate(divide="ignore"):
        return x * np.minimum(inv, 1.0 / epsilon).astype(x.dtype)


@register
class Dot(Layer):
    """Batchwise dot product of two inputs over ``axes`` (tf.keras ``Dot``).

    Parameters
    ----------
    axes : int or tuple of 2 ints
        The axis of each input summed over (not the batch axis).
    normalize : bool, default False
        L2-normalize both inputs along ``axes`` first (cosine similarity).
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    The output shape is the first input's without the batch and summed axes,
    then the second's likewise, after the batch axis; ``(batch, 1)`` when
    nothing is left.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> fr.Dot(axes=1)([np.ones((2, 3)), np.ones((2, 3))]).tolist()
    [[3.0], [3.0]]
    """

    def __init__(self, axes: Any, normalize: Any = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        items = list(axes) if isinstance(axes, (list, tuple)) else [axes]
        if len(items) not in (1, 2) or any(
                isinstance(a, (bool, np.bool_)) or not isinstance(a, (int, np.integer))
                for a in items):
            raise TypeError(f"axes must be an int or a pair of ints, got {axes!r}")
        self.axes = [int(a) for a in items] if isinstance(axes, (list, tuple)) else int(axes)
        self.normalize = bool(normalize)

    def _resolve(self, ndims):
        axes = [self.axes, self.axes] if isinstance(self.axes, int) else self.axes
        resolved = [check.axis_index(a, n, "axes") for a, n in zip(axes, ndims)]
        if 0 in resolved:
            raise ValueError(f"layer {self.name!r}: Dot cannot sum over the batch axis "
                             f"(axes={self.axes})")
        return resolved

    def _declared_weights(self, input_shape: Any) -> Any:
        return []        # build only checks the shapes

    def build(self, input_shape: Any) -> None:
        """Check two inputs whose summed axes agree."""
        self.compute_output_shape(input_shape)
        self.built = True

    def call(self, inputs: Any) -> Any:
        """``sum_k x[b, ..., k, ...] y[b, ..., k, ...]`` over the two axes."""
        x, y = _arrays(inputs, self._compute_dtype, self.name, count=2)
        a0, a1 = self._resolve((x.ndim, y.ndim))
        if x.shape[a0] != y.shape[a1]:
            raise ValueError(f"layer {self.name!r}: inputs of shapes {x.shape} and {y.shape} "
                             f"differ on the summed axes {[a0, a1]}")
        if self.normalize:
            x, y = _l2_normalize(x, a0), _l2_normalize(y, a1)
        xm = np.moveaxis(x, a0, -1)                       # (B, ..., K)
        ym = np.moveaxis(y, a1, 1)                        # (B, K, ...)
        rest_x, rest_y = xm.shape[1:-1], ym.shape[2:]
        batch, k = x.shape[0], x.shape[a0]
        out = np.matmul(xm.reshape(batch, -1, k), ym.reshape(batch, k, -1))
        shape = (batch,) + rest_x + rest_y
        return out.reshape(shape if len(shape) > 1 else (batch, 1))

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, *x_rest, *y_rest)``, or ``(batch, 1)``."""
        shapes = check.input_list(input_shape, "input_shape", count=2)
        sx, sy = (tuple(s) for s in shapes)
        a0, a1 = self._resolve((len(sx), len(sy)))
        if sx[a0] is not None and sy[a1] is not None and sx[a0] != sy[a1]:
            raise ValueError(f"layer {self.name!r}: inputs of shapes {sx} and {sy} differ on "
                             f"the summed axes {[a0, a1]}")
        shape = (sx[0],) + sx[1:a0] + sx[a0 + 1:] + sy[1:a1] + sy[a1 + 1:]
        return shape if len(shape) > 1 else (sx[0], 1)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """None (as tf.keras)."""
        return None

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"axes": self.axes, "normalize": self.normalize})
        return config
