"""The compiled recurrent kernels' Python entry (private: see fastrnn._engine).

The kernels themselves are C (``rnn_kernel.c``: the equations, data flow and ISA
dispatch table; ``rnn_isa.inc``: the micro-kernel and the per-cell epilogues).  This
module checks that every array the kernel will touch has the size, dtype, layout and
alignment it needs -- so even a misuse of this private function raises instead of
reading out of bounds -- then runs the kernel with the GIL released.
"""
cimport numpy as cnp
from libc.stdint cimport uintptr_t
from libc.string cimport memset

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
        const void* h_in
        const void* c_in
        void* h_out
        void* c_out
        const unsigned char* mask
        Py_ssize_t m_bs, m_ts
        Py_ssize_t* lengths
        void* out
        Py_ssize_t o_bs, o_ts
        int backwards, zero_masked, return_sequences, carry_output
        Py_ssize_t chunk
        int threads
        void* workspace
        Py_ssize_t workspace_stride
    int fr_gate_blocks(int cell)
    Py_ssize_t fr_panel_units(int dtype_size)
    Py_ssize_t fr_workspace_bytes(int cell, int dtype_size, Py_ssize_t units,
                                  Py_ssize_t features, Py_ssize_t rows, Py_ssize_t chunk)
    void fr_run(const fr_job* job)
    int fr_run_step(fr_job* job)
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


def workspace_bytes(int cell, Py_ssize_t itemsize, Py_ssize_t units, Py_ssize_t features,
                    Py_ssize_t rows, Py_ssize_t chunk):
    """Bytes of workspace one thread needs for ``rows`` batch rows, ``chunk`` steps."""
    return fr_workspace_bytes(cell, <int>itemsize, units, features, rows, chunk)


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


cdef bint _fits(cnp.ndarray a, int type_num, Py_ssize_t size):
    """``a`` is a packed array of ``size`` elements of the dtype, C-contiguous, aligned."""
    return (a is not None and cnp.PyArray_TYPE(a) == type_num and cnp.PyArray_IS_C_CONTIGUOUS(a)
            and cnp.PyArray_SIZE(a) == size and (size == 0 or _aligned(a)))


def _check_packed(int cell, Py_ssize_t itemsize, int type_num, Py_ssize_t H, Py_ssize_t I,
                  cnp.ndarray w, cnp.ndarray u, cnp.ndarray u_h, cnp.ndarray bias,
                  cnp.ndarray rbias):
    """Raise unless the packed weights have the sizes, dtype and alignment of the layer."""
    cdef Py_ssize_t ng = fr_gate_blocks(cell), nb = fr_panel_units(<int>itemsize)
    cdef Py_ssize_t P = (H + nb - 1) // nb
    cdef bint ok = _fits(w, type_num, P * I * ng * nb) and _fits(bias, type_num, P * ng * nb)
    if cell == FR_CELL_GRU_RESET_BEFORE:
        ok = ok and _fits(u, type_num, P * H * 2 * nb) and _fits(u_h, type_num, P * H * nb)
    else:
        ok = ok and _fits(u, type_num, P * H * ng * nb)
    if cell == FR_CELL_GRU:
        ok = ok and _fits(rbias, type_num, P * ng * nb)
    if not ok:
        raise ValueError("packed weights do not fit the layer's sizes, dtype or alignment")


def run_sequence(int cell, int act, int rec_act, cnp.ndarray x, bint time_major,
                 cnp.ndarray w, cnp.ndarray u, cnp.ndarray u_h, cnp.ndarray bias,
                 cnp.ndarray rbias, Py_ssize_t units, cnp.ndarray h, cnp.ndarray c,
                 cnp.ndarray mask, cnp.ndarray lengths, cnp.ndarray out,
                 bint return_sequences, bint go_backwards, bint zero_output_for_mask,
                 cnp.ndarray workspace, Py_ssize_t chunk, int threads, bint carry_output=False):
    """Run one recurrent layer over a whole sequence (private; see fastrnn._engine).

    x (B, T, I) or (T, B, I), C-contiguous; w, u, u_h, bias, rbias: the packed
    weights (fastrnn._packing; u_h for reset_before GRU only, rbias for reset_after
    GRU only, else any array); h, c (B, units): initial states, overwritten with the
    final ones; mask: uint8 shaped like x's first two axes, or None; lengths: intp
    (B,) or None; out (B, T, units) / (T, B, units) when return_sequences, else
    (B, units); workspace: uint8, ``threads * workspace_bytes(...)`` bytes,
    64-byte aligned; carry_output: a stream's call (see rnn_kernel.h).
    """
    cdef fr_job job
    cdef Py_ssize_t B, T, I, H = units, rows
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
    _check_packed(cell, itemsize, type_num, H, I, w, u, u_h, bias, rbias)
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
    job.workspace_stride = fr_workspace_bytes(cell, <int>itemsize, H, I, rows, chunk)
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
    job.h_in = job.h_out = _data(h)
    job.c_in = job.c_out = _data(c) if cell == FR_CELL_LSTM else NULL
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
    job.carry_output = carry_output
    job.chunk, job.threads = chunk, threads
    job.workspace = _data(workspace)
    with nogil:
        fr_run(&job)


class StepArgumentError(ValueError):
    """A step argument that is not already in the kernel's form (the caller converts it)."""


