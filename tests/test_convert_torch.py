"""Parity of fastrnn.convert.from_torch with torch.nn.LSTM / GRU / RNN (skipped without torch)."""
import itertools

import numpy as np
import pytest

import fastrnn as fr
from fastrnn.convert import TorchRNN, from_torch

torch = pytest.importorskip("torch")

ATOL = 1e-5
INPUT, HIDDEN, STEPS, BATCH = 3, 4, 6, 2
MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]


def make_module(mode, num_layers=1, bidirectional=False, batch_first=False, bias=True,
                dtype=torch.float32, seed=0):
    """A torch module with random weights: large enough to saturate the gates
    (uniform(-1.5, 1.5)), smaller for relu (unbounded: float32's absolute error grows
    with the values)."""
    torch.manual_seed(seed)
    kwargs = dict(num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                  bias=bias)
    if mode.startswith("RNN_"):
        module = torch.nn.RNN(INPUT, HIDDEN, nonlinearity=mode[4:].lower(), **kwargs)
    else:
        module = getattr(torch.nn, mode)(INPUT, HIDDEN, **kwargs)
    scale = 0.5 if mode == "RNN_RELU" else 1.5
    with torch.no_grad():
        for parameter in module.parameters():
            parameter.uniform_(-scale, scale)
    return module.to(dtype)


def numpy_state_dict(module):
    return {key: value.numpy() for key, value in module.state_dict().items()}


def random_inputs(module, batch=BATCH, unbatched=False, seed=1):
    """``(x, hx)`` torch tensors in the module's layout."""
    generator = torch.Generator().manual_seed(seed)
    dtype = next(module.parameters()).dtype
    rows = module.num_layers * (2 if module.bidirectional else 1)
    if unbatched:
        x_shape, h_shape = (STEPS, INPUT), (rows, HIDDEN)
    else:
        x_shape = (batch, STEPS, INPUT) if module.batch_first else (STEPS, batch, INPUT)
        h_shape = (rows, batch, HIDDEN)
    x = 2 * torch.randn(x_shape, generator=generator, dtype=dtype)
    h = [0.8 * torch.randn(h_shape, generator=generator, dtype=dtype)
         for _ in range(2 if module.mode == "LSTM" else 1)]
    return x, (tuple(h) if module.mode == "LSTM" else h[0])


def flat(result):
    """``(output, h_n)`` / ``(output, (h_n, c_n))`` as a flat list of NumPy arrays."""
    output, states = result
    states = list(states) if isinstance(states, tuple) else [states]
    return [np.asarray(v.detach().numpy() if hasattr(v, "detach") else v)
            for v in [output] + states]


def assert_same(ours, theirs, atol=ATOL):
    ours, theirs = flat(ours), flat(theirs)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=0, atol=atol)


def to_numpy_hx(hx):
    if isinstance(hx, tuple):
        return tuple(h.numpy() for h in hx)
    return hx.numpy()


@pytest.mark.parametrize("mode,num_layers,bidirectional,batch_first,bias", list(
    itertools.product(MODES, [1, 2], [False, True], [False, True], [True, False])))
def test_parity_with_torch(mode, num_layers, bidirectional, batch_first, bias):
    module = make_module(mode, num_layers, bidirectional, batch_first, bias)
    x, hx = random_inputs(module)
    with torch.no_grad():
        expected = {False: module(x), True: module(x, hx)}
    converted = [from_torch(module),
                 from_torch(numpy_state_dict(module), mode=mode, batch_first=batch_first)]
    for rnn in converted:
        assert_same(rnn(x.numpy()), expected[False])
        assert_same(rnn(x.numpy(), to_numpy_hx(hx)), expected[True])


@pytest.mark.parametrize("mode", MODES)
def test_unbatched_input(mode):
    module = make_module(mode, num_layers=2, bidirectional=True)
    x, hx = random_inputs(module, unbatched=True)
    rnn = from_torch(module)
    with torch.no_grad():
        assert_same(rnn(x.numpy()), module(x))
        assert_same(rnn(x.numpy(), to_numpy_hx(hx)), module(x, hx))


@pytest.mark.parametrize("mode", MODES)
def test_float64_module_computes_in_float64(mode):
    module = make_module(mode, num_layers=2, bidirectional=True, dtype=torch.float64)
    x, hx = random_inputs(module)
    rnn = from_torch(module)
    assert rnn.dtype == np.float64
    with torch.no_grad():
        assert_same(rnn(x.numpy(), to_numpy_hx(hx)), module(x, hx), atol=1e-12)


def test_torch_tensors_are_accepted_as_inputs():
    module = make_module("GRU", batch_first=True)
    x, hx = random_inputs(module)
    with torch.no_grad():
        assert_same(from_torch(module)(x, hx), module(x, hx))


