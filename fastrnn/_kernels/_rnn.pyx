"""Whole-sequence recurrent kernels: one call runs a layer over every timestep.

Gate equations (Keras weight layout; W = kernel, U = recurrent_kernel, b = bias,
act = activation, ract = recurrent_activation, blocks of ``units`` columns):

SimpleRNN           h' = act(x W + h U + b)
LSTM (i, f, c, o)   [zi zf zc zo] = x W + h U + b
                    c' = ract(zf) * c + ract(zi) * act(zc);  h' = ract(zo) * act(c')
GRU, reset_after    xw = x W + b_in;  hu = h U + b_rec            (z, r, h blocks)
                    z = ract(xw_z + hu_z);  r = ract(xw_r + hu_r)
                    hh = act(xw_h + r * hu_h);  h' = z * h + (1 - z) * hh
GRU, reset_before   xw = x W + b;  z = ract(xw_z + h U_z);  r = ract(xw_r + h U_r)
                    hh = act(xw_h + (r * h) U_h);  h' = z * h + (1 - z) * hh

Data flow of ``run_sequence`` (entered once per layer call, GIL released for the
whole loop):
1. The input projections x W of a chunk of timesteps are computed into the
   workspace ``proj`` (chunk, batch, gates), bounded whatever the sequence length:
   one GEMM for time-major input or batch 1, else one per timestep (or per batch
   row, whichever is fewer).
2. Each step adds h U into its slice of ``proj`` with one GEMM (GEMV at batch 1),
   then one fused pass per row adds the bias, applies the activations, updates the
   state in place and writes the output.
Products of few rows (see SMALL_PRODUCT_MAX_ROWS) take the weights as BLAS's second
operand, from transposed copies made at load, and add their result row by row.
Batch- or time-major input is a matter of strides, go_backwards of an index map;
masked rows keep their state and repeat the previous output (or write zeros), as
tf.keras does.  The kernel never raises and never touches Python objects: the
caller (``fastrnn._engine``) validates every array before calling.
"""
cimport numpy as cnp
from cython cimport floating
from libc.string cimport memcpy, memset

from ._activations cimport (activate, ACT_COUNT, ACT_LINEAR, ACT_TANH, ACT_SIGMOID,
                            ACT_HARD_SIGMOID, ACT_RELU, ACT_ELU, ACT_SELU,
                            ACT_SOFTPLUS, ACT_SOFTSIGN, ACT_EXPONENTIAL, ACT_SWISH)
from ._blas cimport gemm_cm, matmul_rm

cnp.import_array()

cdef enum:
    CELL_SIMPLE = 0
    CELL_LSTM = 1
    CELL_GRU = 2               # reset_after=True (Keras default, cuDNN / PyTorch form)
    CELL_GRU_RESET_BEFORE = 3  # reset_after=False

cdef int[4] _GATE_BLOCKS = [1, 4, 3, 3]

#: Cell kinds understood by ``run_sequence``, with their number of gate blocks.
CELLS = {"simple": (CELL_SIMPLE, 1), "lstm": (CELL_LSTM, 4), "gru": (CELL_GRU, 3),
         "gru_reset_before": (CELL_GRU_RESET_BEFORE, 3)}

#: Activation names the kernels compute, and their codes.
ACTIVATIONS = {"linear": ACT_LINEAR, "tanh": ACT_TANH, "sigmoid": ACT_SIGMOID,
               "hard_sigmoid": ACT_HARD_SIGMOID, "relu": ACT_RELU, "elu": ACT_ELU,
               "selu": ACT_SELU, "softplus": ACT_SOFTPLUS, "softsign": ACT_SOFTSIGN,
               "exponential": ACT_EXPONENTIAL, "swish": ACT_SWISH, "silu": ACT_SWISH}


