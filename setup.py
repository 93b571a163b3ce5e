"""Build the compiled kernels: ``fastrnn/_kernels/_rnn.pyx`` with the C kernels beside it.

Set ``FASTRNN_DEBUG_CYTHON=1`` to build with bounds checks, wraparound and
initialized-check on and no optimisation (slow; for hunting out-of-bounds bugs), and
``FASTRNN_SANITIZE=1`` to build with AddressSanitizer and UBSan (run Python with
``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``; see the README).
``FASTRNN_EMULATE_AVX512=1`` compiles the AVX-512 variant's source for AVX2 (its
64-byte vectors as pairs of ymm) and offers it on any AVX2 CPU, so that its tile shapes
and loops can be tested on a machine without AVX-512 (slow; for tests only).  OpenMP
(batch-parallel threads) is used when the compiler supports ``-fopenmp``; without it
the kernels run on one thread.
"""
import os
import subprocess
import sys
import sysconfig
import tempfile

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup


def _flag(name):
    return os.environ.get(name, "0") not in ("", "0")


DEBUG = _flag("FASTRNN_DEBUG_CYTHON")
SANITIZE = _flag("FASTRNN_SANITIZE")
EMULATE_AVX512 = _flag("FASTRNN_EMULATE_AVX512")
KERNELS = os.path.join("fastrnn", "_kernels")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "nonecheck": DEBUG,
    "embedsignature": True,
}


def _compiler_accepts(flags):
    """True when the C compiler compiles and links an OpenMP program with ``flags``."""
    cc = sysconfig.get_config_var("CC") or "cc"
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "t.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        cmd = cc.split() + flags + [src, "-o", os.path.join(tmp, "t")]
        return subprocess.run(cmd, capture_output=True).returncode == 0


OPENMP = ["-fopenmp"] if sys.platform != "win32" and _compiler_accepts(["-fopenmp"]) else []
# -fno-trapping-math lets the epilogues' selects (tanh's small-|x| branch, clamps) vectorize
COMPILE_ARGS = (["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno", "-fno-trapping-math"]) + OPENMP
LINK_ARGS = list(OPENMP)
if SANITIZE:
    COMPILE_ARGS += ["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-g"]
    LINK_ARGS += ["-fsanitize=address,undefined"]

extensions = [
    Extension(
        "fastrnn._kernels._rnn",
        [os.path.join(KERNELS, "_rnn.pyx"), os.path.join(KERNELS, "rnn_kernel.c")],
        include_dirs=[np.get_include(), KERNELS],
        depends=[os.path.join(KERNELS, name) for name in
                 ("rnn_kernel.h", "rnn_variant.inc", "rnn_isa.inc", "fast_math.h")],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")]
        + ([("FASTRNN_EMULATE_AVX512", "1")] if EMULATE_AVX512 else []),
        extra_compile_args=COMPILE_ARGS,
        extra_link_args=LINK_ARGS,
    )
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
