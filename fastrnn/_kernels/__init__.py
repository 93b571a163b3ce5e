"""Compiled kernels: BLAS wrappers, activations, whole-sequence recurrent kernels."""
