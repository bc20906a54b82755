"""``fastocr-onnx.json``: what an exported folder's graphs need around them, for fastocr and for anyone else.

It holds the model config, the alphabet (class i + 2 is character i; 0 is SOS, 1 is EOS), the preprocessing
constants and the decoding loop's settings, in words a reader of the JSON alone can follow.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ..alphabet import EOS_TOKEN, NUM_SPECIAL, SOS_TOKEN, Alphabet
from ..config import ModelConfig
from ..errors import FastOCRError, ModelFileError, OptionError
from ..files import atomic_write_bytes
from ..model import cnn_receptive_field

FILE = "fastocr-onnx.json"
ENCODER = "encoder.onnx"
ENCODER_INT8 = "encoder.int8.onnx"
DECODER_STEP = "decoder_step.onnx"
FORMAT = "fastocr-onnx"
VERSION = 2  # 2: a fixed-width model's encoder takes first_pad (version 1 folders still read)
READS = (1, 2)
PRECISIONS = ("fp32", "int8")


@dataclass(frozen=True)
class Manifest:
    """An exported folder, read and checked."""

    folder: Path
    config: ModelConfig
    alphabet: Alphabet
    has_int8: bool

    def encoder_path(self, precision: str) -> Path:
        if precision not in PRECISIONS:
            raise OptionError(f"precision for backend='onnxruntime' must be one of {', '.join(PRECISIONS)}, "
                              f"got {precision!r}")
        if precision == "int8" and not self.has_int8:
            raise ModelFileError(str(self.folder), "has no int8 encoder; export it with "
                                 "`fastocr export MODEL --onnx FOLDER --int8`")
        return self.folder / (ENCODER_INT8 if precision == "int8" else ENCODER)

    @property
    def step_path(self) -> Path:
        return self.folder / DECODER_STEP


def _describe(config: ModelConfig) -> dict:
    """The preprocessing and decoding rules, spelled out for readers of the JSON."""
    left, right = cnn_receptive_field()  # the formulas of model.padding_extent
    canvas = (f"the next multiple of {config.width_bucket} px (lines of a batch share one canvas width)"
              if config.variable_width else f"{config.img_width} px")
    return {
        "preprocessing": {
            "colour": "RGB, uint8",
            "resize": f"cv2.resize INTER_LINEAR to height {config.img_height} and width max(1, int(w * "
                      f"{config.img_height} / h)), squashed to {config.img_width} px when wider",
            "canvas": f"right-padded with zeros to {canvas}",
            "normalise": "float32 (x / 255 - 0.5) / 0.5, so padding reads -1",
            "layout": "NCHW: images [batch, 3, height, width]",
            "first_pad": None if config.variable_width else
                         "encoder input, int64 [batch]: columns (the encoder's T) to read whole canvases; or, to "
                         f"skip the padding, floor((w + {left + 3}) / 4) for a line w px wide, with the images cut "
                         f"to any width from 4 * first_pad + {right - 3} px (at most the canvas): the columns from "
                         "first_pad on "
                         "see padding alone and are the same in every line",
        },
        "decoding": {
            "start": f"tokens = {SOS_TOKEN} (SOS), hidden = zeros [rows, {config.hidden_size}]",
            "step": "decoder_step(tokens, hidden, encoder outputs) -> logp, best, best_logp, hidden_out; "
                    "feed best (greedy) as the next tokens and hidden_out as the next hidden",
            "stop": f"a line ends at its first {EOS_TOKEN} (EOS), or after {config.max_decode_len} steps "
                    "(config.max_decode_len)",
            "lengths": "additive attention: lengths = min(floor(line width in px / 4) + 1, columns), the "
                       "encoder columns that see the line's own pixels" if config.variable_width else None,
            "text": f"class i >= {NUM_SPECIAL} is alphabet[i - {NUM_SPECIAL}]",
            "confidence": "the product of the chosen tokens' probabilities, EOS included",
        },
    }


def write(folder: Path, config: ModelConfig, alphabet: Alphabet, int8: bool) -> None:
    doc = {"format": FORMAT, "version": VERSION, "fastocr": __version__, "config": config.to_dict(),
           "alphabet": alphabet.chars,
           "graphs": {"encoder": ENCODER, "encoder_int8": ENCODER_INT8 if int8 else None,
                      "decoder_step": DECODER_STEP},
           **_describe(config)}
    atomic_write_bytes(folder / FILE, json.dumps(doc, indent=1, ensure_ascii=False).encode("utf-8"))


def is_exported(path: str | os.PathLike) -> bool:
    return Path(path, FILE).is_file()


def read(folder: str | os.PathLike) -> Manifest:
    """Reads and checks an exported folder; raises ModelFileError naming what is wrong."""
    folder = Path(folder)
    name = str(folder)
    try:
        doc = json.loads(Path(folder, FILE).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise ModelFileError(name, f"not an exported fastocr model (no {FILE}); make one with "
                             "`fastocr export MODEL --onnx FOLDER`") from e
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ModelFileError(name, f"{FILE} is unreadable ({e})") from e
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ModelFileError(name, f"{FILE} is not a fastocr ONNX manifest")
    if doc.get("version") not in READS:
        raise ModelFileError(name, f"{FILE} has format version {doc.get('version')!r}; this fastocr reads "
                             f"version {VERSION} (export the model again with this fastocr)")
    try:
        config = ModelConfig.from_dict(doc["config"])
        alphabet = Alphabet(doc["alphabet"])
        has_int8 = bool(doc["graphs"]["encoder_int8"])
    except (KeyError, TypeError, FastOCRError) as e:
        raise ModelFileError(name, f"{FILE} is invalid ({e})") from e
    manifest = Manifest(folder, config, alphabet, has_int8)
    for path in [manifest.encoder_path("fp32"), manifest.step_path] + ([folder / ENCODER_INT8] if has_int8 else []):
        if not path.is_file():
            raise ModelFileError(name, f"{path.name} is missing (the folder is incomplete: export it again)")
    return manifest
