/* Whole-sequence recurrent kernels: one call runs a layer over every timestep.
 *
 * Gate equations (Keras weight layout; W = kernel, U = recurrent_kernel, b = bias,
 * act = activation, ract = recurrent_activation, blocks of `units` columns):
 *
 * SimpleRNN           h' = act(x W + h U + b)
 * LSTM (i, f, c, o)   [zi zf zc zo] = x W + h U + b
 *                     c' = ract(zf) * c + ract(zi) * act(zc);  h' = ract(zo) * act(c')
 * GRU, reset_after    xw = x W + b_in;  hu = h U + b_rec            (z, r, h blocks)
 *                     z = ract(xw_z + hu_z);  r = ract(xw_r + hu_r)
 *                     hh = act(xw_h + r * hu_h);  h' = z * h + (1 - z) * hh
 * GRU, reset_before   xw = x W + b;  z = ract(xw_z + h U_z);  r = ract(xw_r + h U_r)
 *                     hh = act(xw_h + (r * h) U_h);  h' = z * h + (1 - z) * hh
 *
 * Data flow of fr_run (GIL released by the caller for the whole call):
 * 0. The batch is split into slices, one per thread (OpenMP); each slice runs the whole
 *    time loop on its rows with its own workspace: rows are independent recurrences,
 *    so there is no synchronisation per step.
 * 1. Per chunk of timesteps, the input projections x W of every valid (step, row) are
 *    computed by the packed micro-kernel into the workspace `proj` (bounded whatever
 *    the sequence length), in the panel layout of the gates.
 * 2. Per step, for each panel of units and each block of valid rows: the micro-kernel
 *    adds h U onto the step's projection (GRU: into a separate tile, for the reset
 *    gate), then the cell's epilogue applies bias and activations, updates the state
 *    and writes the output, on the tile while it is in L1.
 * h is double-buffered per row (the product of a step reads the previous h of every
 * unit while its epilogues write the new one); a row that is not valid at a step
 * (mask False, or t >= lengths[b]) is not computed: its state is carried and its
 * output repeats the previous output (zeros with zero_output_for_mask), as tf.keras.
 * Time-major or batch-major input is a matter of strides, go_backwards of an index map.
 *
 * Variants: the micro-kernel and epilogues (rnn_isa.inc) are compiled for AVX-512F,
 * AVX2+FMA and portable C (the only one off x86-64), float32 and float64, and one
 * dispatch table picks the best the CPU supports (or a lower one on request).  The
 * packed layout does not depend on the variant.  Denormals are flushed to zero for
 * the duration of a call (MXCSR FTZ/DAZ on x86-64; the caller's mode is restored).
 */
#include "rnn_kernel.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fast_math.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) \
    && !defined(FASTRNN_PORTABLE_ONLY)
#define FR_HAVE_X86_VARIANTS 1
#else
#define FR_HAVE_X86_VARIANTS 0
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <xmmintrin.h>      /* _mm_getcsr / _mm_setcsr: the MXCSR flush-to-zero bits */
#endif

int fr_gate_blocks(int cell)
{
    static const int blocks[FR_CELL_COUNT] = {1, 4, 3, 3};
    return cell >= 0 && cell < FR_CELL_COUNT ? blocks[cell] : 0;
}

Py_ssize_t fr_panel_units(int dtype_size)
{
    return FR_PANEL_BYTES / dtype_size;
}

/* ---- one thread's workspace: byte offsets of its regions, each 64-byte aligned ---- */

typedef struct {
    Py_ssize_t proj, apack, h, c, z, rh, rec, a_list, c_list, r_list, rows, flags, total;
} fr_workspace_layout;

static Py_ssize_t fr_align(Py_ssize_t n) { return (n + 63) & ~(Py_ssize_t)63; }

static void fr_layout(fr_workspace_layout *lay, int cell, int dtype_size, Py_ssize_t units,
                      Py_ssize_t features, Py_ssize_t rows, Py_ssize_t chunk)
{
    const Py_ssize_t nb = fr_panel_units(dtype_size), ng = fr_gate_blocks(cell);
    const Py_ssize_t hp = (units + nb - 1) / nb * nb, e = dtype_size;
    Py_ssize_t at = 0;
#define FR_REGION(field, bytes) lay->field = at; at += fr_align(bytes)
    FR_REGION(proj, chunk * rows * (ng * hp + nb) * e);      /* see run_slice's Gp */
    /* the A operand packed k-major: a chunk's inputs, or a step's h */
    FR_REGION(apack, (chunk * features > units ? chunk * features : units) * rows * e);
    FR_REGION(h, rows * 2 * hp * e);
    FR_REGION(c, cell == FR_CELL_LSTM ? rows * hp * e : 0);
    FR_REGION(z, cell == FR_CELL_GRU_RESET_BEFORE ? rows * hp * e : 0);
    FR_REGION(rh, cell == FR_CELL_GRU_RESET_BEFORE ? rows * hp * e : 0);
    FR_REGION(rec, rows * ng * nb * e);
    FR_REGION(a_list, chunk * rows * (Py_ssize_t)sizeof(void *));
    FR_REGION(c_list, chunk * rows * (Py_ssize_t)sizeof(void *));
    FR_REGION(r_list, rows * (Py_ssize_t)sizeof(void *));
    FR_REGION(rows, rows * (Py_ssize_t)sizeof(Py_ssize_t));
    FR_REGION(flags, 2 * rows);
#undef FR_REGION
    lay->total = at;
}

