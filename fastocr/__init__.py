"""fastocr: fast text-line OCR, the crnn_seq2seq_ocr_pytorch recognizer made fast, exact and usable.

>>> import fastocr                                                        # doctest: +SKIP
>>> [r.text for r in fastocr.recognize_batch(["line.png"], model="model.safetensors")]   # doctest: +SKIP
['Hello']
>>> print(fastocr.read(["page.png"])[0].text)          # whole pages: pip install 'fastocr[page]'  # doctest: +SKIP
"""

from . import _moved
from ._version import __version__
from .alphabet import Alphabet
from .config import ModelConfig
from .engine import Candidate, Recognition, Recognizer, read, recognize_batch
from .errors import FastOCRError, ImageError, ModelFileError, OptionError
from .ops import backend_info
from .page import Page, PageLine, PageOptions

_moved.install()  # old module paths (fastocr.recognizer, ...) keep working for one release

__all__ = [
    "__version__",
    "Alphabet",
    "Candidate",
    "FastOCRError",
    "ImageError",
    "ModelConfig",
    "ModelFileError",
    "OptionError",
    "Page",
    "PageLine",
    "PageOptions",
    "Recognition",
    "Recognizer",
    "backend_info",
    "read",
    "recognize_batch",
]
