"""Dot-product ``Attention`` (Luong) and ``AdditiveAttention`` (Bahdanau), as tf.keras.

Inputs ``[query (B, Tq, dim), value (B, Tv, dim)]`` or ``[query, value, key]``
(key defaults to value)::

    scores[b, i, j] = scale * q_i . k_j                                  (Attention, "dot")
                    = w * sum_d tanh(scale * (q_id + k_jd))             (Attention, "concat")
                    = sum_d scale_d * tanh(q_id + k_jd)                 (AdditiveAttention)
    scores[b, i, j] -= 1e9 where value_mask[b, j] is false (or j > i with use_causal_mask)
    output[b, i] = softmax_j(scores[b, i]) @ value[b]    (0 where query_mask[b, i] is false)

``mask=[query_mask, value_mask]``; the output mask is the query mask.
"""
from typing import Any, Dict

import numpy as np

from .. import _validation as check
from ..activations import softmax
from .base import Layer, register

__all__ = ["Attention", "AdditiveAttention"]

_MASK_PENALTY = 1.0e9


class _BaseAttention(Layer):
    """Shared call, masks and shapes; subclasses compute the scores."""

    supports_masking = True

    def __init__(self, use_scale: Any = False, dropout: Any = 0.0, seed: Any = None,
                 causal: Any = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.dropout = check.fraction(dropout, "dropout")
        self.seed = seed
        #: tf.keras 2's deprecated constructor flag: the default of ``use_causal_mask``.
        self.causal = bool(causal)

    def _scores(self, q, k, weights):
        """The scores ``(B, Tq, Tv)``, with the weights the call read once."""
        raise NotImplementedError

    def _inputs(self, inputs):
        values = check.input_list(inputs, "inputs", minimum=2)
        if len(values) > 3:
            raise ValueError(f"layer {self.name!r} takes [query, value] or [query, value, key], "
                             f"got {len(values)} inputs")
        arrays = [check.as_real_array(v, f"inputs[{i}]", self._compute_dtype)
                  for i, v in enumerate(values)]
        q, v = arrays[0], arrays[1]
        k = arrays[2] if len(arrays) > 2 else v
        if q.ndim != 3 or v.ndim != 3 or k.shape[:2] != v.shape[:2] or \
                q.shape[0] != v.shape[0] or q.shape[-1] != k.shape[-1]:
            raise ValueError(f"layer {self.name!r} expects query (batch, Tq, dim), value "
                             f"(batch, Tv, dim_v) and key (batch, Tv, dim), got "
                             f"{[a.shape for a in arrays]}")
        return q, v, k

    def call(self, inputs: Any, mask: Any = None, training: Any = None,
             return_attention_scores: Any = False, use_causal_mask: Any = None) -> Any:
        """The attention output (and the attention weights with ``return_attention_scores``)."""
        q, v, k = self._inputs(inputs)
        masks = list(mask) if isinstance(mask, (list, tuple)) else [mask, None]
        q_mask = check.feature_mask(masks[0] if masks else None, q.shape[:2], "query mask")
        v_mask = check.feature_mask(masks[1] if len(masks) > 1 else None, v.shape[:2],
                                    "value mask")
        scores = self._scores(q, k, self._current_weights())       # (B, Tq, Tv)
        keep = None if v_mask is None else v_mask[:, None, :]
        causal = self.causal if use_causal_mask is None else bool(use_causal_mask)
        if causal:
            lower = np.tril(np.ones(scores.shape[1:], bool))        # j <= i
            keep = lower[None] if keep is None else keep & lower[None]
        if keep is not None:
            scores = np.where(keep, scores, scores - scores.dtype.type(_MASK_PENALTY))
        weights = softmax(scores, axis=-1).astype(q.dtype, copy=False)
        output = np.matmul(weights, v)
        if q_mask is not None:
            output = np.where(q_mask[..., None], output, output.dtype.type(0))
        if return_attention_scores:
            return [output, weights]
        return output

    def compute_output_shape(self, input_shape: Any) -> Any:
        """``(batch, Tq, dim_v)``."""
        shapes = check.input_list(input_shape, "input_shape", minimum=2)
        return tuple(shapes[0])[:-1] + (tuple(shapes[1])[-1],)

    def compute_mask(self, inputs: Any, mask: Any = None) -> Any:
        """The query mask (None without one)."""
        if not isinstance(mask, (list, tuple)) or not mask or mask[0] is None:
            return None
        return np.asarray(mask[0]) != 0

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config.update({"use_scale": self.use_scale, "dropout": self.dropout,
                       "seed": self.seed})
        if self.causal:
            config["causal"] = True
        return config


@register
class Attention(_BaseAttention):
    """Dot-product attention layer (tf.keras ``Attention``), for inference.

    Parameters
    ----------
    use_scale : bool, default False
        A learned scalar ``scale`` multiplies the scores.
    score_mode : {"dot", "concat"}, default "dot"
        ``"concat"``: scores from ``tanh`` of the sum of query and key, times
        the scalar ``concat_score_weight``.
    dropout : float, default 0.0
        Stored; no effect at inference.
    seed : int, optional
    causal : bool, default False
        tf.keras 2's deprecated flag (the default of ``use_causal_mask``).
    **kwargs
        :class:`fastrnn.Layer` arguments.

    Notes
    -----
    Weights: ``scale ()`` with ``use_scale``, then ``concat_score_weight ()``
    with ``score_mode="concat"``.  Call arguments ``mask=[query_mask,
    value_mask]``, ``return_attention_scores``, ``use_causal_mask``.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> fr.Attention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale: Any = False, score_mode: Any = "dot", dropout: Any = 0.0,
                 seed: Any = None, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, seed=seed, **kwargs)
        self.score_mode = check.choice(score_mode, "score_mode", ("dot", "concat"))

    def _declared_weights(self, input_shape: Any) -> Any:
        return [()] * (self.use_scale + (self.score_mode == "concat"))

    def build(self, input_shape: Any) -> None:
        """Create ``scale`` and ``concat_score_weight`` when used."""
        self.scale = self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight("scale", (), "ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight("concat_score_weight", (), "ones")
        self.built = True

    def _scores(self, q, k, weights):
        scale = weights.get("scale")
        if self.score_mode == "dot":
            scores = np.matmul(q, k.transpose(0, 2, 1))
            return scores * scale if scale is not None else scores
        total = q[:, :, None, :] + k[:, None, :, :]
        if scale is not None:
            total = scale * total
        return weights["concat_score_weight"] * np.tanh(total).sum(axis=-1)

    def get_config(self) -> Dict[str, Any]:
        config = super().get_config()
        config["score_mode"] = self.score_mode
        return config


@register
class AdditiveAttention(_BaseAttention):
    """Additive (Bahdanau) attention layer (tf.keras ``AdditiveAttention``), for inference.

    Parameters
    ----------
    use_scale : bool, default True
        A learned vector ``scale (dim,)`` weights the ``tanh`` terms.
    dropout : float, default 0.0
        Stored; no effect at inference.
    **kwargs
        As :class:`Attention`.

    Examples
    --------
    >>> import numpy as np
    >>> import fastrnn as fr
    >>> q, v = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    >>> fr.AdditiveAttention()([q, v]).shape
    (2, 3, 4)
    """

    def __init__(self, use_scale: Any = True, dropout: Any = 0.0, **kwargs: Any) -> None:
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def _declared_weights(self, input_shape: Any) -> Any:
        shapes = check.input_list(input_shape, "input_shape", minimum=2)
        dim = tuple(shapes[-1] if len(shapes) > 2 else shapes[1])[-1]     # the key's
        return [(dim,)] * self.use_scale

    def build(self, input_shape: Any) -> None:
        """Create ``scale (dim,)`` with ``use_scale``."""
        shapes = self._declared_weights(input_shape)
        self.scale = self.add_weight("scale", shapes[0], "glorot_uniform") if shapes else None
        self.built = True

    def _scores(self, q, k, weights):
        terms = np.tanh(q[:, :, None, :] + k[:, None, :, :])         # (B, Tq, Tv, dim)
        scale = weights.get("scale")
        if scale is not None:
            terms = terms * scale
        return terms.sum(axis=-1)
