"""Fuzz test: seeded random API calls and damaged model files, each in its own process.

Every case is derived from ``(seed, index)`` alone, runs in a forked child
process under a time limit, and must end either normally or with a
``ValueError`` / ``TypeError``: any other exception, a crash (a signal) or a
hang (over the limit) fails the test, which lists the cases to rerun.

The default budget is small (the suite stays fast); ``pytest --fuzz-long``
runs 5,000 cases of each kind (``--fuzz-long=N`` for N).  Rerun one case with
``python tests/test_fuzz.py api 123`` (or ``file 123``, ``graph_file 123``).
"""
import os
import random
import sys
import tempfile

import numpy as np
import pytest

import corruptions
import fastrnn as fr                      # imported once here: each forked case inherits it
from fastrnn.convert import from_keras_config, load_keras
from fastrnn.convert._graph import Model

SEED = 20261202
DEFAULT_CASES = {"api": 80, "file": 60, "graph_file": 40}
#: Seconds a case may take (loads take ~50 ms; generous for a loaded 2-core machine).
TIME_LIMIT = 30


# --------------------------------------------------------------------------
# random API calls
# --------------------------------------------------------------------------

def _weird(rng):
    return rng.choice(corruptions.WEIRD_VALUES)


def _size(rng):
    """A size: usually small and valid, sometimes absurd or of the wrong type."""
    return rng.choice([1, 2, 3, 4]) if rng.random() < 0.7 else _weird(rng)


def _array(rng, shape=None):
    """An input: usually a float array, sometimes of another dtype, rank or kind."""
    if shape is None:
        shape = tuple(rng.choice([0, 1, 2, 3, 5]) for _ in range(rng.choice([1, 2, 3, 3, 3, 4])))
    action = rng.random()
    if action < 0.6:
        return np.random.default_rng(rng.randrange(2**32)).normal(size=shape).astype(
            rng.choice(["float32", "float64", "int32", "float16"]))
    if action < 0.7:
        return np.full(shape, "a")
    if action < 0.8:
        return np.ones(shape) * 1j
    if action < 0.85:
        return np.full(shape, np.nan)
    if action < 0.9:
        return np.ones(shape).tolist()
    return _weird(rng)


def _rnn_layer(rng):
    cls = rng.choice([fr.SimpleRNN, fr.LSTM, fr.GRU])
    kwargs = {}
    for key, values in [("return_sequences", [True, False]), ("return_state", [True, False]),
                        ("go_backwards", [True, False]), ("stateful", [False, False, True]),
                        ("time_major", [False, False, True]), ("use_bias", [True, False]),
                        ("activation", ["tanh", "relu", "sigmoid", "nope", None, 3]),
                        ("dropout", [0.0, 0.5, -1, "a"]), ("unroll", [False, True]),
                        ("batch_input_shape", [None, (2, 3, 4), "abc", (-1, 2, 3), (2**40, 1, 1)]),
                        ("batch_size", [None, 2, -3, "x", 2**64]), ("dtype", [None, "float64",
                                                                                "int8", 3])]:
        if rng.random() < 0.3:
            kwargs[key] = rng.choice(values)
    if rng.random() < 0.1:
        kwargs[rng.choice(["num_constants", "input_dim", "input_shape", "weights", "zzz"])] = \
            _weird(rng)
    return cls(_size(rng), **kwargs)


def _cell(rng):
    cls = rng.choice([fr.SimpleRNNCell, fr.LSTMCell, fr.GRUCell, fr.TfLiteRNNCell])
    return cls(_size(rng))


