"""Every ```python block of README.md runs as written, in order, in one namespace.

Run from the repository root (the Keras example reads a file under tests/fixtures);
the block that imports torch is skipped when torch is not installed, and the Keras-file
block when h5py is not.
"""
import importlib.util
import os
import re

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
README = os.path.join(ROOT, "README.md")


def python_blocks():
    with open(README) as f:
        text = f.read()
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_has_examples_and_no_references_outside_the_repository():
    with open(README) as f:
        text = f.read()
    assert len(python_blocks()) >= 7
    assert "../" not in text and "seeds" not in text
    for link in re.findall(r"`((?:docs|bench|tests)/[\w./-]+)`", text):
        assert os.path.exists(os.path.join(ROOT, link)), link


def test_readme_examples_run(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    namespace = {"__name__": "readme"}
    for number, block in enumerate(python_blocks()):
        if "import torch" in block and importlib.util.find_spec("torch") is None:
            continue
        if "load_keras" in block and importlib.util.find_spec("h5py") is None:
            continue
        try:
            exec(compile(block, f"README.md block {number}", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 (report which block failed)
            pytest.fail(f"README.md python block {number} failed: {exc!r}\n{block}")
    printed = capsys.readouterr().out
    assert "<LSTM name=" in printed and "(None, 3)" in printed and "(1, 4, 2)" in printed
