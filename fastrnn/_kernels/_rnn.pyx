"""The compiled recurrent kernels' Python entry (private: see fastrnn._engine).

The kernels themselves are C (``rnn_kernel.c``: the equations, data flow and ISA
dispatch table; ``rnn_isa.inc``: the micro-kernel and the per-cell epilogues).  This
module checks that every array the kernel will touch has the size, dtype, layout and
alignment it needs -- so even a misuse of this private function raises instead of
reading out of bounds -- then runs the kernel with the GIL released.
"""
cimport numpy as cnp
from libc.stdint cimport uintptr_t

cnp.import_array()

cdef extern from "rnn_kernel.h" nogil:
    enum: FR_PANEL_BYTES
    enum:
        FR_CELL_SIMPLE, FR_CELL_LSTM, FR_CELL_GRU, FR_CELL_GRU_RESET_BEFORE, FR_CELL_COUNT
    enum:
        FR_ACT_LINEAR, FR_ACT_TANH, FR_ACT_SIGMOID, FR_ACT_HARD_SIGMOID, FR_ACT_RELU,
        FR_ACT_ELU, FR_ACT_SELU, FR_ACT_SOFTPLUS, FR_ACT_SOFTSIGN, FR_ACT_EXPONENTIAL,
        FR_ACT_SWISH, FR_ACT_COUNT
    enum: FR_ISA_PORTABLE, FR_ISA_AVX2, FR_ISA_AVX512, FR_ISA_COUNT
    ctypedef struct fr_job:
        int cell, act, rec_act, dtype_size
        Py_ssize_t steps, batch, units, features
        const void* w
        const void* u
        const void* u_h
        const void* bias
        const void* rbias
        const void* x
        Py_ssize_t x_bs, x_ts
        void* h
        void* c
        const unsigned char* mask
        Py_ssize_t m_bs, m_ts
        Py_ssize_t* lengths
        void* out
        Py_ssize_t o_bs, o_ts
        int backwards, zero_masked, return_sequences
        Py_ssize_t chunk
        int threads
        void* workspace
        Py_ssize_t workspace_stride
    int fr_gate_blocks(int cell)
    Py_ssize_t fr_panel_units(int dtype_size)
    Py_ssize_t fr_workspace_bytes(int cell, int dtype_size, Py_ssize_t units,
                                  Py_ssize_t rows, Py_ssize_t chunk)
    void fr_run(const fr_job* job)
    int fr_isa_current()
    int fr_isa_best()
    int fr_isa_select(int isa)
    const char* fr_isa_name(int isa)
    int fr_omp_max_threads()

#: Cell kinds understood by ``run_sequence``, with their number of gate blocks.
CELLS = {"simple": (FR_CELL_SIMPLE, 1), "lstm": (FR_CELL_LSTM, 4), "gru": (FR_CELL_GRU, 3),
         "gru_reset_before": (FR_CELL_GRU_RESET_BEFORE, 3)}

#: Activation names the kernels compute, and their codes.
ACTIVATIONS = {"linear": FR_ACT_LINEAR, "tanh": FR_ACT_TANH, "sigmoid": FR_ACT_SIGMOID,
               "hard_sigmoid": FR_ACT_HARD_SIGMOID, "relu": FR_ACT_RELU, "elu": FR_ACT_ELU,
               "selu": FR_ACT_SELU, "softplus": FR_ACT_SOFTPLUS, "softsign": FR_ACT_SOFTSIGN,
               "exponential": FR_ACT_EXPONENTIAL, "swish": FR_ACT_SWISH, "silu": FR_ACT_SWISH}

#: Instruction-set variants, lowest first.
ISAS = tuple(fr_isa_name(i).decode() for i in range(FR_ISA_COUNT))

#: Byte alignment of packed weights and of the workspace.
ALIGNMENT = FR_PANEL_BYTES


