"""Type hints: the public API is annotated, the compiled module has a stub, py.typed is
shipped, and mypy accepts the package and a user's correct code and rejects wrong calls.
The mypy run skips when mypy is not installed."""
import importlib.util
import inspect
import os
import re
import subprocess
import sys
import textwrap

import pytest

import fastrnn as fr
import fastrnn.convert as fc
import fastrnn.models as fm
from fastrnn._kernels import _rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MODULES = [fr, fr.layers, fr.activations, fr.backend, fr.initializers, fr.regularizers,
           fr.constraints, fm, fc]


def public_callables():
    """(qualified name, function) of every public function and method of the API."""
    seen = set()
    objects = []
    for module in MODULES:
        names = getattr(module, "__all__", None) or [
            n for n, v in vars(module).items()
            if not n.startswith("_") and inspect.isfunction(v) and v.__module__ == module.__name__]
        objects += [getattr(module, n) for n in names]
    for obj in objects:
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        members = inspect.getmembers(obj) if inspect.isclass(obj) else [(obj.__name__, obj)]
        for name, member in members:
            if name.startswith("_") and name not in ("__init__", "__call__"):
                continue
            function = member.fget if isinstance(member, property) else member
            function = getattr(function, "__func__", function)
            if (inspect.isfunction(function) and function.__module__.startswith("fastrnn")
                    and id(function) not in seen):
                seen.add(id(function))
                yield f"{function.__module__}.{function.__qualname__}", function


def test_public_api_is_annotated():
    missing = []
    for name, function in public_callables():
        signature = inspect.signature(function)
        if signature.return_annotation is inspect.Signature.empty or any(
                p.annotation is inspect.Parameter.empty for p in signature.parameters.values()
                if p.name not in ("self", "cls")):
            missing.append(name)
    assert not missing, missing
    assert len(list(public_callables())) > 200


def test_stub_and_marker_are_shipped():
    assert os.path.exists(os.path.join(ROOT, "fastrnn", "py.typed"))
    stub = os.path.join(ROOT, "fastrnn", "_kernels", "_rnn.pyi")
    with open(stub) as f:
        text = f.read()
    for name in ("CELLS", "ACTIVATIONS", "ISAS", "StepPlan", "run_sequence", "workspace_bytes", "select_isa"):
        assert name in text and hasattr(_rnn, name), name
    declared = re.findall(r"^(?:def )?(\w+)\s*[:(]", text, flags=re.M)
    for name in declared:          # the stub declares nothing the module lacks
        assert name == "__getattr__" or hasattr(_rnn, name), name
    with open(os.path.join(ROOT, "pyproject.toml")) as f:
        pyproject = f.read()
    assert 'fastrnn = ["py.typed"]' in pyproject and '"*.pyi"' in pyproject


GOOD = '''
import numpy as np
import fastrnn as fr
import fastrnn.convert as fc

layer: fr.LSTM = fr.LSTM(4, return_sequences=True, dropout=0.1)
outputs = layer(np.zeros((2, 3, 5), "float32"), training=False)
model = fr.Sequential([fr.Input((None, 5)), layer, fr.Dense(2)])
weights: list = model.get_weights()
config: dict = layer.get_config()
again: fr.RNN = fr.LSTM.from_config(config)
text: str = model.to_json()
probabilities: np.ndarray = fr.backend.sigmoid(np.zeros(3))
rnn = fc.from_torch({}, mode="LSTM", batch_first=True, prefix="lstm.")
'''
BAD = '''
import fastrnn as fr

fr.LSTM("4")
fr.GRU(4, return_sequences="yes")
name: int = fr.SimpleRNN(3).name
'''


@pytest.mark.skipif(importlib.util.find_spec("mypy") is None, reason="mypy not installed")
def test_mypy_accepts_the_package_and_checks_user_code(tmp_path):
    (tmp_path / "good.py").write_text(textwrap.dedent(GOOD))
    (tmp_path / "bad.py").write_text(textwrap.dedent(BAD))
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--ignore-missing-imports", "--no-error-summary",
         "--cache-dir", str(tmp_path / "cache"), "fastrnn",
         str(tmp_path / "good.py"), str(tmp_path / "bad.py")],
        cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert all(os.path.basename(line.split(":")[0]) == "bad.py" for line in errors), errors
    assert sorted(int(line.split(":")[1]) for line in errors) == [4, 5, 6], result.stdout
