"""The inference engine: ``Recognizer`` and ``recognize_batch`` over the model, the ops and the decode loops."""

from .cache import read, recognize_batch
from .recognizer import Recognizer
from .results import Candidate, Recognition

__all__ = ["Candidate", "Recognition", "Recognizer", "read", "recognize_batch"]