ctypedef struct Sequence:
    int cell, act, rec_act
    Py_ssize_t steps, batch, units, features, gates, chunk
    char* x                       # input; element (b, t, :) at x + b*x_bs + t*x_ts
    Py_ssize_t x_bs, x_ts
    char* kernel                  # (features, gates)
    char* kernel_t                # (gates, features): its transpose, made once at load
    char* recurrent_kernel        # (units, gates)
    char* recurrent_kernel_t      # (gates, units): its transpose, made once at load
    char* bias                    # (gates,), zeros when the layer has none
    char* recurrent_bias          # (gates,), GRU reset_after only
    char* h                       # (batch, units) state, read and updated in place
    char* c                       # (batch, units) LSTM carry state, idem
    unsigned char* mask           # NULL, or mask (b, t) at mask + b*m_bs + t*m_ts
    Py_ssize_t m_bs, m_ts
    char* out                     # output row (b, step) at out + b*o_bs + step*o_ts;
    Py_ssize_t o_bs, o_ts         # o_ts = 0: only the last output (one row per b)
    bint time_major, backwards, zero_masked
    Py_ssize_t small_product_max_rows, small_product_min_weights
    char* workspace               # proj (chunk*batch*gates), rec (batch*gates),
                                  # rh (batch*units), then the scratch:
    char* scratch                 # (min(chunk*batch, small_product_max_rows) * gates)


#: Products A(m, k) @ W with m from 2 up to this many rows are computed, in
#: column-major terms, as op(A) @ (W^T)^T: the weights become BLAS's second
#: operand (from a transposed copy made at load) and the result is added to the
#: destination row by row.  OpenBLAS packs the weights far faster that way.
#: Measured, float32, one thread: whole calls at T=100 I=128 H=256 2.4x faster at
#: batch 2, 1.75x at 8, 1.15x at 32, even at 64 and slower from 128 rows on; an input
#: projection of 15 rows (I=250, 4H=800) 1.4x faster.  Weight blocks of fewer than
#: SMALL_PRODUCT_MIN_WEIGHTS elements pack cheaply anyway and keep the direct form
#: (the transposition cost 6% at H=32).
SMALL_PRODUCT_MAX_ROWS = 64
SMALL_PRODUCT_MIN_WEIGHTS = 16384


def workspace_size(Py_ssize_t chunk, Py_ssize_t batch, Py_ssize_t gates, Py_ssize_t units):
    """Elements of workspace ``run_sequence`` needs for these sizes."""
    cdef Py_ssize_t small_rows = min(chunk * batch, <Py_ssize_t>SMALL_PRODUCT_MAX_ROWS)
    return chunk * batch * gates + batch * gates + batch * units + small_rows * gates


cdef void _times_weights(Sequence* s, Py_ssize_t m, const floating* a, Py_ssize_t lda,
                         const floating* w, const floating* wt, Py_ssize_t k,
                         Py_ssize_t col0, Py_ssize_t ncols, floating beta, floating* dst,
                         Py_ssize_t ld_dst) noexcept nogil:
    """dst[r, :ncols] = a[r] @ w[:, col0:col0 + ncols] + beta * dst[r, :ncols] for r < m.

    ``w`` is a (k, gates) weight, row-major; ``wt`` its (gates, k) transpose.  Few
    rows: the column-major product C(m, ncols) = op(a)(m, k) @ wt[col0:col0 + ncols]^T
    goes to the scratch (element (r, j) at scratch[j * m + r]) and is added to ``dst``.
    """
    cdef Py_ssize_t r, j
    cdef floating* scratch = <floating*>s.scratch
    cdef floating* row
    if m < 2 or m > s.small_product_max_rows or k * ncols < s.small_product_min_weights:
        matmul_rm(<int>m, <int>ncols, <int>k, a, <int>lda, w + col0, <int>s.gates, beta,
                  dst, <int>ld_dst)
        return
    gemm_cm(c'T', c'N', <int>m, <int>ncols, <int>k, <floating>1, a, <int>lda,
            wt + col0 * k, <int>k, <floating>0, scratch, <int>m)
    for r in range(m):
        row = dst + r * ld_dst
        if beta == 0:
            for j in range(ncols):
                row[j] = scratch[j * m + r]
        else:
            for j in range(ncols):
                row[j] += scratch[j * m + r]


cdef inline void _copy_row(floating* dst, const floating* src, Py_ssize_t n) noexcept nogil:
    memcpy(dst, src, n * sizeof(floating))


