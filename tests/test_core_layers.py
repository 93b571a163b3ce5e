"""Embedding, Masking, Dense, Dropout, Bidirectional and Sequential: behaviour and errors.

Parity with tf.keras is tested from real files and layer cases in test_convert_keras.py;
here are the semantics (masks, merges, states, configs) against plain NumPy.
"""
import json

import numpy as np
import pytest

import fastrnn as fr

RNG = np.random.default_rng(7)


def random_x(shape, dtype="float32"):
    return RNG.normal(size=shape).astype(dtype)


# --------------------------------------------------------------------------
# Embedding, Masking, Dense, Dropout, InputLayer
# --------------------------------------------------------------------------

def test_embedding_lookup_and_mask():
    emb = fr.Embedding(5, 3, mask_zero=True)
    ids = np.array([[1, 4, 0], [0, 2, 2]])
    out = emb(ids)
    np.testing.assert_array_equal(out, emb.embeddings[ids])
    np.testing.assert_array_equal(emb.compute_mask(ids), ids != 0)
    assert fr.Embedding(5, 3).compute_mask(ids) is None
    np.testing.assert_array_equal(emb(ids.astype("float32")), out)  # whole floats, as Keras


@pytest.mark.parametrize("ids,error,match", [
    (np.array([[5]]), ValueError, r"\[0, 5\)"),
    (np.array([[-1]]), ValueError, r"\[0, 5\)"),
    (np.array([[1.5]]), ValueError, "whole numbers"),
    (np.array([["a"]]), TypeError, "integer ids"),
])
def test_embedding_bad_ids(ids, error, match):
    with pytest.raises(error, match=match):
        fr.Embedding(5, 3)(ids)


def test_masking_zeroes_masked_steps_and_makes_the_mask():
    x = random_x((2, 4, 3))
    x[0, 1] = 0.0
    x[1, 3] = 7.0
    x[1, 0, 0] = 0.0  # one zero feature does not mask the step
    for layer, masked in ((fr.Masking(), (0, 1)), (fr.Masking(mask_value=7.0), (1, 3))):
        mask = layer.compute_mask(x)
        expected = np.ones((2, 4), bool)
        expected[masked] = False
        np.testing.assert_array_equal(mask, expected)
        out = layer(x)
        np.testing.assert_array_equal(out, x * expected[..., None])


def test_dense_any_rank_and_activation():
    dense = fr.Dense(4, activation="softmax")
    x = random_x((2, 5, 3))
    out = dense(x)
    logits = x @ dense.kernel + dense.bias
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(out, expected, rtol=1e-6)
    assert dense.compute_mask(x, np.ones((2, 5), bool)).all()
    no_bias = fr.Dense(2, use_bias=False)
    np.testing.assert_allclose(no_bias(x[:, 0]), x[:, 0] @ no_bias.kernel, rtol=1e-6)
    assert len(no_bias.weights) == 1
    with pytest.raises(ValueError, match="features|shape"):
        dense(random_x((2, 4)))


def test_dropout_is_identity_at_inference_and_drops_when_training():
    x = np.ones((200, 50), "float32")
    layer = fr.Dropout(0.5, seed=1)
    assert layer(x) is x
    dropped = layer(x, training=True)
    assert set(np.unique(dropped)) == {0.0, 2.0}
    assert 0.4 < (dropped == 0).mean() < 0.6
    assert (fr.Dropout(1.0)(x, training=True) == 0).all()
    with pytest.raises(ValueError, match="rate"):
        fr.Dropout(1.5)


def test_input_layer_shapes():
    assert fr.InputLayer(input_shape=(None, 3), batch_size=4).batch_shape == (4, None, 3)
    assert fr.InputLayer(batch_input_shape=(None, 7), dtype="int32").input_dtype == "int32"
    with pytest.raises(ValueError, match="sparse"):
        fr.InputLayer(input_shape=(3,), sparse=True)


# --------------------------------------------------------------------------
# Bidirectional
# --------------------------------------------------------------------------