def case_api(index, seed=SEED):
    """One random sequence of API calls."""
    rng = random.Random(f"api-{seed}-{index}")
    kind = rng.choice(["layer", "layer", "layer", "cell", "config", "model", "input", "misc"])
    if kind == "layer":
        layer = _rnn_layer(rng)
        if rng.random() < 0.3:
            layer.build(rng.choice([(2, 3, 4), (None, None, 2**31), "3", [(2, 3)], (2, 3),
                                    (2, 3, -1), ((2, 3, 4), (2, 3, 4))]))
        x = _array(rng)
        kwargs = {}
        if rng.random() < 0.3:
            kwargs["mask"] = _array(rng, np.shape(x)[:2] if np.ndim(x) >= 2 else None) > 0 \
                if rng.random() < 0.5 else _weird(rng)
        if rng.random() < 0.3:
            kwargs["initial_state"] = [_array(rng) for _ in range(rng.randint(0, 3))]
        if rng.random() < 0.2:
            kwargs["training"] = rng.choice([True, False, None, "yes"])
        layer(x, **kwargs)
        if rng.random() < 0.4:
            weights = [_array(rng, w.shape) if rng.random() < 0.7 else _array(rng)
                       for w in layer.get_weights()]
            if rng.random() < 0.2:
                weights = weights[:-1]
            layer.set_weights(weights)
        if rng.random() < 0.3 and layer.stateful:
            layer.reset_states(rng.choice([None, [_array(rng)], _array(rng), "a"]))
        layer(_array(rng))
    elif kind == "cell":
        cell = _cell(rng)
        cell.build(rng.choice([(2, 3), (None, 3), (2, 2**31), (2, 0)]))
        states = [_array(rng, (2, rng.choice([1, 2, 3, 4]))) for _ in range(rng.randint(0, 3))]
        cell(_array(rng), states if rng.random() < 0.8 else states[0] if states else None)
    elif kind == "config":
        layer = rng.choice([fr.LSTM(2), fr.GRU(3, reset_after=False), fr.SimpleRNN(2),
                            fr.Bidirectional(fr.LSTM(2)), fr.RNN([fr.LSTMCell(2), fr.GRUCell(3)]),
                            fr.Dense(3), fr.Embedding(5, 2)])
        layer.build((2, 3) if isinstance(layer, fr.Embedding) else (2, 3, 4))
        config = {"class_name": type(layer).__name__, "config": layer.get_config()}
        weights = layer.get_weights()
        if rng.random() < 0.7:
            config = corruptions.mutate_config(config, rng)
        if rng.random() < 0.4:
            weights = [_array(rng) if rng.random() < 0.3 else w for w in weights]
        if rng.random() < 0.1:
            config = corruptions.nested_cells(rng.choice([100, 3000]))
        from_keras_config(config, rng.choice([weights, weights, None, "w", 3, [np.ones(())]]),
                          keras_version=rng.choice([None, None, "2.15", "3.1", 3, b"3", ["3"]]))
    elif kind == "model":
        layers = [rng.choice([fr.LSTM(2, return_sequences=True), fr.Dense(_size(rng)),
                              fr.Dropout(rng.choice([0.1, 2, "a"])), fr.Masking(),
                              fr.GRU(2, return_state=rng.random() < 0.3)])
                  for _ in range(rng.randint(1, 4))]
        first = [fr.InputLayer(batch_shape=rng.choice([(None, 3, 4), (2, 3, 4), "ab", (None,),
                                                       (2, -1, 4)]))] if rng.random() < 0.5 else []
        model = fr.Sequential(first + layers)
        model.predict(_array(rng), batch_size=rng.choice([None, 1, 2, 0, -1, "a", 2**40]))
    elif kind == "input":
        shape = rng.choice([(None, 5), "a", (-1,), (2**31,), 3, [None, None, 2], ({},)])
        y = fr.LSTM(_size(rng))(fr.Input(shape=shape, batch_size=rng.choice([None, 2, -1, "a"])))
        fr.Dense(2)(y)
    else:
        name = rng.choice(["activations", "initializers", "regularizers", "constraints"])
        getattr(fr, name).get(_weird(rng))
        fr.layers.deserialize(corruptions.mutate_config(
            {"class_name": "LSTM", "config": {"units": 2}}, rng))


def case_file(index, seed=SEED):
    """Load one damaged model file."""
    rng = random.Random(f"file-{seed}-{index}")
    with tempfile.TemporaryDirectory() as directory:
        path = corruptions.damaged_model_file(rng, directory)
        model = load_keras(path)
        if isinstance(model, fr.Sequential):   # a loaded model also runs
            model.predict(np.zeros((1,) + tuple(d or 2 for d in model._input.batch_shape[1:]),
                                   model._input.input_dtype))


def case_graph_file(index, seed=SEED):
    """Load one damaged functional (graph) model file, and run it if it loads."""
    rng = random.Random(f"graph-{seed}-{index}")
    with tempfile.TemporaryDirectory() as directory:
        path = corruptions.damaged_model_file(rng, directory, corruptions.GRAPH_MODEL_FILES)
        model = load_keras(path)
        if isinstance(model, Model):
            model.predict([np.zeros((1,) + tuple(d or 2 for d in shape[1:]), dtype)
                           for _, shape, dtype in model._input_specs])


CASES = {"api": case_api, "file": case_file, "graph_file": case_graph_file}


# --------------------------------------------------------------------------
# running cases in child processes
# --------------------------------------------------------------------------

def run_case(kind, index, time_limit=TIME_LIMIT):
    """``(outcome, detail)`` of one case, run in a forked child (see ``run_forked``)."""
    return corruptions.run_forked(CASES[kind], index, time_limit=time_limit)


def run_cases(kind, count):
    counts, failures = {}, []
    for index in range(count):
        outcome, detail = run_case(kind, index)
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome not in ("ok", "clear"):
            failures.append((index, outcome, detail))
    return counts, failures


@pytest.mark.skipif(not hasattr(os, "fork"), reason="the fuzz test forks a process per case")
@pytest.mark.parametrize("kind", sorted(CASES))
def test_fuzz(kind, request):
    """Random calls / damaged files end normally or with a clear ValueError / TypeError."""
    long_run = request.config.getoption("--fuzz-long")
    count = long_run if long_run else DEFAULT_CASES[kind]
    counts, failures = run_cases(kind, count)
    print(f"\nfuzz {kind}: {count} cases: {counts}")
    assert counts.get("clear", 0) > 0          # the generators do reach the checks
    assert not failures, "\n\n".join(
        f"case {kind} {index} ({outcome}; rerun: python tests/test_fuzz.py {kind} {index}):\n"
        f"{detail}" for index, outcome, detail in failures[:10])


if __name__ == "__main__":
    # python tests/test_fuzz.py KIND INDEX: run one case here, with its full traceback
    CASES[sys.argv[1]](int(sys.argv[2]))
    print("no error")