cdef void _project_chunk(Sequence* s, Py_ssize_t t_lo, Py_ssize_t n,
                         floating* proj) noexcept nogil:
    """proj[tc, b, :] = x[b, t_lo + tc] @ W for tc < n (proj is (n, batch, gates)).

    Time-major input (or batch 1) has evenly strided rows: one GEMM.  Batch-major
    input takes one GEMM per timestep or one per batch row, whichever is fewer.
    """
    cdef floating* x = <floating*>s.x
    cdef floating* w = <floating*>s.kernel
    cdef floating* wt = <floating*>s.kernel_t
    cdef Py_ssize_t B = s.batch, I = s.features, G = s.gates, b, tc
    if B == 1:
        _times_weights(s, n, x + t_lo * s.x_ts, s.x_ts, w, wt, I, 0, G, 0, proj, G)
    elif s.time_major:
        _times_weights(s, n * B, x + t_lo * s.x_ts, s.x_bs, w, wt, I, 0, G, 0, proj, G)
    elif n <= B:
        for tc in range(n):  # rows of one timestep are x_bs apart
            _times_weights(s, B, x + (t_lo + tc) * s.x_ts, s.x_bs, w, wt, I, 0, G, 0,
                           proj + tc * B * G, G)
    else:
        for b in range(B):   # rows of one batch entry are x_ts apart; C rows B*gates apart
            _times_weights(s, n, x + b * s.x_bs + t_lo * s.x_ts, s.x_ts, w, wt, I, 0, G, 0,
                           proj + b * G, B * G)


cdef inline void _simple_row(floating* z, const floating* bias, floating* h,
                             Py_ssize_t units, int act) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(units):
        z[j] += bias[j]
    activate(act, z, units)
    _copy_row(h, z, units)


cdef inline void _lstm_row(floating* z, const floating* bias, floating* h, floating* c,
                           Py_ssize_t units, int act, int rec_act) noexcept nogil:
    # z = [zi zf zc zo] (x W + h U); the i block is reused for act(c') once spent.
    cdef Py_ssize_t j, H = units
    for j in range(4 * H):
        z[j] += bias[j]
    activate(rec_act, z, 2 * H)
    activate(act, z + 2 * H, H)
    activate(rec_act, z + 3 * H, H)
    for j in range(H):
        c[j] = z[H + j] * c[j] + z[j] * z[2 * H + j]
        z[j] = c[j]
    activate(act, z, H)
    for j in range(H):
        h[j] = z[3 * H + j] * z[j]


cdef inline void _gru_row(floating* z, const floating* hu, const floating* bias,
                          const floating* rbias, floating* h, Py_ssize_t units,
                          int act, int rec_act) noexcept nogil:
    # z = x W (z, r, h blocks), hu = h U
    cdef Py_ssize_t j, H = units
    for j in range(2 * H):
        z[j] += bias[j] + hu[j] + rbias[j]
    activate(rec_act, z, 2 * H)
    for j in range(H):
        z[2 * H + j] += bias[2 * H + j] + z[H + j] * (hu[2 * H + j] + rbias[2 * H + j])
    activate(act, z + 2 * H, H)
    for j in range(H):
        h[j] = z[j] * h[j] + (1 - z[j]) * z[2 * H + j]


cdef inline void _gru_gates_row(floating* z, const floating* hu, const floating* bias,
                                const floating* h, floating* rh, Py_ssize_t units,
                                int rec_act) noexcept nogil:
    # reset_before, first half: z and r gates, then rh = r * h for the second GEMM
    cdef Py_ssize_t j, H = units
    for j in range(2 * H):
        z[j] += bias[j] + hu[j]
    activate(rec_act, z, 2 * H)
    for j in range(H):
        rh[j] = z[H + j] * h[j]


cdef inline void _gru_candidate_row(floating* z, const floating* hu, const floating* bias,
                                    floating* h, Py_ssize_t units, int act) noexcept nogil:
    # reset_before, second half: hu holds (r * h) U_h in its h block
    cdef Py_ssize_t j, H = units
    for j in range(H):
        z[2 * H + j] += bias[2 * H + j] + hu[2 * H + j]
    activate(act, z + 2 * H, H)
    for j in range(H):
        h[j] = z[j] * h[j] + (1 - z[j]) * z[2 * H + j]


