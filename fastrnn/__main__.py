"""Command line: ``python -m fastrnn info | predict | inspect``.

``info`` describes this installation; ``predict MODEL INPUT -o OUTPUT`` scores a
data file with a saved model, batch by batch, in bounded memory; ``inspect MODEL``
lists a model's layers and says where each recurrent layer runs.
"""
import argparse
import os
import platform
import shutil
import sys
import time

#: Exit status for bad input (as argparse's own usage errors).
EXIT_BAD_INPUT = 2

TORCH_MODES = ["LSTM", "GRU", "RNN_TANH", "RNN_RELU"]
OUTPUT_DTYPES = ["float32", "float64", "float16"]


class CliError(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


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


# ---- files -------------------------------------------------------------------------


def _is_zarr(path):
    return path.rstrip("/\\").endswith(".zarr")


def load_model(path, torch_mode=None, batch_first=False):
    """A fastrnn model from a ``.keras`` / ``.h5`` file or a torch state_dict (``.npz`` /
    ``.pt``, with ``torch_mode``)."""
    import numpy as np

    from fastrnn import convert

    if not os.path.exists(path):
        raise CliError(f"model file {path!r} does not exist")
    ext = os.path.splitext(path)[1].lower()
    if ext in (".keras", ".h5", ".hdf5"):
        if torch_mode is not None:
            raise CliError(f"--torch-mode is for torch state_dicts, but {path!r} is a Keras file")
        return convert.load_keras(path)
    if ext not in (".npz", ".pt", ".pth"):
        raise CliError(f"model file {path!r}: expected .keras or .h5 (Keras), or .npz / .pt "
                       f"(a torch state_dict, with --torch-mode)")
    if torch_mode is None:
        raise CliError(f"model file {path!r} is a torch state_dict: pass --torch-mode "
                       f"({'|'.join(TORCH_MODES)}) and, if it was trained so, --batch-first")
    if ext == ".npz":
        with np.load(path, allow_pickle=False) as archive:
            state = {key: archive[key] for key in archive.files}
    else:
        try:
            import torch
        except ImportError:
            raise CliError(f"reading {path!r} needs PyTorch; without it, save the state_dict "
                           f"as .npz: np.savez(path, **{{k: v.numpy() for k, v in "
                           f"module.state_dict().items()}})") from None
        state = torch.load(path, map_location="cpu", weights_only=True)
        if not isinstance(state, dict):
            raise CliError(f"{path!r} holds a {type(state).__name__}, not a state_dict")
        state = {key: value.numpy() for key, value in state.items()}
    return convert.from_torch(state, mode=torch_mode, batch_first=batch_first)


def load_array(path, key=None, what="input"):
    """An array from ``.npy`` (memory-mapped), ``.npz`` (``key``) or Zarr (``key`` for a
    group); nothing is read beyond the header until it is sliced (except ``.npz``)."""
    import numpy as np

    option = "--key" if what == "input" else f"--{what}-key"
    if not os.path.exists(path):
        raise CliError(f"{what} file {path!r} does not exist")
    if _is_zarr(path):
        zarr = _zarr()
        node = zarr.open(path, mode="r")
        if hasattr(node, "shape"):
            return node
        names = sorted(name for name, _ in node.arrays())
        if key is None:
            if len(names) != 1:
                raise CliError(f"{what} {path!r} is a Zarr group with arrays {names}: "
                               f"choose one with {option}")
            key = names[0]
        if key not in names:
            raise CliError(f"{what} {path!r} has no array {key!r}: it has {names}")
        return node[key]
    ext = os.path.splitext(path)[1].lower()
    try:
        if ext == ".npy":
            return np.load(path, mmap_mode="r", allow_pickle=False)
        if ext == ".npz":
            archive = np.load(path, allow_pickle=False)
            if key is None:
                if len(archive.files) != 1:
                    raise CliError(f"{what} {path!r} holds arrays {archive.files}: choose one "
                                   f"with {option}")
                key = archive.files[0]
            if key not in archive.files:
                raise CliError(f"{what} {path!r} has no array {key!r}: it has {archive.files}")
            return archive[key]
    except (ValueError, OSError) as exc:
        raise CliError(f"{what} file {path!r} is not a readable {ext} file: {exc}") from None
    raise CliError(f"{what} file {path!r}: expected .npy, .npz or a .zarr array")


def _zarr():
    try:
        import zarr
    except ImportError:
        raise CliError('Zarr files need zarr: pip install "fastrnn[dask]"') from None
    return zarr


class OutputFile:
    """The output array, made under a temporary name beside ``path`` and renamed onto
    ``path`` by :meth:`commit` (:meth:`discard` removes it): no partial output is left."""

    def __init__(self, path, dtype=None, chunk_rows=None):
        self.path, self.dtype, self.chunk_rows = path, dtype, chunk_rows
        self.zarr = _is_zarr(path)
        base = path.rstrip("/\\")
        self.temporary = os.path.join(os.path.dirname(os.path.abspath(base)),
                                      f".{os.path.basename(base)}.partial-{os.getpid()}")
        self.array = None

    def allocate(self, index, shape, dtype):
        """The output array (called once, after the first batch ran)."""
        import numpy as np

        dtype = np.dtype(self.dtype or dtype)
        if self.zarr:
            chunks = (min(self.chunk_rows or shape[0], max(shape[0], 1)),) + tuple(shape[1:])
            self.array = _zarr().open_array(self.temporary, mode="w", shape=shape,
                                            chunks=chunks, dtype=dtype)
        else:
            self.array = np.lib.format.open_memmap(self.temporary, mode="w+", dtype=dtype,
                                                   shape=shape)
        return self.array

    def commit(self):
        if hasattr(self.array, "flush"):
            self.array.flush()
        self.array = None
        if os.path.isdir(self.path):
            shutil.rmtree(self.path)
        os.replace(self.temporary, self.path)

    def discard(self):
        self.array = None
        if os.path.isdir(self.temporary):
            shutil.rmtree(self.temporary, ignore_errors=True)
        elif os.path.exists(self.temporary):
            os.remove(self.temporary)


def _check_output_path(path, overwrite):
    if not (_is_zarr(path) or path.lower().endswith(".npy")):
        raise CliError(f"output {path!r}: expected a .npy or .zarr path")
    if os.path.exists(path) and not overwrite:
        raise CliError(f"output {path!r} exists (pass --overwrite to replace it)")
    parent = os.path.dirname(os.path.abspath(path.rstrip("/\\")))
    if not os.path.isdir(parent):
        raise CliError(f"output directory {parent!r} does not exist")


class _Threads:
    """``--threads n``: fastrnn's kernel threads (``fastrnn.set_num_threads``) and BLAS's
    thread pool (threadpoolctl) both limited to ``n`` for the run."""

    def __init__(self, n):
        self.n, self.limits, self.previous = n, None, None

    def __enter__(self):
        from threadpoolctl import threadpool_limits

        from fastrnn import _threads

        if self.n is not None:
            self.previous = _threads._explicit          # the setting (None: OpenMP's)
            _threads.set_num_threads(self.n)
            self.limits = threadpool_limits(self.n, user_api="blas")
        return self

    def __exit__(self, *exc):
        from fastrnn import _threads

        if self.limits is not None:
            _threads.set_num_threads(self.previous)
            self.limits.restore_original_limits()


def _positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


# ---- commands ----------------------------------------------------------------------


def predict(args):
    """``predict MODEL INPUT -o OUTPUT``: score INPUT batch by batch into OUTPUT."""
    import numpy as np

    from fastrnn import _predict

    _check_output_path(args.output, args.overwrite)
    model = load_model(args.model, args.torch_mode, args.batch_first)
    x = load_array(args.input, args.key, "input")
    if np.dtype(x.dtype).kind not in "biuf":
        raise CliError(f"input {args.input!r} has dtype {x.dtype}: expected numbers")
    _check_fits(model, x, args.input)
    lengths = None if args.lengths is None else np.asarray(
        load_array(args.lengths, args.lengths_key, "lengths"))
    mask = None if args.mask is None else np.asarray(load_array(args.mask, args.mask_key, "mask"))
    output = OutputFile(args.output, args.dtype, args.batch_size)
    start = time.perf_counter()
    try:
        with _Threads(args.threads):
            (scores,) = _predict.predict_model(
                model, x, args.batch_size, 0 if args.quiet else 1, lengths, mask,
                keep=[0], allocate=output.allocate)
        shape, dtype = scores.shape, scores.dtype
        del scores
        output.commit()
    except BaseException:
        output.discard()
        raise
    seconds = time.perf_counter() - start
    n = int(x.shape[1 if _predict._plan(model)[1] else 0])       # time-major: batch axis 1
    if not args.quiet:
        print(f"fastrnn predict: {n} sequences in {seconds:.2f} s "
              f"({n / max(seconds, 1e-9):.0f} sequences/s) -> {args.output} {tuple(shape)} "
              f"{dtype}", file=sys.stderr)


def _check_fits(model, x, path):
    """The input's rank and fixed dimensions against the model's (when it declares them)."""
    if hasattr(model, "_forward"):                       # from_torch: (B|T, T|B, input_size)
        expected = (None, None, model.input_size)
    elif getattr(model, "_input", None) is not None:     # Sequential with an InputLayer
        expected = tuple(model._input.batch_shape)
    else:
        return
    shape = tuple(int(d) for d in x.shape)
    if len(shape) != len(expected) or any(
            want is not None and got != want for got, want in zip(shape[2:], expected[2:])):
        raise CliError(f"input {path!r} has shape {shape}, but the model takes "
                       f"{expected} (None: any size)")


def _placement(cell):
    """Where a cell runs at inference, and why."""
    from fastrnn import activations

    if not hasattr(cell, "_kernel_weights"):
        return f"Python step loop: custom cell {type(cell).__name__}"
    if cell._kernel_weights is not None:
        return "kernels"
    if not getattr(cell, "_runs_in_kernel", True):
        return f"Python step loop: {type(cell).__name__} overrides call"
    names = ["activation", "recurrent_activation"]
    lacking = [f"{name}={activations.serialize(getattr(cell, name))}" for name in names
               if hasattr(cell, name)
               and activations.kernel_name(getattr(cell, name)) is None]
    if lacking:
        return f"Python step loop: {', '.join(lacking)} is not a kernel activation"
    return "Python step loop: not built"


def _recurrent_lines(layer, indent):
    """``inspect`` lines for the cells of a recurrent layer (or of a Bidirectional's two)."""
    if hasattr(layer, "forward_layer"):
        return [line for sub in (layer.forward_layer, layer.backward_layer)
                for line in [f"{indent}{sub.name}:"] + _recurrent_lines(sub, indent + "  ")]
    cells = getattr(layer, "_cells", None) or ([layer.cell] if hasattr(layer, "cell") else [])
    return [f"{indent}{type(cell).__name__}: {_placement(cell)}" for cell in cells]


def inspect(args):
    """``inspect MODEL``: layers, output shapes, parameter counts, kernels or step loop."""
    import numpy as np

    model = load_model(args.model, args.torch_mode, args.batch_first)
    if hasattr(model, "_forward"):           # from_torch model
        print(f"{args.model}: torch {model.mode}, input_size={model.input_size}, "
              f"hidden_size={model.hidden_size}, num_layers={model.num_layers}, "
              f"bidirectional={model.bidirectional}, batch_first={model.batch_first}")
        layers, shape = model.layers, None
    else:
        layers = model.layers
        shape = model._input.batch_shape if getattr(model, "_input", None) is not None else None
        print(f"{args.model}: {type(model).__name__} {model.name!r}, input shape {shape}")
    total = 0
    for layer in layers:
        count = sum(int(np.prod(w.shape)) for w in layer.weights)
        total += count
        if shape is not None:
            shape = layer.compute_output_shape(shape)
            if isinstance(shape, list):      # [output, *states]: the next layer sees output
                shown, shape = shape, shape[0]
            else:
                shown = shape
        else:
            shown = "-"
        print(f"  {layer.name:<26} {type(layer).__name__:<14} {str(shown):<28} {count} "
              f"parameters")
        if hasattr(layer, "go_backwards") or hasattr(layer, "forward_layer"):
            for line in _recurrent_lines(layer, "      "):
                print(line)
    print(f"total parameters: {total}")


def _parser():
    parser = argparse.ArgumentParser(prog="python -m fastrnn", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    commands.add_parser("info", help="describe this installation (BLAS, threads, kernels)")

    def model_options(sub):
        sub.add_argument("model", metavar="MODEL",
                         help=".keras / .h5 Keras file, or a torch state_dict .npz / .pt")
        sub.add_argument("--torch-mode", choices=TORCH_MODES,
                         help="the torch module of a state_dict MODEL")
        sub.add_argument("--batch-first", action="store_true",
                         help="the torch module was batch_first (INPUT is (B, T, F))")

    run = commands.add_parser(
        "predict", help="score a data file with a model",
        description="Run MODEL on INPUT batch by batch and write its output to OUTPUT "
                    "(a from_torch model writes torch's `output`).")
    model_options(run)
    run.add_argument("input", metavar="INPUT", help=".npy (memory-mapped), .npz or .zarr")
    run.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                     help=".npy (written through a memory map) or .zarr")
    run.add_argument("--key", help="the array of an .npz / Zarr-group INPUT")
    run.add_argument("--lengths", metavar="FILE", help="int (batch,) valid steps per sequence")
    run.add_argument("--lengths-key", help="the array of an .npz / Zarr-group lengths FILE")
    run.add_argument("--mask", metavar="FILE", help="boolean (batch, time) valid steps")
    run.add_argument("--mask-key", help="the array of an .npz / Zarr-group mask FILE")
    run.add_argument("--batch-size", type=_positive, default=256,
                     help="sequences per call (default 256)")
    run.add_argument("--threads", type=_positive, help="threads to compute with")
    run.add_argument("--dtype", choices=OUTPUT_DTYPES,
                     help="OUTPUT's dtype (default: the model's)")
    run.add_argument("--quiet", action="store_true", help="no progress bar and no summary")
    run.add_argument("--overwrite", action="store_true", help="replace an existing OUTPUT")

    look = commands.add_parser("inspect", help="layers, shapes, parameters, kernels or not")
    model_options(look)
    return parser


def main(argv=None):
    """Run a command; bad input prints one line ``fastrnn: error: ...`` and returns 2."""
    args = _parser().parse_args(argv)
    try:
        if args.command == "info":
            info()
        elif args.command == "predict":
            predict(args)
        elif args.command == "inspect":
            inspect(args)
    except (CliError, ValueError, TypeError, OSError, KeyError) as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        print(f"fastrnn {args.command}: error: {message}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


if __name__ == "__main__":
    sys.exit(main())
