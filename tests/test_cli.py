"""``python -m fastrnn predict`` and ``inspect`` end to end on the committed fixture models."""
import os
import subprocess
import sys

import numpy as np
import pytest

from fastrnn.__main__ import main
from fastrnn.convert import from_torch, load_keras

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXTURES = os.path.join(ROOT, "tests", "fixtures")
STACKED = os.path.join(FIXTURES, "keras2_stacked_lstm.keras")       # (None, None, 4) -> (2,)
EMB_BILSTM = os.path.join(FIXTURES, "keras2_emb_bilstm.h5")         # int ids (None, None) -> (3,)
RNG = np.random.default_rng(11)


def run_cli(*args):
    """``python -m fastrnn ARGS`` in a subprocess running this checkout."""
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "fastrnn", *map(str, args)], env=env,
                          capture_output=True, text=True, timeout=120)


def leftovers(directory):
    """Files in ``directory`` that predict made and should not have left (temporaries)."""
    return [name for name in os.listdir(directory) if ".partial-" in name]


@pytest.fixture
def sequences(tmp_path):
    x = RNG.uniform(-2, 2, size=(300, 7, 4))            # float64: cast batch by batch
    path = tmp_path / "x.npy"
    np.save(path, x)
    return path, x


def test_predict_end_to_end_equals_in_process_predict(tmp_path, sequences):
    path, x = sequences
    out = tmp_path / "scores.npy"
    result = run_cli("predict", STACKED, path, "-o", out, "--batch-size", 64, "--threads", 1)
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(np.load(out),
                                  load_keras(STACKED).predict(x, batch_size=64, verbose=0))
    summary = result.stderr.strip().splitlines()[-1]
    assert summary.startswith("fastrnn predict: 300 sequences in ") and "sequences/s" in summary
    assert "300/300" in result.stderr                   # the progress bar
    assert leftovers(tmp_path) == []


def test_predict_the_keras_fixture_inputs_gives_keras_outputs(tmp_path):
    """The README's example: the fixture model on the fixture inputs (tf.keras's outputs)."""
    arrays = os.path.join(FIXTURES, "keras2_models.npz")
    out = tmp_path / "scores.npy"
    assert main(["predict", EMB_BILSTM, arrays, "--key", "emb_bilstm/x", "-o", str(out),
                 "--quiet"]) == 0
    with np.load(arrays) as data:
        np.testing.assert_allclose(np.load(out), data["emb_bilstm/y"], rtol=1e-5, atol=1e-6)


def test_predict_lengths_mask_dtype_and_zarr(tmp_path, sequences, capsys):
    zarr = pytest.importorskip("zarr")
    path, x = sequences
    lengths = RNG.integers(0, 8, size=300)
    mask = RNG.random((300, 7)) < 0.8
    np.save(tmp_path / "lengths.npy", lengths)
    np.savez(tmp_path / "mask.npz", valid=mask)
    zarr.save_array(str(tmp_path / "x.zarr"), x)
    out = tmp_path / "scores.zarr"
    assert main(["predict", STACKED, str(tmp_path / "x.zarr"), "-o", str(out),
                 "--lengths", str(tmp_path / "lengths.npy"), "--mask",
                 str(tmp_path / "mask.npz"), "--dtype", "float64", "--batch-size", "50",
                 "--quiet"]) == 0
    assert capsys.readouterr().err == ""
    got = zarr.open_array(str(out), mode="r")
    assert got.dtype == np.float64
    want = load_keras(STACKED).predict(x, batch_size=50, lengths=lengths, mask=mask, verbose=0)
    np.testing.assert_array_equal(np.asarray(got), want.astype(np.float64))
    # --overwrite replaces the Zarr output (here with a .npy input)
    assert main(["predict", STACKED, str(path), "-o", str(out), "--overwrite", "--quiet"]) == 0
    np.testing.assert_array_equal(np.asarray(zarr.open_array(str(out), mode="r")),
                                  load_keras(STACKED).predict(x, batch_size=256, verbose=0))
    assert leftovers(tmp_path) == []
    # a Zarr group: the array chosen with --key
    group = zarr.open_group(str(tmp_path / "group.zarr"), mode="w")
    group.zeros(name="x", shape=x.shape, dtype=x.dtype)[...] = x
    group.zeros(name="other", shape=(2,), dtype="int64")
    assert main(["predict", STACKED, str(tmp_path / "group.zarr"), "-o",
                 str(tmp_path / "g.npy"), "--quiet"]) == 2
    assert "--key" in capsys.readouterr().err
    assert main(["predict", STACKED, str(tmp_path / "group.zarr"), "--key", "x", "-o",
                 str(tmp_path / "g.npy"), "--quiet"]) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "g.npy"),
                                  load_keras(STACKED).predict(x, batch_size=256, verbose=0))