cdef void _run(Sequence* s, floating* dummy) noexcept nogil:
    """Run the whole sequence; ``dummy`` only selects the floating type."""
    cdef Py_ssize_t T = s.steps, B = s.batch, H = s.units, G = s.gates
    cdef Py_ssize_t s0, n, step, t, tc, t_lo, b
    cdef floating* proj = <floating*>s.workspace
    cdef floating* rec = proj + s.chunk * B * G
    cdef floating* rh = rec + B * G
    cdef floating* U = <floating*>s.recurrent_kernel
    cdef floating* Ut = <floating*>s.recurrent_kernel_t
    cdef floating* bias = <floating*>s.bias
    cdef floating* rbias = <floating*>s.recurrent_bias
    cdef floating* h = <floating*>s.h
    cdef floating* c = <floating*>s.c
    cdef floating* out = <floating*>s.out
    cdef floating* z
    cdef floating* out_row

    s0 = 0
    while s0 < T:
        n = min(s.chunk, T - s0)
        t_lo = T - s0 - n if s.backwards else s0
        _project_chunk(s, t_lo, n, proj)

        for step in range(s0, s0 + n):
            t = T - 1 - step if s.backwards else step
            tc = t - t_lo
            z = proj + tc * B * G
            if s.cell == CELL_SIMPLE or s.cell == CELL_LSTM:
                _times_weights(s, B, h, H, U, Ut, H, 0, G, 1, z, G)
            elif s.cell == CELL_GRU:
                _times_weights(s, B, h, H, U, Ut, H, 0, G, 0, rec, G)
            else:
                _times_weights(s, B, h, H, U, Ut, H, 0, 2 * H, 0, rec, G)
                for b in range(B):
                    _gru_gates_row(z + b * G, rec + b * G, bias, h + b * H,
                                   rh + b * H, H, s.rec_act)
                _times_weights(s, B, rh, H, U, Ut, H, 2 * H, H, 0, rec + 2 * H, G)

            for b in range(B):
                out_row = out + b * s.o_bs + step * s.o_ts
                if s.mask == NULL or s.mask[b * s.m_bs + t * s.m_ts]:
                    if s.cell == CELL_SIMPLE:
                        _simple_row(z + b * G, bias, h + b * H, H, s.act)
                    elif s.cell == CELL_LSTM:
                        _lstm_row(z + b * G, bias, h + b * H, c + b * H, H,
                                  s.act, s.rec_act)
                    elif s.cell == CELL_GRU:
                        _gru_row(z + b * G, rec + b * G, bias, rbias, h + b * H, H,
                                 s.act, s.rec_act)
                    else:
                        _gru_candidate_row(z + b * G, rec + b * G, bias, h + b * H,
                                           H, s.act)
                    _copy_row(out_row, h + b * H, H)
                elif s.zero_masked or (s.o_ts != 0 and step == 0):
                    memset(out_row, 0, H * sizeof(floating))
                elif s.o_ts != 0:
                    _copy_row(out_row, out_row - s.o_ts, H)
                # else: last-output only, the row keeps the previous output
        s0 += n


cdef inline char* _data(cnp.ndarray a):
    return <char*>cnp.PyArray_DATA(a)


