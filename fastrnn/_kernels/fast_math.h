/* Vectorizable float32 and float64 exp, sigmoid and tanh for the gate epilogues.
 *
 * exp(x) = 2^n * e^r with n = round(x / ln 2) and r = x - n ln 2 (ln 2 split in two
 * parts, Cody-Waite, so r is exact to float precision); e^r on |r| <= ln2/2 is a
 * degree-6 minimax polynomial (max relative error ~2 ulp).  n is rounded with the
 * 1.5 * 2^23 shifter, so 2^n is built from the shifted float's bits with integer
 * arithmetic only: no float-to-int conversion, and NaN propagates (NaN * 2^n = NaN).
 * x is clamped to [-87, 88] so 2^n stays a normal float.
 *
 * float64: the same scheme with ln 2 split as in fdlibm, the 1.5 * 2^52 shifter,
 * x clamped to [-708, 709], and e^r as its Taylor series to degree 13 (truncation
 * error below 1e-17 on |r| <= ln2/2).
 *
 * sigmoid(x) = 1 / (1 + exp(-x));  tanh(x) = sign(x) (1 - t) / (1 + t), t = exp(-2|x|),
 * except for small |x|, where 1 - t cancels: there tanh(x) = x - x^3/3 + 2x^5/15
 * - 17x^7/315 + 62x^9/2835 (the next term is below 1e-11 relative for float32's
 * cut-off 0.1 and 1e-17 for float64's 0.03), selected without a branch.
 *
 * Every function is a static inline body with no calls and no branches, so a loop
 * over them vectorizes for whatever instruction set the calling function is compiled
 * for (the kernels compile their epilogues once per ISA, see rnn_kernel.c).
 */
#ifndef FASTRNN_FAST_MATH_H
#define FASTRNN_FAST_MATH_H

#include <stdint.h>
#include <string.h>

static inline __attribute__((always_inline)) float fr_expf(float x)
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

static inline __attribute__((always_inline)) float fr_sigmoidf(float x)
{
    return 1.0f / (1.0f + fr_expf(-x));
}

static inline __attribute__((always_inline)) float fr_tanhf(float x)
{
    float a = x < 0.0f ? -x : x;
    float t = fr_expf(-2.0f * a);
    float y = (1.0f - t) / (1.0f + t);
    float x2 = x * x;
    float small = x + x * x2 * (-1.0f / 3.0f + x2 * (2.0f / 15.0f + x2 * (-17.0f / 315.0f
                                + x2 * (62.0f / 2835.0f))));
    return a < 0.1f ? small : (x < 0.0f ? -y : y);
}

static inline __attribute__((always_inline)) double fr_exp(double x)
{
    const double shifter = 6755399441055744.0;       /* 1.5 * 2^52 */
    x = x < -708.0 ? -708.0 : (x > 709.0 ? 709.0 : x);
    double k = x * 1.4426950408889634074 + shifter;
    double n = k - shifter;
    double r = x - n * 6.93147180369123816490e-01;   /* ln 2, high part */
    r = r - n * 1.90821492927058770002e-10;          /* ln 2, low part */
    double p = 1.0 / 6227020800.0;                   /* 1/13! ... 1/2!, Horner */
    p = p * r + 1.0 / 479001600.0;
    p = p * r + 1.0 / 39916800.0;
    p = p * r + 1.0 / 3628800.0;
    p = p * r + 1.0 / 362880.0;
    p = p * r + 1.0 / 40320.0;
    p = p * r + 1.0 / 5040.0;
    p = p * r + 1.0 / 720.0;
    p = p * r + 1.0 / 120.0;
    p = p * r + 1.0 / 24.0;
    p = p * r + 1.0 / 6.0;
    p = p * r + 0.5;
    p = p * r * r + r + 1.0;
    uint64_t kbits, sbits;
    memcpy(&kbits, &k, sizeof kbits);
    sbits = (kbits - 0x4338000000000000ull + 1023ull) << 52;   /* 2^n */
    double scale;
    memcpy(&scale, &sbits, sizeof scale);
    return p * scale;
}

static inline __attribute__((always_inline)) double fr_sigmoid(double x)
{
    return 1.0 / (1.0 + fr_exp(-x));
}

static inline __attribute__((always_inline)) double fr_tanh(double x)
{
    double a = x < 0.0 ? -x : x;
    double t = fr_exp(-2.0 * a);
    double y = (1.0 - t) / (1.0 + t);
    double x2 = x * x;
    double small = x + x * x2 * (-1.0 / 3.0 + x2 * (2.0 / 15.0 + x2 * (-17.0 / 315.0
                                 + x2 * (62.0 / 2835.0))));
    return a < 0.03 ? small : (x < 0.0 ? -y : y);
}

#endif
