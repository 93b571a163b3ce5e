# Row-major BLAS on fused float32/float64, over scipy.linalg.cython_blas.
#
# This is the only place fastrnn calls BLAS.  BLAS is column-major; a row-major
# matrix A (M, K) with row stride lda is the column-major matrix A^T (K, M) with
# leading dimension lda.  So the row-major product C = A @ B is computed as the
# column-major product C^T = B^T @ A^T by swapping the operands: no data is
# transposed.  Callers check that every dimension and stride fits in a C int.
from cython cimport floating
from scipy.linalg.cython_blas cimport sgemm, dgemm, sgemv, dgemv


cdef inline void gemm_rm(int m, int n, int k, floating alpha,
                         const floating* a, int lda, const floating* b, int ldb,
                         floating beta, floating* c, int ldc) noexcept nogil:
    """C(m, n) = alpha * A(m, k) @ B(k, n) + beta * C, all row-major."""
    cdef char no_trans = b'N'
    if floating is float:
        sgemm(&no_trans, &no_trans, &n, &m, &k, &alpha, <float*>b, &ldb,
              <float*>a, &lda, &beta, c, &ldc)
    else:
        dgemm(&no_trans, &no_trans, &n, &m, &k, &alpha, <double*>b, &ldb,
              <double*>a, &lda, &beta, c, &ldc)


cdef inline void gemm_cm(char trans_a, char trans_b, int m, int n, int k, floating alpha,
                         const floating* a, int lda, const floating* b, int ldb,
                         floating beta, floating* c, int ldc) noexcept nogil:
    """C(m, n) = alpha * op(A) @ op(B) + beta * C, column-major, op = 'N' or 'T'."""
    if floating is float:
        sgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <float*>a, &lda,
              <float*>b, &ldb, &beta, c, &ldc)
    else:
        dgemm(&trans_a, &trans_b, &m, &n, &k, &alpha, <double*>a, &lda,
              <double*>b, &ldb, &beta, c, &ldc)


cdef inline void gemv_rm(int n, int k, floating alpha, const floating* x,
                         const floating* b, int ldb, floating beta,
                         floating* y) noexcept nogil:
    """y(n) = alpha * x(k) @ B(k, n) + beta * y, B row-major (one-row GEMM)."""
    cdef char no_trans = b'N'
    cdef int one = 1
    if floating is float:
        sgemv(&no_trans, &n, &k, &alpha, <float*>b, &ldb, <float*>x, &one,
              &beta, y, &one)
    else:
        dgemv(&no_trans, &n, &k, &alpha, <double*>b, &ldb, <double*>x, &one,
              &beta, y, &one)


cdef inline void matmul_rm(int m, int n, int k, const floating* a, int lda,
                           const floating* b, int ldb, floating beta,
                           floating* c, int ldc) noexcept nogil:
    """C = A @ B + beta * C; a single row goes through GEMV."""
    if m == 1:
        gemv_rm(n, k, <floating>1, a, b, ldb, beta, c)
    else:
        gemm_rm(m, n, k, <floating>1, a, lda, b, ldb, beta, c, ldc)