Py_ssize_t fr_workspace_bytes(int cell, int dtype_size, Py_ssize_t units, Py_ssize_t features,
                              Py_ssize_t rows, Py_ssize_t chunk)
{
    fr_workspace_layout lay;
    fr_layout(&lay, cell, dtype_size, units, features, rows, chunk);
    return lay.total;
}

/* Row b is computed at timestep t (mask and lengths both say so). */
static inline int fr_valid(const fr_job *job, Py_ssize_t b, Py_ssize_t t)
{
    if (job->lengths != NULL && t >= job->lengths[b])
        return 0;
    return job->mask == NULL || job->mask[b * job->m_bs + t * job->m_ts];
}

/* ---- the activations other than the inline gate ones (tf.keras 2 definitions) ---- */

#define FR_SELU_ALPHA 1.6732632423543772848170429916717
#define FR_SELU_SCALE 1.0507009873554804934193349852946

static double fr_activation_value(int code, double x)
{
    switch (code) {
    case FR_ACT_ELU: return x > 0 ? x : expm1(x);
    case FR_ACT_SELU: return x > 0 ? FR_SELU_SCALE * x : FR_SELU_SCALE * FR_SELU_ALPHA * expm1(x);
    case FR_ACT_SOFTPLUS: return x > 0 ? x + log1p(exp(-x)) : log1p(exp(x));
    case FR_ACT_SOFTSIGN: return x / (1 + fabs(x));
    case FR_ACT_EXPONENTIAL: return exp(x);
    case FR_ACT_SWISH: return x / (1 + exp(-x));
    default: return x;
    }
}

static float fr_activation_valuef(int code, float x)
{
    switch (code) {
    case FR_ACT_ELU: return x > 0 ? x : expm1f(x);
    case FR_ACT_SELU:
        return x > 0 ? (float)FR_SELU_SCALE * x : (float)(FR_SELU_SCALE * FR_SELU_ALPHA) * expm1f(x);
    case FR_ACT_SOFTPLUS: return x > 0 ? x + log1pf(expf(-x)) : log1pf(expf(x));
    case FR_ACT_SOFTSIGN: return x / (1 + fabsf(x));
    case FR_ACT_EXPONENTIAL: return expf(x);
    case FR_ACT_SWISH: return x / (1 + expf(-x));
    default: return x;
    }
}

static void fr_activate_generic(int code, void *v, Py_ssize_t n, size_t dtype_size)
{
    if (dtype_size == sizeof(float)) {
        float *f = v;
        for (Py_ssize_t j = 0; j < n; j++) f[j] = fr_activation_valuef(code, f[j]);
    } else {
        double *d = v;
        for (Py_ssize_t j = 0; j < n; j++) d[j] = fr_activation_value(code, d[j]);
    }
}

/* ---- the variants ------------------------------------------------------------------
 * Tile shapes: FR_MR rows by FR_NRV(ng, m) 64-byte vectors, sized to the registers
 * (accumulators + one vector of weights per column + a broadcast).  A single row
 * (m = 1, the batch-1 GEMV) takes every gate block at once: more independent
 * accumulators to hide the multiply-add latency while the weights stream in. */

#define FR_ALL_M(NRV) FR_CASE(1, NRV) FR_CASE(2, NRV) FR_CASE(3, NRV) FR_CASE(4, NRV) \
                      FR_CASE(5, NRV) FR_CASE(6, NRV)

/* portable: a 64-byte line is 4 SSE2 / NEON registers; 2 x 1 tiles */
#define FR_ISA portable
#define FR_VBYTES 16
#define FR_MR 2
#define FR_NRV(ng, m) ((m) == 1 && (ng) % 2 == 0 ? 2 : 1)
#define FR_TILE_CASES FR_CASE(1, 1) FR_CASE(2, 1) FR_CASE(1, 2)
#include "rnn_variant.inc"

#if FR_HAVE_X86_VARIANTS
/* AVX2 + FMA: 64 bytes = 2 ymm of 16; 6 x 1 tiles (12 accumulators), one row x every
 * gate block */
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#define FR_ISA avx2
#define FR_VBYTES 32
#define FR_MR 6
#define FR_NRV(ng, m) ((m) == 1 ? (ng) : 1)
#define FR_TILE_CASES FR_ALL_M(1) FR_CASE(1, 2) FR_CASE(1, 3) FR_CASE(1, 4)
#include "rnn_variant.inc"
#pragma GCC pop_options

