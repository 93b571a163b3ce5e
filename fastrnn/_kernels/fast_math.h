/* Vectorizable float32 exp, sigmoid and tanh for the gate passes.
 *
 * exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 (ln 2 split in two
 * parts, Cody-Waite, so r is exact to float precision); e^r on |r| <= ln2/2 is a
 * degree-6 minimax polynomial (max relative error ~2 ulp).  n is rounded with the
 * 1.5 * 2^23 shifter, so 2^n is built from the shifted float's bits with integer
 * arithmetic only: no float-to-int conversion, and NaN propagates (NaN * 2^n = NaN).
 * x is clamped to [-87, 88] so 2^n stays a normal float.
 *
 * sigmoid(x) = 1 / (1 + exp(-x));  tanh(x) = sign(x) (1 - t) / (1 + t), t = exp(-2|x|).
 *
 * Each loop body has no calls and no branches, so the compiler vectorizes it; the
 * loops are compiled for AVX-512, AVX2+FMA and baseline x86-64 and the best one is
 * picked when the module loads (GCC/Clang function multiversioning).
 */
#ifndef FASTRNN_FAST_MATH_H
#define FASTRNN_FAST_MATH_H

#include <stdint.h>
#include <string.h>
#include <Python.h>

#if defined(__x86_64__) && defined(__GNUC__) && defined(__linux__) && !defined(FASTRNN_NO_CLONES)
#define FR_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define FR_CLONES
#endif

static inline float fr_expf(float x)
{
    const float shifter = 12582912.0f;               /* 1.5 * 2^23 */
    x = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    float k = x * 1.44269504088896341f + shifter;    /* low mantissa bits hold n */
    float n = k - shifter;
    float r = x - n * 0.693359375f;                  /* ln 2 = 0.693359375 - 2.12194440e-4 */
    r = r + n * 2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    uint32_t kbits, sbits;
    memcpy(&kbits, &k, sizeof kbits);
    sbits = (kbits - 0x4B400000u + 127u) << 23;      /* 2^n */
    float scale;
    memcpy(&scale, &sbits, sizeof scale);
    return p * scale;
}

FR_CLONES static void fr_sigmoid_f32(float *v, Py_ssize_t n)
{
    for (Py_ssize_t j = 0; j < n; j++)
        v[j] = 1.0f / (1.0f + fr_expf(-v[j]));
}

FR_CLONES static void fr_tanh_f32(float *v, Py_ssize_t n)
{
    for (Py_ssize_t j = 0; j < n; j++) {
        float x = v[j];
        float a = x < 0.0f ? -x : x;
        float t = fr_expf(-2.0f * a);
        float y = (1.0f - t) / (1.0f + t);
        v[j] = x < 0.0f ? -y : y;
    }
}

#endif