@pytest.mark.parametrize("batch_first", [False, True])
def test_predict_torch_state_dict(tmp_path, batch_first):
    hidden, features = 5, 4
    state = {}
    for layer, inputs in ((0, features), (1, 2 * hidden)):
        for suffix in ("", "_reverse"):
            state[f"weight_ih_l{layer}{suffix}"] = RNG.uniform(-1, 1, (3 * hidden, inputs))
            state[f"weight_hh_l{layer}{suffix}"] = RNG.uniform(-1, 1, (3 * hidden, hidden))
            state[f"bias_ih_l{layer}{suffix}"] = RNG.uniform(-1, 1, 3 * hidden)
            state[f"bias_hh_l{layer}{suffix}"] = RNG.uniform(-1, 1, 3 * hidden)
    state = {k: v.astype("float32") for k, v in state.items()}
    np.savez(tmp_path / "gru.npz", **state)
    x = RNG.normal(size=(40, 6, features) if batch_first else (6, 40, features))
    lengths = RNG.integers(1, 7, size=40)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "lengths.npy", lengths)
    args = ["predict", str(tmp_path / "gru.npz"), str(tmp_path / "x.npy"), "-o",
            str(tmp_path / "out.npy"), "--torch-mode", "GRU", "--lengths",
            str(tmp_path / "lengths.npy"), "--batch-size", "16", "--quiet"]
    assert main(args + (["--batch-first"] if batch_first else [])) == 0
    model = from_torch(state, mode="GRU", batch_first=batch_first)
    want, _ = model.predict(x, batch_size=16, lengths=lengths, verbose=0)
    np.testing.assert_array_equal(np.load(tmp_path / "out.npy"), want)
    torch = pytest.importorskip("torch")
    module = torch.nn.GRU(features, hidden, num_layers=2, bidirectional=True,
                          batch_first=batch_first)
    module.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    rnn = torch.nn.utils.rnn
    with torch.no_grad():
        packed, _ = module(rnn.pack_padded_sequence(torch.from_numpy(x).float(),
                                                    torch.from_numpy(lengths),
                                                    batch_first=batch_first,
                                                    enforce_sorted=False))
        padded, _ = rnn.pad_packed_sequence(packed, batch_first=batch_first, total_length=6)
    np.testing.assert_allclose(np.load(tmp_path / "out.npy"), padded.numpy(), atol=1e-5)
    # the same weights saved by torch as .pt
    torch.save(module.state_dict(), tmp_path / "gru.pt")
    args[1], args[4] = str(tmp_path / "gru.pt"), str(tmp_path / "out_pt.npy")
    assert main(args + (["--batch-first"] if batch_first else [])) == 0
    np.testing.assert_array_equal(np.load(tmp_path / "out_pt.npy"), want)


def _bad_inputs(tmp):
    """(name, argv, message fragment) for each bad input the CLI must refuse."""
    x = RNG.normal(size=(20, 5, 4))
    np.save(tmp / "x.npy", x)
    np.save(tmp / "x2d.npy", x[:, :, 0])
    np.save(tmp / "x3feat.npy", x[:, :, :3])
    np.save(tmp / "text.npy", np.array([["a", "b"]] * 3))
    np.savez(tmp / "two.npz", a=x, b=x)
    np.save(tmp / "lengths_bad.npy", np.full(19, 2))
    np.save(tmp / "lengths_long.npy", np.full(20, 6))
    np.save(tmp / "lengths_float.npy", np.full(20, 2.0))
    np.save(tmp / "mask_bad.npy", np.ones((20, 4), bool))
    ids = RNG.integers(0, 20, size=(600, 8))
    ids[-1, 0] = 99                                  # out of the Embedding's range: last batch
    np.save(tmp / "ids_bad.npy", ids)
    (tmp / "exists.npy").write_bytes(b"keep me")
    (tmp / "junk.keras").write_bytes(b"not a model")
    np.savez(tmp / "state.npz", weight_ih_l0=np.ones((4, 4)), weight_hh_l0=np.ones((4, 4)))
    out = str(tmp / "out.npy")
    s, xp = STACKED, str(tmp / "x.npy")
    return [
        ("missing model", ["predict", str(tmp / "none.keras"), xp, "-o", out], "does not exist"),
        ("missing input", ["predict", s, str(tmp / "none.npy"), "-o", out], "does not exist"),
        ("not a model", ["predict", str(tmp / "junk.keras"), xp, "-o", out], "junk.keras"),
        ("model extension", ["predict", str(tmp / "x.npy"), xp, "-o", out], "expected .keras"),
        ("input extension", ["predict", s, str(tmp / "junk.keras"), "-o", out], "expected .npy"),
        ("rank", ["predict", s, str(tmp / "x2d.npy"), "-o", out], "has shape (20, 5)"),
        ("features", ["predict", s, str(tmp / "x3feat.npy"), "-o", out], "(None, None, 4)"),
        ("dtype", ["predict", s, str(tmp / "text.npy"), "-o", out], "dtype <U1"),
        ("npz key needed", ["predict", s, str(tmp / "two.npz"), "-o", out], "--key"),
        ("npz key unknown", ["predict", s, str(tmp / "two.npz"), "--key", "c", "-o", out],
         "no array 'c'"),
        ("output exists", ["predict", s, xp, "-o", str(tmp / "exists.npy")], "--overwrite"),
        ("output extension", ["predict", s, xp, "-o", str(tmp / "out.csv")], ".npy or .zarr"),
        ("output directory", ["predict", s, xp, "-o", str(tmp / "no" / "out.npy")],
         "does not exist"),
        ("lengths shape", ["predict", s, xp, "-o", out, "--lengths",
                           str(tmp / "lengths_bad.npy")], "lengths must have shape"),
        ("lengths range", ["predict", s, xp, "-o", out, "--lengths",
                           str(tmp / "lengths_long.npy")], "lengths must be in [0, 5]"),
        ("lengths dtype", ["predict", s, xp, "-o", out, "--lengths",
                           str(tmp / "lengths_float.npy")], "lengths must be an integer"),
        ("mask shape", ["predict", s, xp, "-o", out, "--mask", str(tmp / "mask_bad.npy")],
         "mask must have shape"),
        ("torch mode needed", ["predict", str(tmp / "state.npz"), xp, "-o", out],
         "--torch-mode"),
        ("torch weights", ["predict", str(tmp / "state.npz"), xp, "-o", out, "--torch-mode",
                           "LSTM"], "weight_hh_l0 has shape"),
        ("error in a late batch", ["predict", EMB_BILSTM, str(tmp / "ids_bad.npy"), "-o", out,
                                   "--quiet"], "[0, 20)"),
    ]


