"""Command line: ``python -m fastrnn info`` describes this installation."""
import argparse
import os
import platform
import sys


def info():
    """Print the version, the BLAS scipy links, thread settings and the compiled kernels."""
    import numpy as np
    import scipy
    from threadpoolctl import threadpool_info

    import fastrnn
    from fastrnn import _blas_config
    from fastrnn._engine import _rnn

    print(f"fastrnn {fastrnn.__version__} ({os.path.dirname(fastrnn.__file__)})")
    print(f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__}")
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs")
    print("BLAS libraries loaded (fastrnn's kernels call scipy's):")
    for pool in threadpool_info():
        if pool.get("user_api") == "blas":
            owner = "scipy" if "scipy.libs" in pool.get("filepath", "") else "other"
            print(f"  [{owner}] {pool.get('internal_api')} {pool.get('version')}: "
                  f"{pool.get('num_threads')} threads, {pool.get('threading_layer')} threading, "
                  f"arch {pool.get('architecture')}, {pool.get('filepath')}")
    if _blas_config.requested_coretype:
        print(f"  fastrnn asked OpenBLAS for its {_blas_config.requested_coretype} kernels "
              "(set FASTRNN_OPENBLAS_CORETYPE=0 to leave OpenBLAS's own choice)")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        print(f"  {var}={os.environ.get(var, '(unset)')}")
    from fastrnn import _engine, _threads
    print(f"kernels: {_rnn.__name__} ({os.path.basename(_rnn.__file__)})")
    print(f"  instruction set: {_rnn.isa()} (this CPU's best: {_rnn.best_isa()}; variants "
          f"{', '.join(_rnn.ISAS)}; FASTRNN_ISA={os.environ.get('FASTRNN_ISA', '(unset)')})")
    print(f"  threads: {_threads.get_num_threads()} for batches of 2 or more "
          f"(fastrnn.set_num_threads, OMP_NUM_THREADS); batch 1 runs on the calling thread")
    print(f"  cells: {', '.join(_rnn.CELLS)}; dtypes: float32, float64")
    print(f"  activations: {', '.join(sorted(_rnn.ACTIVATIONS))}")


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m fastrnn", description=__doc__)
    parser.add_argument("command", choices=["info"], help="what to do")
    args = parser.parse_args(argv)
    if args.command == "info":
        info()
    return 0


if __name__ == "__main__":
    sys.exit(main())
