"""Fused Triton kernels for the decoder step, installed as ``fastocr.kernels``.

Each kernel has a pure-PyTorch twin in ``fastocr/reference.py`` that parity tests compare it with.
"""