def panel_units(Py_ssize_t itemsize):
    """Hidden units per packed panel for a dtype of ``itemsize`` bytes (16 or 8)."""
    return fr_panel_units(<int>itemsize)


def workspace_bytes(int cell, Py_ssize_t itemsize, Py_ssize_t units, Py_ssize_t rows,
                    Py_ssize_t chunk):
    """Bytes of workspace one thread needs for ``rows`` batch rows, ``chunk`` steps."""
    return fr_workspace_bytes(cell, <int>itemsize, units, rows, chunk)


def isa():
    """The instruction-set variant in use (one of ``ISAS``)."""
    return fr_isa_name(fr_isa_current()).decode()


def best_isa():
    """The best variant this CPU supports."""
    return fr_isa_name(fr_isa_best()).decode()


def select_isa(name):
    """Use variant ``name`` (or the best the CPU supports, if lower); returns the one used.

    ``None`` or ``"auto"`` selects the best.  The packed weights do not depend on it.
    """
    if name is None or name == "auto":
        return fr_isa_name(fr_isa_select(-1)).decode()
    if name not in ISAS:
        raise ValueError(f"FASTRNN_ISA / select_isa: expected one of {ISAS} or 'auto', "
                         f"got {name!r}")
    return fr_isa_name(fr_isa_select(ISAS.index(name))).decode()


def omp_max_threads():
    """OpenMP's default thread count in the calling thread (1 without OpenMP)."""
    return fr_omp_max_threads()


cdef inline char* _data(cnp.ndarray a):
    return <char*>cnp.PyArray_DATA(a)


cdef bint _aligned(cnp.ndarray a):
    return (<uintptr_t>cnp.PyArray_DATA(a)) % FR_PANEL_BYTES == 0


