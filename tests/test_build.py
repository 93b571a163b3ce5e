"""The C kernels compile on every path, not only the one this machine takes.

CI builds the x86-64 variants (AVX-512, AVX2, portable) with OpenMP; other CPUs and
compilers get the portable variant alone (FASTRNN_PORTABLE_ONLY is what they see), and
a compiler without OpenMP builds the single-threaded driver.  Each combination is
compiled here on its own, warnings as errors."""
import os
import shutil
import subprocess
import sysconfig

import pytest

import fastrnn._kernels

KERNELS = os.path.dirname(fastrnn._kernels.__file__)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no C compiler")
@pytest.mark.parametrize("flags", [[], ["-DFASTRNN_PORTABLE_ONLY"], ["-fopenmp"],
                                   ["-fopenmp", "-DFASTRNN_PORTABLE_ONLY"]],
                         ids=["all-variants", "portable-only", "openmp", "openmp-portable"])
def test_kernel_sources_compile(flags, tmp_path):
    result = subprocess.run(
        ["cc", "-c", "-O1", "-Wall", "-Werror", "-fno-trapping-math", *flags,
         "-I", sysconfig.get_paths()["include"], "-I", KERNELS,
         os.path.join(KERNELS, "rnn_kernel.c"), "-o", str(tmp_path / "k.o")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
