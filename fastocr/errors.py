"""fastocr's exceptions: each names the input it is about, so a user can find the bad file at once."""


class FastOCRError(Exception):
    """Base class of every error fastocr raises on purpose."""


class ImageError(FastOCRError, ValueError):
    """An input image is missing, unreadable, corrupt, or of an unsupported type.

    Attributes:
        source: a printable name of the input (its path, or ``<bytes #3>`` / ``<ndarray #3>`` by batch index).
    """

    def __init__(self, source: str, reason: str):
        self.source = source
        self.reason = reason
        super().__init__(f"{source}: {reason}")


class OptionError(FastOCRError, ValueError):
    """An engine option is out of range or cannot run on this device (e.g. fp16 on a CPU)."""


class ModelFileError(FastOCRError, ValueError):
    """A model or checkpoint file is missing, corrupt, unsafe, or does not match the architecture/alphabet."""

    def __init__(self, path: str, reason: str):
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}")
