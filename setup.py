"""Build the Cython kernels: every ``fastrnn/_kernels/*.pyx`` with one set of directives.

Set ``FASTRNN_DEBUG_CYTHON=1`` to build with bounds checks, wraparound and
initialized-check on (slow; for hunting out-of-bounds bugs).
"""
import glob
import os

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup

DEBUG = os.environ.get("FASTRNN_DEBUG_CYTHON", "0") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    "cdivision": not DEBUG,
    "nonecheck": DEBUG,
    "embedsignature": True,
}

COMPILE_ARGS = ["-O0", "-g"] if DEBUG else ["-O3", "-fno-math-errno"]

extensions = [
    Extension(
        "fastrnn._kernels." + os.path.splitext(os.path.basename(path))[0],
        [path],
        include_dirs=[np.get_include(), os.path.join("fastrnn", "_kernels")],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        extra_compile_args=COMPILE_ARGS,
    )
    for path in sorted(glob.glob(os.path.join("fastrnn", "_kernels", "*.pyx")))
]

setup(ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES))