def run_sequence(int cell, int act, int rec_act, cnp.ndarray x, bint time_major,
                 cnp.ndarray w, cnp.ndarray u, cnp.ndarray u_h, cnp.ndarray bias,
                 cnp.ndarray rbias, Py_ssize_t units, cnp.ndarray h, cnp.ndarray c,
                 cnp.ndarray mask, cnp.ndarray lengths, cnp.ndarray out,
                 bint return_sequences, bint go_backwards, bint zero_output_for_mask,
                 cnp.ndarray workspace, Py_ssize_t chunk, int threads):
    """Run one recurrent layer over a whole sequence (private; see fastrnn._engine).

    x (B, T, I) or (T, B, I), C-contiguous; w, u, u_h, bias, rbias: the packed
    weights (fastrnn._packing; u_h for reset_before GRU only, rbias for reset_after
    GRU only, else any array); h, c (B, units): initial states, overwritten with the
    final ones; mask: uint8 shaped like x's first two axes, or None; lengths: intp
    (B,) or None; out (B, T, units) / (T, B, units) when return_sequences, else
    (B, units); workspace: uint8, ``threads * workspace_bytes(...)`` bytes,
    64-byte aligned.
    """
    cdef fr_job job
    cdef Py_ssize_t B, T, I, H = units, ng, nb, P, rows
    cdef int type_num = cnp.PyArray_TYPE(x)
    cdef Py_ssize_t itemsize = cnp.PyArray_ITEMSIZE(x)
    if x.ndim != 3 or type_num not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
        raise ValueError("x must be a 3-D float32 or float64 array")
    if cell < 0 or cell >= FR_CELL_COUNT or act < 0 or act >= FR_ACT_COUNT \
            or rec_act < 0 or rec_act >= FR_ACT_COUNT or H < 0 or chunk < 1 or threads < 1:
        raise ValueError("unknown cell or activation code, or a bad size")
    if time_major:
        T, B = x.shape[0], x.shape[1]
    else:
        T, B = x.shape[1], x.shape[0]
    I = x.shape[2]
    ng = fr_gate_blocks(cell)
    nb = fr_panel_units(<int>itemsize)
    P = (H + nb - 1) // nb
    packed = [(w, P * I * ng * nb), (bias, P * ng * nb)]
    if cell == FR_CELL_GRU_RESET_BEFORE:
        packed += [(u, P * H * 2 * nb), (u_h, P * H * nb)]
    else:
        packed += [(u, P * H * ng * nb)]
    if cell == FR_CELL_GRU:
        packed += [(rbias, P * ng * nb)]
    for a, size in packed:
        if (a is None or cnp.PyArray_TYPE(a) != type_num or not cnp.PyArray_IS_C_CONTIGUOUS(a)
                or a.size != size or (size and not _aligned(a))):
            raise ValueError("packed weights do not fit the layer's sizes, dtype or alignment")
    states = [h, c] if cell == FR_CELL_LSTM else [h]
    for a in states + [x, out]:
        if a is None or cnp.PyArray_TYPE(a) != type_num or not cnp.PyArray_IS_C_CONTIGUOUS(a):
            raise ValueError("x, states and out must share one dtype and be C-contiguous")
    for a in states:
        if a.size != B * H:
            raise ValueError("states must have shape (batch, units)")
    if out.size != (T if return_sequences else 1) * B * H:
        raise ValueError("out does not fit the sequence sizes")
    if mask is not None and (cnp.PyArray_TYPE(mask) != cnp.NPY_UINT8
                             or not cnp.PyArray_IS_C_CONTIGUOUS(mask) or mask.size != B * T):
        raise ValueError("mask must be C-contiguous uint8 of shape (batch, time)")
    if lengths is not None and (cnp.PyArray_TYPE(lengths) != cnp.NPY_INTP
                                or not cnp.PyArray_IS_C_CONTIGUOUS(lengths)
                                or lengths.size != B):
        raise ValueError("lengths must be C-contiguous intp of shape (batch,)")
    if threads > B:
        threads = <int>max(B, 1)
    rows = (B + threads - 1) // threads
    job.workspace_stride = fr_workspace_bytes(cell, <int>itemsize, H, rows, chunk)
    if (workspace is None or cnp.PyArray_TYPE(workspace) != cnp.NPY_UINT8 or not cnp.PyArray_IS_C_CONTIGUOUS(workspace)
            or not _aligned(workspace) or workspace.size < threads * job.workspace_stride):
        raise ValueError("workspace too small or not 64-byte aligned uint8")
    if T == 0 or B == 0:
        return

    job.cell, job.act, job.rec_act, job.dtype_size = cell, act, rec_act, <int>itemsize
    job.steps, job.batch, job.units, job.features = T, B, H, I
    job.w, job.u, job.bias = _data(w), _data(u), _data(bias)
    job.u_h = _data(u_h) if cell == FR_CELL_GRU_RESET_BEFORE else NULL
    job.rbias = _data(rbias) if cell == FR_CELL_GRU else NULL
    job.x = _data(x)
    if time_major:
        job.x_bs, job.x_ts = I, B * I
    else:
        job.x_bs, job.x_ts = T * I, I
    job.h = _data(h)
    job.c = _data(c) if cell == FR_CELL_LSTM else NULL
    job.mask = NULL
    if time_major:
        job.m_bs, job.m_ts = 1, B
    else:
        job.m_bs, job.m_ts = T, 1
    if mask is not None:
        job.mask = <const unsigned char*>_data(mask)
    job.lengths = NULL if lengths is None else <Py_ssize_t*>_data(lengths)
    job.out = _data(out)
    if return_sequences:
        if time_major:
            job.o_bs, job.o_ts = H, B * H
        else:
            job.o_bs, job.o_ts = T * H, H
    else:
        job.o_bs, job.o_ts = H, 0
    job.backwards, job.zero_masked = go_backwards, zero_output_for_mask
    job.return_sequences = return_sequences
    job.chunk, job.threads = chunk, threads
    job.workspace = _data(workspace)
    with nogil:
        fr_run(&job)