cdef bint _is_state(object a, int type_num, Py_ssize_t B, Py_ssize_t H):
    return (isinstance(a, cnp.ndarray) and cnp.PyArray_TYPE(<cnp.ndarray>a) == type_num
            and cnp.PyArray_NDIM(<cnp.ndarray>a) == 2
            and cnp.PyArray_DIMS(<cnp.ndarray>a)[0] == B
            and cnp.PyArray_DIMS(<cnp.ndarray>a)[1] == H
            and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>a))


cdef class StepPlan:
    """One built-in cell's single-timestep entry, its weights checked once.

    ``step`` runs one timestep for a batch: x (B, I) and states (B, units) of the
    plan's dtype, C-contiguous; the new states go to ``h_out`` / ``c_out`` (which may
    be the inputs) and the output to ``out``.  It holds no lock and no workspace of
    its own: any number of threads may step separate states at once.
    """
    cdef fr_job job
    cdef object packed
    cdef readonly int type_num, n_states

    def __cinit__(self, int cell, int act, int rec_act, cnp.ndarray w, cnp.ndarray u,
                  cnp.ndarray u_h, cnp.ndarray bias, cnp.ndarray rbias, Py_ssize_t units,
                  Py_ssize_t features, bint zero_output_for_mask):
        if cell < 0 or cell >= FR_CELL_COUNT or act < 0 or act >= FR_ACT_COUNT \
                or rec_act < 0 or rec_act >= FR_ACT_COUNT or units < 0 or features < 0:
            raise ValueError("unknown cell or activation code, or a bad size")
        self.type_num = cnp.PyArray_TYPE(w)
        if self.type_num not in (cnp.NPY_FLOAT32, cnp.NPY_FLOAT64):
            raise ValueError("packed weights must be float32 or float64")
        itemsize = cnp.PyArray_ITEMSIZE(w)
        _check_packed(cell, itemsize, self.type_num, units, features, w, u, u_h, bias, rbias)
        self.packed = (w, u, u_h, bias, rbias)
        self.n_states = 2 if cell == FR_CELL_LSTM else 1
        memset(&self.job, 0, sizeof(fr_job))
        self.job.cell, self.job.act, self.job.rec_act = cell, act, rec_act
        self.job.dtype_size = <int>itemsize
        self.job.steps, self.job.units, self.job.features = 1, units, features
        self.job.w, self.job.u, self.job.bias = _data(w), _data(u), _data(bias)
        self.job.u_h = _data(u_h) if cell == FR_CELL_GRU_RESET_BEFORE else NULL
        self.job.rbias = _data(rbias) if cell == FR_CELL_GRU else NULL
        self.job.x_ts = 0
        self.job.m_bs, self.job.m_ts = 1, 0
        self.job.o_ts = 0
        self.job.zero_masked = zero_output_for_mask
        self.job.carry_output = 1
        self.job.chunk = 1

    def step(self, x, list states, mask, list out):
        """One timestep: returns ``(output, new_states)``.

        x (B, I) and each state (B, units): C-contiguous arrays of the plan's dtype;
        mask None or bool / uint8 (B,); out None (new state arrays are made) or a
        list of state arrays to write (may be ``states``).  Anything else raises
        ``StepArgumentError``, for the caller to convert and retry.
        """
        cdef fr_job job = self.job
        cdef Py_ssize_t B, H = job.units
        cdef int status
        cdef cnp.npy_intp dims[2]
        if not (isinstance(x, cnp.ndarray) and cnp.PyArray_TYPE(<cnp.ndarray>x) == self.type_num
                and cnp.PyArray_NDIM(<cnp.ndarray>x) == 2
                and cnp.PyArray_DIMS(<cnp.ndarray>x)[1] == job.features
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>x)):
            raise StepArgumentError("inputs")
        B = cnp.PyArray_DIMS(<cnp.ndarray>x)[0]
        if len(states) != self.n_states or not _is_state(states[0], self.type_num, B, H) or (
                self.n_states == 2 and not _is_state(states[1], self.type_num, B, H)):
            raise StepArgumentError("states")
        dims[0], dims[1] = B, H
        if out is None:
            out = [cnp.PyArray_EMPTY(2, dims, self.type_num, 0) for _ in range(self.n_states)]
        elif len(out) != self.n_states or not _is_state(out[0], self.type_num, B, H) or (
                self.n_states == 2 and not _is_state(out[1], self.type_num, B, H)):
            raise StepArgumentError("out")
        if mask is not None and not (
                isinstance(mask, cnp.ndarray)
                and cnp.PyArray_TYPE(<cnp.ndarray>mask) in (cnp.NPY_UINT8, cnp.NPY_BOOL)
                and cnp.PyArray_NDIM(<cnp.ndarray>mask) == 1
                and cnp.PyArray_SIZE(<cnp.ndarray>mask) == B
                and cnp.PyArray_IS_C_CONTIGUOUS(<cnp.ndarray>mask)):
            raise StepArgumentError("mask")
        output = cnp.PyArray_EMPTY(2, dims, self.type_num, 0)
        if B == 0:
            return output, out
        job.batch = B
        job.x = _data(<cnp.ndarray>x)
        job.x_bs = job.features
        job.h_in, job.h_out = _data(<cnp.ndarray>states[0]), _data(<cnp.ndarray>out[0])
        if self.n_states == 2:
            job.c_in, job.c_out = _data(<cnp.ndarray>states[1]), _data(<cnp.ndarray>out[1])
        job.mask = NULL if mask is None else <const unsigned char*>_data(<cnp.ndarray>mask)
        job.out = _data(<cnp.ndarray>output)
        job.o_bs = H
        with nogil:
            status = fr_run_step(&job)
        if status != 0:
            raise MemoryError("fastrnn step: no memory for the step's workspace")
        return output, out
