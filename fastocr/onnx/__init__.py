"""ONNX export and the ONNX Runtime backend: ``export`` (graphs), ``manifest`` (the JSON beside them),
``quantize`` (int8 encoder), ``runtime`` (sessions and the decoder step the engine drives)."""

from .export import export_onnx
from .manifest import is_exported
from .runtime import OrtModel

__all__ = ["OrtModel", "export_onnx", "is_exported"]
