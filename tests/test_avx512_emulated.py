"""The AVX-512 variant's source runs its kernel tests even on a CPU without AVX-512.

The AVX-512 variant is compiled on every x86-64 build but only runs where the CPU has
AVX-512F, so on AVX2 machines its tile shapes (6 rows x every gate block, one 64-byte
vector per panel line) would go untested.  Built with ``FASTRNN_EMULATE_AVX512=1``, the
same source is compiled for AVX2 (GCC lowers each 64-byte vector to two ymm) and offered
as the best variant; this test builds such a copy of the package in a temporary
directory (with the build requirements, Cython and setuptools, that the ``[test]`` extra
installs) and runs the kernel tests of the ``avx512`` variant against it.  Only the
instruction encoding differs from the real thing; the arithmetic, shapes and loop
bounds are the ones an AVX-512 CPU runs.
"""
import os
import shutil
import subprocess
import sys

import pytest

from fastrnn._kernels import _rnn

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


@pytest.mark.skipif("avx512" in _rnn.ISAS[:_rnn.ISAS.index(_rnn.best_isa()) + 1],
                    reason="this CPU runs the AVX-512 variant natively (test_kernels)")
@pytest.mark.skipif(not {"avx2", "fma"} <= _cpu_flags() or shutil.which("cc") is None,
                    reason="needs an x86-64 CPU with AVX2 and FMA, and a C compiler")
def test_avx512_variant_passes_the_kernel_tests_when_emulated(tmp_path):
    copy = tmp_path / "src"
    ignore = shutil.ignore_patterns("*.so", "__pycache__", "build", "*.egg-info")
    shutil.copytree(os.path.join(ROOT, "fastrnn"), copy / "fastrnn", ignore=ignore)
    shutil.copytree(os.path.join(ROOT, "tests"), copy / "tests", ignore=ignore)
    for name in ("setup.py", "pyproject.toml"):
        shutil.copy2(os.path.join(ROOT, name), copy / name)
    env = dict(os.environ, FASTRNN_EMULATE_AVX512="1")
    env.pop("FASTRNN_ISA", None)
    build = subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"],
                           cwd=copy, env=env, capture_output=True, text=True)
    assert build.returncode == 0, build.stderr[-4000:]

    probe = subprocess.run(
        [sys.executable, "-c",
         "import fastrnn, fastrnn._kernels._rnn as k; print(fastrnn.__file__, k.best_isa())"],
        cwd=copy, env=env, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    where, best = probe.stdout.split()
    assert where.startswith(str(copy)) and best == "avx512", probe.stdout

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "tests/test_kernels.py", "-k", "avx512"],
        cwd=copy, env=env, capture_output=True, text=True)
    # exit code 5 (nothing collected) would mean the variant was not offered
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
    assert " passed" in tests.stdout and " failed" not in tests.stdout
