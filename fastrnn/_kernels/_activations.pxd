# Element-wise activations applied in place to a contiguous vector, float32/float64.
# sigmoid and tanh (the gates' activations) come from fast_math.h: vectorized,
# within a few ulp of libm.
#
# Definitions are tf.keras 2's.  Each activation is one tight loop over the
# vector with the branch on the activation code taken once, outside the loop.
# exp() of a large argument gives inf, never NaN: 1 / (1 + inf) = 0, so the
# sigmoid below saturates cleanly on both sides.
from cython cimport floating
from libc.math cimport exp, expf, expm1, expm1f, log1p, log1pf, tanh, tanhf

cdef extern from "fast_math.h" nogil:
    void fr_sigmoid_f32(float* v, Py_ssize_t n)
    void fr_tanh_f32(float* v, Py_ssize_t n)
    void fr_sigmoid_f64(double* v, Py_ssize_t n)
    void fr_tanh_f64(double* v, Py_ssize_t n)

cdef enum:
    ACT_LINEAR = 0
    ACT_TANH = 1
    ACT_SIGMOID = 2
    ACT_HARD_SIGMOID = 3
    ACT_RELU = 4
    ACT_ELU = 5
    ACT_SELU = 6
    ACT_SOFTPLUS = 7
    ACT_SOFTSIGN = 8
    ACT_EXPONENTIAL = 9
    ACT_SWISH = 10
    ACT_COUNT = 11

cdef extern from *:
    """
    #define FASTRNN_SELU_ALPHA 1.6732632423543772848170429916717
    #define FASTRNN_SELU_SCALE 1.0507009873554804934193349852946
    """
    const double SELU_ALPHA "FASTRNN_SELU_ALPHA"
    const double SELU_SCALE "FASTRNN_SELU_SCALE"


cdef inline floating _exp(floating x) noexcept nogil:
    if floating is float:
        return expf(x)
    else:
        return exp(x)


cdef inline floating _expm1(floating x) noexcept nogil:
    if floating is float:
        return expm1f(x)
    else:
        return expm1(x)


cdef inline floating _tanh(floating x) noexcept nogil:
    if floating is float:
        return tanhf(x)
    else:
        return tanh(x)


cdef inline floating _log1p(floating x) noexcept nogil:
    if floating is float:
        return log1pf(x)
    else:
        return log1p(x)


cdef inline floating sigmoid(floating x) noexcept nogil:
    """1 / (1 + exp(-x)); exp overflows to inf for x << 0, giving exactly 0."""
    return 1 / (1 + _exp(-x))


cdef inline void activate(int code, floating* v, Py_ssize_t n) noexcept nogil:
    """v[:n] = act(v[:n]) for the activation numbered ``code``."""
    cdef Py_ssize_t j
    cdef floating x, zero = 0, one = 1
    if code == ACT_LINEAR:
        return
    elif code == ACT_TANH:
        if floating is float:
            fr_tanh_f32(v, n)
        else:
            fr_tanh_f64(v, n)
    elif code == ACT_SIGMOID:
        if floating is float:
            fr_sigmoid_f32(v, n)
        else:
            fr_sigmoid_f64(v, n)
    elif code == ACT_HARD_SIGMOID:  # clip(0.2 x + 0.5, 0, 1)
        for j in range(n):
            x = <floating>0.2 * v[j] + <floating>0.5
            v[j] = zero if x < zero else (one if x > one else x)
    elif code == ACT_RELU:
        for j in range(n):  # NaN stays NaN, as max(x, 0) in NumPy
            v[j] = zero if v[j] < zero else v[j]
    elif code == ACT_ELU:  # x if x > 0 else exp(x) - 1
        for j in range(n):
            if not v[j] > zero:
                v[j] = _expm1(v[j])
    elif code == ACT_SELU:  # scale * (x if x > 0 else alpha * (exp(x) - 1))
        for j in range(n):
            x = v[j]
            if x > zero:
                v[j] = <floating>SELU_SCALE * x
            else:
                v[j] = <floating>(SELU_SCALE * SELU_ALPHA) * _expm1(x)
    elif code == ACT_SOFTPLUS:  # log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))
        for j in range(n):
            x = v[j]
            if x > zero:
                v[j] = x + _log1p(_exp(-x))
            else:
                v[j] = _log1p(_exp(x))
    elif code == ACT_SOFTSIGN:  # x / (1 + |x|)
        for j in range(n):
            x = v[j]
            v[j] = x / (one + (x if x > zero else -x))
    elif code == ACT_EXPONENTIAL:
        for j in range(n):
            v[j] = _exp(v[j])
    elif code == ACT_SWISH:  # x * sigmoid(x)
        for j in range(n):
            v[j] = v[j] * sigmoid(v[j])
