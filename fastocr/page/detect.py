"""Finding text lines on a page: the PP-OCRv4 text detector (DB) and the PP-OCR 0/180 degree line classifier,
as ONNX graphs with their pre- and post-processing, from the ``rapidocr-onnxruntime`` wheel (Apache-2.0), run by
ONNX Runtime on the CPU. Nothing is downloaded: the graphs travel inside that wheel (``pip install
fastocr[page]``)."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

import cv2
import numpy as np

from ..errors import OptionError

EXTRA_HINT = "page mode needs the detector: pip install 'fastocr[page]' (rapidocr-onnxruntime, onnxruntime)"


def _rapidocr():
    """The rapidocr_onnxruntime package, or an error naming the extra that brings it."""
    try:
        import rapidocr_onnxruntime
        from rapidocr_onnxruntime.ch_ppocr_cls import TextClassifier
        from rapidocr_onnxruntime.ch_ppocr_det import TextDetector
        from rapidocr_onnxruntime.utils import read_yaml
    except ImportError as e:
        raise OptionError(f"{EXTRA_HINT} ({e})") from e
    return Path(rapidocr_onnxruntime.__file__).parent, TextDetector, TextClassifier, read_yaml


def detector_info() -> dict:
    """Whether page mode can run here, and with what (for ``fastocr info``)."""
    try:
        _rapidocr()
    except OptionError as e:
        return {"page_mode": False, "page_mode_reason": str(e)}
    return {"page_mode": True, "page_detector": f"rapidocr-onnxruntime {metadata.version('rapidocr-onnxruntime')} "
                                                "(PP-OCRv4 detection, PP-OCR mobile 0/180 classifier)"}


@dataclass(frozen=True)
class DetectorOptions:
    """How lines are found.

    Attributes:
        detect_side: the page's long side is scaled to at most this many pixels for detection (the lines are
            still cut from the full-resolution page); 2,000 is rapidocr's own default.
        box_threshold: the mean text probability inside a box it needs to count as a line (0-1).
        unclip_ratio: how far a box grows past the probability map's core (PP-OCR's 1.6: the core is shrunk in
            training); larger boxes keep ascenders and descenders.
        threads: ONNX Runtime threads (None: all cores).
    """

    detect_side: int = 2000
    box_threshold: float = 0.5
    unclip_ratio: float = 1.6
    threads: int | None = None

    def __post_init__(self):
        if self.detect_side < 32:
            raise OptionError(f"detect_side must be >= 32, got {self.detect_side}")
        if not 0.0 < self.box_threshold < 1.0:
            raise OptionError(f"box_threshold must be in (0, 1), got {self.box_threshold}")
        if self.unclip_ratio <= 0:
            raise OptionError(f"unclip_ratio must be > 0, got {self.unclip_ratio}")


class Detector:
    """Text-line boxes of a page, and which way up its lines are.

    >>> det = Detector()                                            # doctest: +SKIP
    >>> quads = det.detect(rgb)   # (N, 4, 2) float32, clockwise from the top-left, in page pixels
    """

    def __init__(self, options: DetectorOptions | None = None):
        self.options = options or DetectorOptions()
        root, text_detector, text_classifier, read_yaml = _rapidocr()
        config = read_yaml(str(root / "config.yaml"))
        threads = {"intra_op_num_threads": self.options.threads or -1, "inter_op_num_threads": -1,
                   "use_cuda": False, "use_dml": False}
        det = {**config["Det"], **threads, "model_path": str(root / config["Det"]["model_path"]),
               "box_thresh": self.options.box_threshold, "unclip_ratio": self.options.unclip_ratio}
        cls = {**config["Cls"], **threads, "model_path": str(root / config["Cls"]["model_path"])}
        self._det = text_detector(det)
        self._cls = text_classifier(cls)
        self.model_files = [os.path.basename(det["model_path"]), os.path.basename(cls["model_path"])]
        self._lock = threading.Lock()  # rapidocr's detector keeps per-call state on itself: one call at a time

    def detect(self, rgb: np.ndarray) -> np.ndarray:
        """Boxes of the text lines of an HxWx3 RGB page: (N, 4, 2) float32 quads in page pixels, each clockwise
        from its top-left corner (in the image's own frame, whichever way up the page is)."""
        h, w = rgb.shape[:2]
        scale = min(1.0, self.options.detect_side / max(h, w))
        small = rgb if scale == 1.0 else cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))),
                                                    interpolation=cv2.INTER_AREA)
        with self._lock:
            boxes, _ = self._det(np.ascontiguousarray(small[:, :, ::-1]))  # the detector was trained on BGR
        if boxes is None or len(boxes) == 0:
            return np.zeros((0, 4, 2), np.float32)
        return (np.asarray(boxes, np.float32).reshape(-1, 4, 2) / scale).astype(np.float32)

    def flip_votes(self, crops: list[np.ndarray]) -> list[float]:
        """For each RGB line crop, the classifier's vote that it is upside down: +score when it says 180 degrees,
        -score when it says upright, 0 when it is unsure (below its own 0.9 threshold)."""
        if not crops:
            return []
        with self._lock:
            _, results, _ = self._cls([np.ascontiguousarray(c[:, :, ::-1]) for c in crops])
        threshold = self._cls.cls_thresh
        return [0.0 if score < threshold else (float(score) if label == "180" else -float(score))
                for label, score in results]
