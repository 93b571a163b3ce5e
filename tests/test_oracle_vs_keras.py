"""The oracle itself against real tf.keras: every single-layer case the fixtures
recorded (SimpleRNN / LSTM / GRU, masks, go_backwards, time_major, initial states,
activations, float64) is recomputed by tests/oracle.py and compared with what
tf.keras returned.  This is what makes the oracle a trustworthy reference."""
import os
import sys

import numpy as np
import pytest

from oracle import run_rnn

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "fixtures"))
from load_keras_cases import flatten, load_layer_cases  # noqa: E402

CELL = {"SimpleRNN": "simple", "LSTM": "lstm", "GRU": "gru"}


def single_layer_cases():
    return list(_single_layer_cases())


def _single_layer_cases():
    for case in load_layer_cases():
        cfg = case["config"]
        if (case["class_name"] in CELL and not cfg.get("stateful")
                and not cfg.get("dropout") and not cfg.get("recurrent_dropout")):
            yield pytest.param(case, id=case["name"])


@pytest.mark.parametrize("case", single_layer_cases())
def test_oracle_matches_tf_keras(case):
    cfg = case["config"]
    weights = case["weights"]
    bias = weights[2] if cfg["use_bias"] else None
    for call in case["calls"]:
        assert call["op"] == "call"
        output, states = run_rnn(
            CELL[case["class_name"]], call["x"], weights[0], weights[1], bias,
            activation_name=cfg["activation"],
            recurrent_activation_name=cfg.get("recurrent_activation", "sigmoid"),
            reset_after=cfg.get("reset_after", True), mask=call["mask"],
            initial_state=call["initial_state"], time_major=cfg.get("time_major", False),
            go_backwards=cfg["go_backwards"], return_sequences=cfg["return_sequences"],
            zero_output_for_mask=cfg.get("zero_output_for_mask", False))
        expected = flatten(call["outputs"])
        got = [output] + (states if cfg["return_state"] else [])
        assert len(got) == len(expected)
        atol = 1e-5 if case["dtype"] == "float32" else 1e-10
        for g, e in zip(got, expected):
            np.testing.assert_allclose(g, e, rtol=0, atol=atol * max(1.0, np.abs(e).max()))
