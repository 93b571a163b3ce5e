"""Benchmarks of fastrnn against its peers (NumPy, PyTorch, ONNX Runtime, TensorFlow).

Run from the repository root with ``python -m bench`` (``--quick`` for a run of about
a minute, ``--help`` for options). Module layout:

- ``__main__``   command line: parse options, run the suite, write the reports
- ``workloads``  what is measured: cell x batch x time x input x units, flop counts
- ``weights``    Keras-layout weights and inputs from fixed seeds, gate reordering
- ``check``      cross-checking a backend's output against the reference
- ``timing``     the timer: warmup, adaptive repeats, interleaved rounds, statistics
- ``roofline``   the sgemm/dgemm peak of this machine, measured through scipy's BLAS
- ``threads``    pinning BLAS/OpenMP pools with threadpoolctl
- ``machine``    CPU, versions and BLAS libraries for the record
- ``runner``     one pass: check then time every backend on every workload
- ``worker``     the subprocess side: cold starts, peak memory, isolated backends
- ``suite``      the orchestration of passes, subprocesses and reference outputs
- ``targets``    the project's performance targets, evaluated on a run's results
- ``report``     terminal table, JSON, Markdown and PNG chart
- ``backends/``  one module per backend behind a common interface

Nothing here imports a peer library at import time: each backend module is loaded
only when asked for, so a missing peer is a note, not an error.
"""
