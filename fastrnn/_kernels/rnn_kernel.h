/* The recurrent kernels' C interface (implementation and equations: rnn_kernel.c).
 *
 * Packed weight layout (made once at load by fastrnn/_packing.py, never per call):
 * hidden units are grouped in panels of FR_PANEL_BYTES / sizeof(T) units (16 float32,
 * 8 float64), the units padded with zeros to a whole number of panels (Hp).  A weight
 * (K, ng * H) in Keras layout (ng gate blocks of H columns) is stored as
 *     packed[p][g][k][l] = W[k, g * H + p * NB + l]        (p < Hp / NB, l < NB)
 * so a panel holds every gate of its NB units, each gate a stream of 64-byte lines
 * contiguous in k.  Biases are packed the same way without the k axis.  Packed
 * arrays start on a 64-byte boundary.
 */
#ifndef FASTRNN_RNN_KERNEL_H
#define FASTRNN_RNN_KERNEL_H

#include <Python.h>

#define FR_PANEL_BYTES 64

enum { FR_CELL_SIMPLE = 0, FR_CELL_LSTM = 1, FR_CELL_GRU = 2, FR_CELL_GRU_RESET_BEFORE = 3,
       FR_CELL_COUNT = 4 };

enum { FR_ACT_LINEAR = 0, FR_ACT_TANH, FR_ACT_SIGMOID, FR_ACT_HARD_SIGMOID, FR_ACT_RELU,
       FR_ACT_ELU, FR_ACT_SELU, FR_ACT_SOFTPLUS, FR_ACT_SOFTSIGN, FR_ACT_EXPONENTIAL,
       FR_ACT_SWISH, FR_ACT_COUNT };

enum { FR_ISA_PORTABLE = 0, FR_ISA_AVX2 = 1, FR_ISA_AVX512 = 2, FR_ISA_COUNT = 3 };

/* One layer call: the packed weights, the caller's arrays and the layout strides.
 * Strides and sizes are in elements.  The caller (fastrnn._kernels._rnn, after
 * fastrnn._engine validated everything) guarantees every pointer and stride. */
typedef struct {
    int cell, act, rec_act, dtype_size;       /* dtype_size: 4 (float32) or 8 (float64) */
    Py_ssize_t steps, batch, units, features;
    const void *w;          /* packed kernel (P, ng, features, NB) */
    const void *u;          /* packed recurrent kernel (P, ng, units, NB); reset_before:
                               the z, r blocks (P, 2, units, NB) ... */
    const void *u_h;        /* ... and the h block (P, 1, units, NB); else NULL */
    const void *bias;       /* packed (P, ng, NB): the input bias (GRU reset_after: the z
                               and r blocks hold input + recurrent bias) */
    const void *rbias;      /* packed (P, ng, NB): GRU reset_after recurrent bias, else NULL */
    const void *x;          /* input; row (b, t) at x + b * x_bs + t * x_ts */
    Py_ssize_t x_bs, x_ts;
    const void *h_in, *c_in;    /* (batch, units) initial states (c: LSTM only, else NULL) */
    void *h_out, *c_out;        /* (batch, units) final states; may be h_in / c_in */
    const unsigned char *mask;   /* NULL, or valid (b, t) = mask[b * m_bs + t * m_ts] */
    Py_ssize_t m_bs, m_ts;
    const Py_ssize_t *lengths;   /* NULL, or valid (b, t) needs t < lengths[b] */
    void *out;              /* output row (b, step) at out + b * o_bs + step * o_ts */
    Py_ssize_t o_bs, o_ts;  /* o_ts = 0: only the last output, one row per b */
    int backwards, zero_masked, return_sequences;
    int carry_output;       /* streams: the output before a row's first valid step is its
                               initial state h_in, not zeros (tf.keras's "previous output"
                               at the start of a stream that was stepped before) */
    Py_ssize_t chunk;       /* timesteps projected per chunk */
    int threads;            /* batch slices run in parallel (>= 1) */
    void *workspace;        /* threads * fr_workspace_bytes(...) bytes, 64-byte aligned */
    Py_ssize_t workspace_stride;   /* bytes of one thread's part */
} fr_job;

/* Gate blocks of a cell kind (1, 4, 3, 3); 0 for an unknown kind. */
int fr_gate_blocks(int cell);

/* Units per panel for a dtype size (16 for float32, 8 for float64). */
Py_ssize_t fr_panel_units(int dtype_size);

/* Bytes of workspace one thread needs for `rows` batch rows and `chunk` timesteps. */
Py_ssize_t fr_workspace_bytes(int cell, int dtype_size, Py_ssize_t units, Py_ssize_t features,
                              Py_ssize_t rows, Py_ssize_t chunk);

/* Run the layer over the whole sequence.  Releases nothing, takes no lock, never
 * fails: call it without the GIL. */
void fr_run(const fr_job *job);

/* fr_run on one thread with a workspace of its own (allocated and freed here): the
 * streaming step's entry, callable from any number of threads at once.  Returns -1,
 * having run nothing, when the workspace cannot be allocated. */
int fr_run_step(fr_job *job);

/* The ISA variant in use, the best this CPU supports, and a setter (returns the
 * variant actually selected: never above what the CPU supports). */
int fr_isa_current(void);
int fr_isa_best(void);
int fr_isa_select(int isa);
const char *fr_isa_name(int isa);

/* OpenMP: the threads fastrnn's parallel regions would use by default here. */
int fr_omp_max_threads(void);

#endif