/* AVX-512F: 64 bytes = 1 zmm of 32; up to 6 x 4 tiles (24 accumulators).  Built with
 * FASTRNN_EMULATE_AVX512, the same source is compiled for AVX2 (each zmm a pair of ymm)
 * and offered on AVX2 CPUs: a test build, to run these shapes where AVX-512 is absent. */
#pragma GCC push_options
#ifdef FASTRNN_EMULATE_AVX512
#pragma GCC target("avx2,fma")
#else
#pragma GCC target("avx2,fma,avx512f")
#endif
#define FR_ISA avx512
#define FR_VBYTES 64
#define FR_MR 6
#define FR_NRV(ng, m) (ng)
#define FR_TILE_CASES FR_ALL_M(1) FR_ALL_M(2) FR_ALL_M(3) FR_ALL_M(4)
#include "rnn_variant.inc"
#pragma GCC pop_options
#endif

/* ---- the dispatch table -------------------------------------------------------------- */

typedef void (*fr_slice_fn)(const fr_job *, Py_ssize_t, Py_ssize_t, char *);

typedef struct {
    const char *name;
    fr_slice_fn f32, f64;
} fr_isa_entry;

static const fr_isa_entry fr_isas[FR_ISA_COUNT] = {
    {"portable", run_slice_portable_f32, run_slice_portable_f64},
#if FR_HAVE_X86_VARIANTS
    {"avx2", run_slice_avx2_f32, run_slice_avx2_f64},
    {"avx512", run_slice_avx512_f32, run_slice_avx512_f64},
#else
    {"avx2", NULL, NULL},
    {"avx512", NULL, NULL},
#endif
};

static int fr_isa_in_use = -1;

int fr_isa_best(void)
{
#if FR_HAVE_X86_VARIANTS
    __builtin_cpu_init();
#ifdef FASTRNN_EMULATE_AVX512
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FR_ISA_AVX512;
#endif
    if (__builtin_cpu_supports("avx512f"))
        return FR_ISA_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return FR_ISA_AVX2;
#endif
    return FR_ISA_PORTABLE;
}

int fr_isa_select(int isa)
{
    int best = fr_isa_best();
    if (isa < 0 || isa > best)
        isa = best;
    fr_isa_in_use = isa;
    return isa;
}

int fr_isa_current(void)
{
    return fr_isa_in_use < 0 ? fr_isa_select(-1) : fr_isa_in_use;
}

const char *fr_isa_name(int isa)
{
    return isa >= 0 && isa < FR_ISA_COUNT ? fr_isas[isa].name : "unknown";
}

int fr_omp_max_threads(void)
{
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* One slice with denormals flushed to zero (x86-64: MXCSR FTZ | DAZ), the thread's
 * floating-point mode restored after. */
static void fr_run_slice(const fr_job *job, fr_slice_fn run, Py_ssize_t b0, Py_ssize_t b1,
                         char *ws)
{
#if defined(__x86_64__) || defined(_M_X64)
    unsigned int saved = _mm_getcsr();
    _mm_setcsr(saved | 0x8040u);
    run(job, b0, b1, ws);
    _mm_setcsr(saved);
#else
    run(job, b0, b1, ws);
#endif
}

int fr_run_step(fr_job *job)
{
    const Py_ssize_t bytes = fr_workspace_bytes(job->cell, job->dtype_size, job->units,
                                                job->features, job->batch, job->chunk);
    void *ws = NULL;
    if (posix_memalign(&ws, FR_PANEL_BYTES, (size_t)(bytes > 0 ? bytes : FR_PANEL_BYTES)))
        return -1;
    job->workspace = ws;
    job->workspace_stride = bytes;
    job->threads = 1;
    fr_run(job);
    free(ws);
    return 0;
}

void fr_run(const fr_job *job)
{
    const fr_isa_entry *isa = &fr_isas[fr_isa_current()];
    fr_slice_fn run = job->dtype_size == sizeof(float) ? isa->f32 : isa->f64;
    const Py_ssize_t B = job->batch;
    int slices = job->threads < 1 ? 1 : job->threads;
    if (slices > B)
        slices = (int)B;
    if (slices <= 1) {
        fr_run_slice(job, run, 0, B, job->workspace);
        return;
    }
    /* slice k is rows [B k / slices, B (k + 1) / slices): however many threads the
     * runtime gives, each slice keeps its rows and its part of the workspace */
#ifdef _OPENMP
#pragma omp parallel num_threads(slices)
    {
        int team = omp_get_num_threads(), me = omp_get_thread_num();
        for (int k = me; k < slices; k += team)
            fr_run_slice(job, run, B * k / slices, B * (k + 1) / slices,
                         (char *)job->workspace + k * job->workspace_stride);
    }
#else
    for (int k = 0; k < slices; k++)
        fr_run_slice(job, run, B * k / slices, B * (k + 1) / slices,
                     (char *)job->workspace + k * job->workspace_stride);
#endif
}