def bidirectional_pair(merge_mode="concat", **kwargs):
    """A Bidirectional layer and plain forward / backward layers with its weights."""
    bi = fr.Bidirectional(fr.GRU(3, **kwargs), merge_mode=merge_mode)
    bi.build((None, None, 4))
    bi.set_weights([RNG.uniform(-1.5, 1.5, w.shape) for w in bi.get_weights()])
    forward = fr.GRU(3, zero_output_for_mask=kwargs.get("return_sequences", False), **kwargs)
    backward = fr.GRU(3, go_backwards=True,
                      zero_output_for_mask=kwargs.get("return_sequences", False), **kwargs)
    for layer, sub in ((forward, bi.forward_layer), (backward, bi.backward_layer)):
        layer.build((None, None, 4))
        layer.set_weights(sub.get_weights())
    return bi, forward, backward


@pytest.mark.parametrize("merge_mode,merge", [
    ("concat", lambda a, b: np.concatenate([a, b], -1)), ("sum", np.add),
    ("mul", np.multiply), ("ave", lambda a, b: (a + b) / 2)])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bidirectional_merges_forward_and_reversed_backward(merge_mode, merge,
                                                            return_sequences):
    bi, forward, backward = bidirectional_pair(merge_mode, return_sequences=return_sequences)
    x = random_x((3, 6, 4))
    mask = np.ones((3, 6), bool)
    mask[0, 4:] = False
    mask[1, :2] = False
    y, y_rev = forward(x, mask=mask), backward(x, mask=mask)
    if return_sequences:
        y_rev = y_rev[:, ::-1]
    np.testing.assert_allclose(bi(x, mask=mask), merge(y, y_rev), rtol=1e-6, atol=1e-7)


def test_bidirectional_merge_none_and_states():
    bi, forward, backward = bidirectional_pair(None, return_sequences=True, return_state=True)
    x = random_x((2, 5, 4))
    init = [random_x((2, 3)), random_x((2, 3))]
    y, y_rev, h_f, h_b = bi(x, initial_state=init)
    f_out, f_h = forward(x, initial_state=[init[0]])
    b_out, b_h = backward(x, initial_state=[init[1]])
    np.testing.assert_allclose(y, f_out, rtol=1e-6)
    np.testing.assert_allclose(y_rev, b_out[:, ::-1], rtol=1e-6)
    np.testing.assert_allclose(h_f, f_h, rtol=1e-6)
    np.testing.assert_allclose(h_b, b_h, rtol=1e-6)
    mask = np.ones((2, 5), bool)
    assert len(bi.compute_mask(x, mask)) == 4
    assert bi.compute_output_shape((2, 5, 4)) == [(2, 5, 3), (2, 5, 3), (2, 3), (2, 3)]


def test_bidirectional_time_major_and_stateful():
    bi = fr.Bidirectional(fr.LSTM(2, return_sequences=True, time_major=True, stateful=True))
    x = random_x((5, 2, 3))
    first = bi(x)
    assert first.shape == (5, 2, 4)
    assert not np.allclose(bi(x), first)  # states carried over
    bi.reset_states()
    np.testing.assert_allclose(bi(x), first, rtol=1e-6)