def test_layers_are_fastrnn_layers():
    rnn = from_torch(make_module("LSTM", num_layers=2, bidirectional=True))
    assert isinstance(rnn, TorchRNN)
    assert len(rnn.layers) == 2
    assert all(isinstance(layer, fr.Bidirectional) for layer in rnn.layers)
    assert isinstance(rnn.layers[0].forward_layer, fr.LSTM)
    assert rnn.layers[1].forward_layer.cell.kernel.shape == (2 * HIDDEN, 4 * HIDDEN)
    single = from_torch(make_module("RNN_RELU"))
    assert isinstance(single.layers[0], fr.SimpleRNN)
    assert single.layers[0].activation is fr.activations.relu
    gru = from_torch(make_module("GRU")).layers[0]
    assert isinstance(gru, fr.GRU) and gru.reset_after


def test_gru_gate_mapping_matches_keras_layout():
    module = make_module("GRU")
    state = numpy_state_dict(module)
    kernel, recurrent, bias = from_torch(module).layers[0].get_weights()
    r, z, n = np.split(state["weight_ih_l0"], 3)
    np.testing.assert_array_equal(kernel, np.concatenate([z, r, n]).T)
    r, z, n = np.split(state["bias_hh_l0"], 3)
    np.testing.assert_array_equal(bias[1], np.concatenate([z, r, n]))
    assert recurrent.shape == (HIDDEN, 3 * HIDDEN)


def test_lstm_biases_are_summed():
    module = make_module("LSTM")
    state = numpy_state_dict(module)
    bias = from_torch(module).layers[0].get_weights()[2]
    np.testing.assert_allclose(bias, state["bias_ih_l0"] + state["bias_hh_l0"])


def test_mode_rnn_with_nonlinearity():
    module = make_module("RNN_RELU")
    x, _ = random_inputs(module)
    rnn = from_torch(numpy_state_dict(module), mode="RNN", nonlinearity="relu",
                     batch_first=False)
    with torch.no_grad():
        assert_same(rnn(x.numpy()), module(x))


def test_proj_size_is_refused():
    module = torch.nn.LSTM(INPUT, HIDDEN, proj_size=2)
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(module)
    with pytest.raises(ValueError, match="proj_size"):
        from_torch(numpy_state_dict(module), mode="LSTM", batch_first=False)


def test_state_dict_needs_mode_and_batch_first():
    state = numpy_state_dict(make_module("GRU"))
    with pytest.raises(ValueError, match="mode="):
        from_torch(state, batch_first=True)
    with pytest.raises(ValueError, match="batch_first"):
        from_torch(state, mode="GRU")
    with pytest.raises(ValueError, match="mode"):
        from_torch(state, mode="LSTMX", batch_first=True)


def test_state_dict_problems_are_named():
    state = numpy_state_dict(make_module("LSTM", num_layers=2))
    missing = dict(state)
    del missing["weight_hh_l1"]
    with pytest.raises(ValueError, match="weight_hh_l1"):
        from_torch(missing, mode="LSTM", batch_first=False)
    extra = dict(state, something=np.zeros(3))
    with pytest.raises(ValueError, match="something"):
        from_torch(extra, mode="LSTM", batch_first=False)
    with pytest.raises(ValueError, match=r"has shape \(16,?.*\), expected \(12,?.* GRU"):
        from_torch(state, mode="GRU", batch_first=False)
    with pytest.raises(ValueError, match="num_layers=3"):
        from_torch(state, mode="LSTM", batch_first=False, num_layers=3)
    with pytest.raises(ValueError, match="bidirectional=True"):
        from_torch(state, mode="LSTM", batch_first=False, bidirectional=True)


def test_arguments_must_agree_with_the_module():
    module = make_module("GRU", batch_first=True)
    with pytest.raises(ValueError, match="batch_first"):
        from_torch(module, batch_first=False)
    with pytest.raises(ValueError, match="mode"):
        from_torch(module, mode="LSTM")
    assert from_torch(module, mode="GRU", batch_first=True, num_layers=1).batch_first


def test_bad_calls():
    rnn = from_torch(make_module("LSTM", num_layers=2))
    x = np.zeros((STEPS, BATCH, INPUT), "float32")
    with pytest.raises(ValueError, match="hx"):
        rnn(x, (np.zeros((2, BATCH, HIDDEN)), np.zeros((1, BATCH, HIDDEN))))
    with pytest.raises(ValueError, match="tuple"):
        rnn(x, (np.zeros((2, BATCH, HIDDEN)),))
    with pytest.raises(ValueError, match="features"):
        rnn(np.zeros((STEPS, BATCH, INPUT + 1), "float32"))
    with pytest.raises(TypeError):
        from_torch([1, 2, 3])
