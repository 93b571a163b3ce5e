"""PyTorch heads (issue 13): nn.Linear, Embedding, LayerNorm, Dropout, Conv1d, activations and
nn.Sequential converted by ``fastrnn.convert.from_torch``, against torch itself."""
import numpy as np
import pytest

import fastrnn as fr
import fastrnn.convert as fc

torch = pytest.importorskip("torch")
nn = torch.nn
ATOL = 1e-5


def _state(module):
    return {k: v.detach().numpy() for k, v in module.state_dict().items()}


def _torch(module, x):
    with torch.no_grad():
        return module(torch.as_tensor(x)).numpy()


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(13)


@pytest.mark.parametrize("bias", [True, False])
def test_linear(bias):
    module = nn.Linear(5, 3, bias=bias)
    x = np.random.default_rng(0).normal(size=(4, 7, 5)).astype("float32")
    for layer in (fc.from_torch(module), fc.from_torch(_state(module), mode="Linear")):
        assert isinstance(layer, fr.Dense)
        np.testing.assert_allclose(layer(x), _torch(module, x), atol=ATOL)


@pytest.mark.parametrize("padding_idx", [None, 0, -1])
def test_embedding_with_padding_idx(padding_idx):
    module = nn.Embedding(11, 4, padding_idx=padding_idx)
    ids = np.array([[0, 3, 10, 0], [5, 10, 1, 2]])
    layer = fc.from_torch(module)
    np.testing.assert_allclose(layer(ids), _torch(module, ids), atol=0)
    assert layer.padding_idx == (None if padding_idx is None else padding_idx % 11)
    assert layer.compute_mask(ids) is None           # torch does not mask either
    from_state = fc.from_torch(_state(module), mode="Embedding", padding_idx=padding_idx)
    np.testing.assert_array_equal(from_state(ids), layer(ids))


@pytest.mark.parametrize("shape,affine,bias", [((6,), True, True), ((3, 6), True, True),
                                               ((6,), False, False), ((6,), True, False)])
def test_layer_norm(shape, affine, bias):
    module = nn.LayerNorm(shape, eps=1e-4, elementwise_affine=affine, bias=bias)
    if affine:
        with torch.no_grad():
            module.weight.uniform_(-2, 2)
            if bias:
                module.bias.uniform_(-1, 1)
    x = np.random.default_rng(1).normal(size=(2, 3, 6)).astype("float32") * 3
    np.testing.assert_allclose(fc.from_torch(module)(x), _torch(module, x), atol=ATOL)
    layer = fc.from_torch(_state(module), mode="LayerNorm", eps=1e-4, normalized_shape=shape)
    np.testing.assert_allclose(layer(x), _torch(module, x), atol=ATOL)


@pytest.mark.parametrize("kwargs", [
    {}, {"stride": 2}, {"padding": 2}, {"padding": "same", "dilation": 2},
    {"groups": 2, "bias": False}, {"stride": 3, "padding": 1, "dilation": 2}])
def test_conv1d(kwargs):
    module = nn.Conv1d(4, 6, 3, **kwargs)
    x = np.random.default_rng(2).normal(size=(3, 4, 17)).astype("float32")   # (B, C, L)
    want = _torch(module, x)
    np.testing.assert_allclose(fc.from_torch(module)(x), want, atol=ATOL)
    settings = {k: v for k, v in kwargs.items() if k != "bias"}
    layer = fc.from_torch(_state(module), mode="Conv1d", **settings)
    np.testing.assert_allclose(layer(x), want, atol=ATOL)


def test_sequential_of_heads_and_dropout():
    module = nn.Sequential(nn.Linear(5, 8), nn.ReLU(), nn.Dropout(0.3), nn.LayerNorm(8),
                           nn.Linear(8, 8), nn.Tanh(), nn.Sequential(nn.Linear(8, 3),
                                                                     nn.Softmax(dim=-1)))
    module.eval()
    x = np.random.default_rng(3).normal(size=(6, 5)).astype("float32")
    model = fc.from_torch(module)
    assert isinstance(model, fr.Sequential)
    np.testing.assert_allclose(model.predict(x), _torch(module, x), atol=ATOL)


def test_embedding_lstm_linear_classifier_from_whole_state_dict():
    """The README example: one fastrnn model predicting what the torch classifier does."""
    class Classifier(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(40, 8, padding_idx=0)
            self.lstm = nn.LSTM(8, 16, num_layers=2, batch_first=True)
            self.fc = nn.Linear(16, 3)

        def forward(self, ids):
            output, (h_n, c_n) = self.lstm(self.embedding(ids))
            return self.fc(output[:, -1])

    torch_model = Classifier().eval()
    ids = np.random.default_rng(4).integers(0, 40, (5, 9))
    want = _torch(torch_model, ids)
    state = _state(torch_model)
    model = fr.Sequential([
        fc.from_torch(state, mode="Embedding", prefix="embedding."),
        *fc.rnn_layers(fc.from_torch(state, mode="LSTM", batch_first=True, prefix="lstm.")),
        fc.from_torch(state, mode="Linear", prefix="fc."),
    ])
    np.testing.assert_allclose(model.predict(ids), want, atol=ATOL)
    from_modules = fr.Sequential([fc.from_torch(torch_model.embedding),
                                  *fc.rnn_layers(fc.from_torch(torch_model.lstm)),
                                  fc.from_torch(torch_model.fc)])
    np.testing.assert_allclose(from_modules.predict(ids), want, atol=ATOL)


def test_rnn_layers_bidirectional_final_state_is_h_n():
    lstm = nn.GRU(3, 4, bidirectional=True, batch_first=True)
    x = np.random.default_rng(5).normal(size=(2, 6, 3)).astype("float32")
    with torch.no_grad():
        out, h_n = lstm(torch.as_tensor(x))
    (last,) = fc.rnn_layers(fc.from_torch(lstm))
    np.testing.assert_allclose(last(x), torch.cat([h_n[-2], h_n[-1]], 1).numpy(), atol=ATOL)
    (seq,) = fc.rnn_layers(fc.from_torch(lstm), return_sequences=True)
    np.testing.assert_allclose(seq(x), out.numpy(), atol=ATOL)


def test_refusals_name_the_problem():
    with pytest.raises(ValueError, match="unsupported torch module 'GELU'"):
        fc.from_torch(nn.Sequential(nn.Linear(2, 2), nn.GELU()))
    with pytest.raises(ValueError, match="Softmax"):
        fc.from_torch(nn.Softmax(dim=0))
    with pytest.raises(ValueError, match="padding_mode"):
        fc.from_torch(nn.Conv1d(2, 2, 3, padding=1, padding_mode="reflect"))
    state = _state(nn.Linear(3, 2))
    with pytest.raises(ValueError, match="no state_dict key starts with prefix 'fc.'"):
        fc.from_torch(state, mode="Linear", prefix="fc.")
    with pytest.raises(ValueError, match="unexpected state_dict key"):
        fc.from_torch(dict(state, extra=np.zeros(2)), mode="Linear")
    with pytest.raises(ValueError, match="must be .out, in."):
        fc.from_torch({"weight": np.zeros(3)}, mode="Linear")
    with pytest.raises(ValueError, match="prefix= and module settings are for state_dicts"):
        fc.from_torch(nn.Linear(3, 2), prefix="x.")
    with pytest.raises(ValueError, match="mode must be one of"):
        fc.from_torch(state, mode="Linearr")