def test_bidirectional_checks():
    with pytest.raises(ValueError, match="merge_mode"):
        fr.Bidirectional(fr.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        fr.Bidirectional(fr.LSTM(2), backward_layer=fr.LSTM(2))
    with pytest.raises(ValueError, match="return_sequences"):
        fr.Bidirectional(fr.LSTM(2), backward_layer=fr.LSTM(2, go_backwards=True,
                                                             return_sequences=True))
    with pytest.raises(ValueError, match="recurrent layer"):
        fr.Bidirectional(fr.Dense(2))


def test_bidirectional_copies_the_layer_and_its_config_round_trips():
    layer = fr.LSTM(2, name="lstm")
    bi = fr.Bidirectional(layer, backward_layer=fr.GRU(3, go_backwards=True))
    assert bi.forward_layer is not layer and bi.forward_layer.name == "forward_lstm"
    x = random_x((2, 4, 3))
    out = bi(x)
    assert out.shape == (2, 5)
    copy = fr.Bidirectional.from_config(json.loads(json.dumps(bi.get_config())))
    copy.build((None, None, 3))
    copy.set_weights(bi.get_weights())
    np.testing.assert_array_equal(copy(x), out)
    assert copy.forward_layer.name == "forward_lstm"


# --------------------------------------------------------------------------
# Sequential
# --------------------------------------------------------------------------

def text_model():
    model = fr.Sequential([fr.InputLayer(input_shape=(None,), dtype="int32"),
                           fr.Embedding(20, 4, mask_zero=True),
                           fr.Bidirectional(fr.LSTM(3, return_sequences=True)),
                           fr.Dropout(0.5),
                           fr.LSTM(2),
                           fr.Dense(3, activation="softmax")])
    model.set_weights([RNG.uniform(-1.5, 1.5, w.shape) for w in model.get_weights()])
    return model


def test_sequential_propagates_masks_as_keras():
    model = text_model()
    ids = np.array([[3, 5, 7, 0, 0], [0, 0, 9, 1, 2]])
    emb, bi, _, lstm, dense = model.layers
    mask = ids != 0
    hidden = bi(emb(ids), mask=mask)
    expected = dense(lstm(hidden, mask=mask))
    np.testing.assert_allclose(model.predict(ids), expected, rtol=1e-6)
    # padding steps change nothing: the mask is honoured end to end
    np.testing.assert_allclose(model.predict(ids[:1, :3]), expected[:1], rtol=1e-5)


def test_sequential_predict_batches_and_weights_order():
    model = text_model()
    ids = RNG.integers(0, 20, size=(7, 6))
    np.testing.assert_allclose(model.predict(ids, batch_size=3), model.predict(ids),
                               rtol=1e-6)
    shapes = [w.shape for w in model.get_weights()]
    assert shapes[0] == (20, 4) and shapes[-2:] == [(2, 3), (3,)]
    with pytest.raises(ValueError):
        model.predict(ids, batch_size=0)


def test_sequential_set_weights_is_all_or_nothing():
    model = text_model()
    before = model.get_weights()
    bad = [w.copy() + 1 for w in before]
    bad[-1] = np.zeros(4)
    with pytest.raises(ValueError):
        model.set_weights(bad)
    for got, want in zip(model.get_weights(), before):
        np.testing.assert_array_equal(got, want)


def test_sequential_config_round_trip_and_summary(capsys):
    model = text_model()
    copy = fr.Sequential.from_config(json.loads(json.dumps(model.get_config())))
    copy.set_weights(model.get_weights())
    ids = RNG.integers(0, 20, size=(2, 5))
    np.testing.assert_array_equal(copy.predict(ids), model.predict(ids))
    model.summary()
    assert "bidirectional" in capsys.readouterr().out


def test_sequential_builds_from_first_call_and_refuses_mid_model_lists():
    model = fr.Sequential([fr.LSTM(3, return_sequences=True), fr.Dense(2)])
    assert model(random_x((2, 4, 5))).shape == (2, 4, 2)
    states_mid = fr.Sequential([fr.LSTM(3, return_state=True), fr.Dense(2)])
    with pytest.raises(ValueError, match="only the last layer"):
        states_mid(random_x((2, 4, 5)))
    with pytest.raises(ValueError, match="InputLayer"):
        fr.Sequential([fr.Dense(2), fr.InputLayer(input_shape=(3,))])
    with pytest.raises(TypeError):
        fr.Sequential([object()])


def test_sequential_reset_states():
    model = fr.Sequential([fr.InputLayer(batch_shape=(2, None, 3)),
                           fr.GRU(2, stateful=True), fr.Dense(1)])
    x = random_x((2, 4, 3))
    first = model.predict(x)
    assert not np.allclose(model.predict(x), first)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x), first, rtol=1e-6)