def run_sequence(int cell, int act, int rec_act, cnp.ndarray x, bint time_major,
                 cnp.ndarray kernel, cnp.ndarray kernel_t, cnp.ndarray recurrent_kernel,
                 cnp.ndarray recurrent_kernel_t, cnp.ndarray bias,
                 cnp.ndarray recurrent_bias, cnp.ndarray h, cnp.ndarray c,
                 cnp.ndarray mask, cnp.ndarray out, bint return_sequences,
                 bint go_backwards, bint zero_output_for_mask,
                 cnp.ndarray workspace, Py_ssize_t chunk):
    """Run one recurrent layer over a whole sequence (private; see fastrnn._engine).

    All arrays must be C-contiguous, of one float dtype, and of the shapes the
    engine gives them: x (B, T, I) or (T, B, I); h, c (B, H), updated in place;
    mask uint8 shaped like x's first two axes, or None; out (B, T, H) / (T, B, H)
    when return_sequences, else (B, H) and zero-filled.  The engine validates;
    the checks here only guard the memory the kernel touches.
    """
    cdef Sequence s
    cdef Py_ssize_t B, T, G
    if x.ndim != 3:
        raise ValueError("x must be 3-D")
    if time_major:
        T, B = x.shape[0], x.shape[1]
    else:
        B, T = x.shape[0], x.shape[1]
    s.cell, s.act, s.rec_act = cell, act, rec_act
    s.steps, s.batch, s.features = T, B, x.shape[2]
    s.units = recurrent_kernel.shape[0]
    s.gates = G = recurrent_kernel.shape[1]
    s.chunk = chunk
    cdef int type_num = cnp.PyArray_TYPE(x)
    arrays = (x, kernel, kernel_t, recurrent_kernel, recurrent_kernel_t, bias, recurrent_bias,
              h, out, workspace)
    for a in arrays:
        if cnp.PyArray_TYPE(a) != type_num or not cnp.PyArray_IS_C_CONTIGUOUS(a):
            raise ValueError("kernel arrays must share one dtype and be C-contiguous")
    if (kernel.shape[0] != s.features or kernel.shape[1] != G or bias.size != G
            or kernel_t.size != kernel.size or recurrent_kernel_t.size != recurrent_kernel.size
            or recurrent_bias.size != G or h.size != B * s.units
            or out.size != (T if return_sequences else 1) * B * s.units
            or workspace.size < workspace_size(chunk, B, G, s.units)
            or chunk < 1 or cell < 0 or cell > 3 or G != _GATE_BLOCKS[cell] * s.units
            or act < 0 or act >= ACT_COUNT or rec_act < 0 or rec_act >= ACT_COUNT):
        raise ValueError("kernel arrays do not fit the sequence sizes")
    if cell == CELL_LSTM and (c is None or cnp.PyArray_TYPE(c) != type_num
                              or not cnp.PyArray_IS_C_CONTIGUOUS(c)
                              or c.size != B * s.units):
        raise ValueError("LSTM needs a carry state c of shape (batch, units)")
    if mask is not None and (cnp.PyArray_TYPE(mask) != cnp.NPY_UINT8
                             or not cnp.PyArray_IS_C_CONTIGUOUS(mask)
                             or mask.size != B * T):
        raise ValueError("mask must be C-contiguous uint8 of shape (batch, time)")

    s.x = _data(x)
    if time_major:
        s.x_bs, s.x_ts = s.features, B * s.features
    else:
        s.x_bs, s.x_ts = T * s.features, s.features
    s.kernel, s.recurrent_kernel = _data(kernel), _data(recurrent_kernel)
    s.kernel_t, s.recurrent_kernel_t = _data(kernel_t), _data(recurrent_kernel_t)
    s.small_product_max_rows = min(chunk * B, <Py_ssize_t>SMALL_PRODUCT_MAX_ROWS)
    s.small_product_min_weights = SMALL_PRODUCT_MIN_WEIGHTS
    s.bias, s.recurrent_bias = _data(bias), _data(recurrent_bias)
    s.h = _data(h)
    s.c = _data(c) if cell == CELL_LSTM else NULL
    s.mask = NULL
    if mask is not None:
        s.mask = <unsigned char*>_data(mask)
        if time_major:
            s.m_bs, s.m_ts = 1, B
        else:
            s.m_bs, s.m_ts = T, 1
    s.out = _data(out)
    if return_sequences:
        if time_major:
            s.o_bs, s.o_ts = s.units, B * s.units
        else:
            s.o_bs, s.o_ts = T * s.units, s.units
    else:
        s.o_bs, s.o_ts = s.units, 0
    s.time_major = time_major
    s.backwards, s.zero_masked = go_backwards, zero_output_for_mask
    s.workspace = _data(workspace)
    s.scratch = s.workspace + (chunk * B * G + B * G + B * s.units) * cnp.PyArray_ITEMSIZE(workspace)

    if T == 0 or B == 0:
        return
    if type_num == cnp.NPY_FLOAT32:
        with nogil:
            _run(&s, <float*>NULL)
    elif type_num == cnp.NPY_FLOAT64:
        with nogil:
            _run(&s, <double*>NULL)
    else:
        raise TypeError("kernels compute in float32 or float64")
