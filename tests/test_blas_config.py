"""fastrnn's OpenBLAS core-type choice respects the user and leaves no trace.

Each case runs in a fresh interpreter: the choice only acts before scipy's BLAS loads.
"""
import json
import os
import subprocess
import sys

import pytest

from fastrnn import _blas_config

PROBE = ("import json, os, fastrnn._blas_config as b; b.load_scipy_blas(); "
         "print(json.dumps([b.requested_coretype, os.environ.get('OPENBLAS_CORETYPE')]))")


def probe(**env_changes):
    env = {k: v for k, v in os.environ.items()
           if k not in ("OPENBLAS_CORETYPE", "FASTRNN_OPENBLAS_CORETYPE")}
    env.update(env_changes)
    result = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True,
                            text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def misdetected_cpu():
    flags, vendor = _blas_config._cpu_flags_and_vendor()
    return vendor == "AuthenticAMD" and _blas_config._SKYLAKEX_FLAGS <= flags


def test_user_setting_is_respected():
    assert probe(OPENBLAS_CORETYPE="Haswell") == [None, "Haswell"]


def test_opt_out():
    assert probe(FASTRNN_OPENBLAS_CORETYPE="0") == [None, None]


def test_choice_follows_the_cpu_and_restores_the_environment():
    expected = "SkylakeX" if (misdetected_cpu() and sys.platform.startswith("linux")) else None
    assert probe() == [expected, None]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/cpuinfo")
def test_cpu_flags_are_read():
    flags, vendor = _blas_config._cpu_flags_and_vendor()
    assert vendor and "sse2" in flags