def test_every_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys):
    cases = _bad_inputs(tmp_path)
    for name, argv, fragment in cases:
        before = sorted(os.listdir(tmp_path))
        code = main(argv)
        err = capsys.readouterr().err
        lines = err.strip().splitlines()
        assert code == 2, (name, err)
        assert len(lines) == 1 and lines[0].startswith("fastrnn predict: error: "), (name, err)
        assert fragment in lines[0], (name, lines[0])
        assert sorted(os.listdir(tmp_path)) == before, name          # nothing left behind
    assert (tmp_path / "exists.npy").read_bytes() == b"keep me"


def test_usage_errors_exit_2(tmp_path, capsys):
    for argv, fragment in ([["predict", STACKED, str(tmp_path / "x.npy"), "-o",
                             str(tmp_path / "o.npy"), "--batch-size", "0"], "--batch-size"],
                           [["predict", STACKED], "required"],
                           [["predict", STACKED, "x.npy", "-o", "o.npy", "--torch-mode", "LST"],
                            "--torch-mode"]):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2 and fragment in capsys.readouterr().err


def test_inspect_says_where_each_layer_runs(capsys):
    assert main(["inspect", EMB_BILSTM]) == 0
    out = capsys.readouterr().out
    assert "Bidirectional" in out and "(None, 10)" in out and "480 parameters" in out
    assert out.count("LSTMCell: kernels") == 2 and "total parameters: 633" in out
    assert main(["inspect", os.path.join(FIXTURES, "convert_k3_hard_sigmoid.keras")]) == 0
    out = capsys.readouterr().out
    assert ("LSTMCell: Python step loop: recurrent_activation=keras3_hard_sigmoid is not a "
            "kernel activation") in out


def test_inspect_torch_state_dict_and_custom_cells(tmp_path, capsys):
    import fastrnn as fr
    from fastrnn.__main__ import _placement

    np.savez(tmp_path / "rnn.npz", weight_ih_l0=np.ones((3, 2), "float32"),
             weight_hh_l0=np.ones((3, 3), "float32"))
    assert main(["inspect", str(tmp_path / "rnn.npz"), "--torch-mode", "RNN_RELU"]) == 0
    out = capsys.readouterr().out
    assert "torch RNN_RELU" in out and "SimpleRNNCell: kernels" in out and "15 parameters" in out

    class Custom(fr.Layer):
        state_size = 2

        def call(self, inputs, states):
            return inputs, states

    assert _placement(Custom()) == "Python step loop: custom cell Custom"
    cell = fr.SimpleRNNCell(2, activation=lambda v: v * 2)
    cell.build((None, 3))
    assert "activation=<lambda> is not a kernel activation" in _placement(cell)


def test_info_still_works(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("fastrnn ") and "kernels:" in out


def test_predict_memory_is_bounded_by_the_batch(tmp_path):
    """The input is memory-mapped and the output written through a memory map: the
    memory allocated is a batch's worth, not the 2.6 MB input (or its 1.3 MB float32 cast)."""
    import tracemalloc

    x = RNG.uniform(-1, 1, size=(8000, 10, 4))
    np.save(tmp_path / "big.npy", x)
    del x
    argv = ["predict", STACKED, str(tmp_path / "big.npy"), "-o", str(tmp_path / "s.npy"),
            "--batch-size", "64", "--quiet"]
    assert main(argv) == 0                                     # warm caches and imports
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        assert main(argv + ["--overwrite"]) == 0
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 512 * 1024, peak
    assert np.load(tmp_path / "s.npy", mmap_mode="r").shape == (8000, 2)
