"""The C helpers compile on every path, not only the one this machine takes.

CI builds the multiversioned x86-64 branch of fast_math.h; the portable branch
(other CPUs and compilers, or FASTRNN_NO_CLONES) is checked here by compiling the
header alone with it selected."""
import os
import shutil
import subprocess
import sysconfig

import pytest

import fastrnn._kernels

HEADER = os.path.join(os.path.dirname(fastrnn._kernels.__file__), "fast_math.h")


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize("defines", [[], ["-DFASTRNN_NO_CLONES"]])
def test_fast_math_header_compiles(defines):
    result = subprocess.run(
        ["cc", "-fsyntax-only", "-Wall", "-Werror", "-Wno-unused-function", *defines,
         "-I", sysconfig.get_paths()["include"], "-x", "c", HEADER],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
