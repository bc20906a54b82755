"""fastocr: fast text-line OCR, the crnn_seq2seq_ocr_pytorch recognizer made fast, exact and usable.

>>> import fastocr                                                        # doctest: +SKIP
>>> [r.text for r in fastocr.recognize_batch(["line.png"], model="model.safetensors")]   # doctest: +SKIP
['Hello']
"""

from ._ext import backend_info
from .alphabet import Alphabet
from .config import ModelConfig
from .errors import FastOCRError, ImageError, ModelFileError, OptionError
from .recognizer import Candidate, Recognition, Recognizer, recognize_batch

__version__ = "0.1.0"

__all__ = [
    "Alphabet",
    "Candidate",
    "FastOCRError",
    "ImageError",
    "ModelConfig",
    "ModelFileError",
    "OptionError",
    "Recognition",
    "Recognizer",
    "backend_info",
    "recognize_batch",
]
