"""Loading (and writing) the original checkpoints, and fastocr's own model file.

Original: ``encoder.pth`` + ``decoder.pth`` are bare state_dicts (keys in SPEC order) and the alphabet is a text
file. They load with ``torch.load(weights_only=True)``: tensors only, no code can run.

fastocr's model file is one safetensors file: the weights (keys ``encoder.*`` and ``decoder.decoder.*``) and,
in its string metadata, ``format = fastocr``, the format ``version``, the ``config`` and the ``alphabet`` as
JSON. safetensors holds no pickle, so loading a model file cannot execute anything.
"""

from __future__ import annotations

import io
import json
import os
import pickle
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as load_safetensors_bytes
from safetensors.torch import save as save_safetensors_bytes

from .alphabet import Alphabet
from .config import ModelConfig
from .errors import FastOCRError, ModelFileError
from .files import atomic_write_bytes
from .model import OCRModel

WEIGHTS = Path(__file__).parent / "weights"
BUNDLED = {"en": WEIGHTS / "default.safetensors", "zh": WEIGHTS / "zh.safetensors"}  # model="en" / "zh" name these
DEFAULT_MODEL = BUNDLED["en"]

MAX_ALPHABET = 100_000  # characters; the original's alphabet has 5,989
FORMAT_NAME = "fastocr"
FORMAT_VERSION = "1"


def _read_bytes(path: str | os.PathLike, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except FileNotFoundError as e:
        raise ModelFileError(os.fspath(path), f"{what} not found") from e
    except IsADirectoryError as e:
        raise ModelFileError(os.fspath(path), f"{what} is a directory") from e
    except OSError as e:
        raise ModelFileError(os.fspath(path), f"cannot read the {what} ({e.strerror or e})") from e


def load_state_dict(path: str | os.PathLike, what: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Loads a torch state_dict safely (``weights_only=True``); every failure becomes a ModelFileError."""
    data = _read_bytes(path, what)
    if not data.startswith((b"PK\x03\x04", b"\x80")):  # torch.save writes a zip archive; older torch a pickle
        raise ModelFileError(os.fspath(path), f"not a PyTorch {what} (neither a zip archive nor a pickle: it begins "
                                              f"{data[:8]!r})")
    try:
        sd = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise ModelFileError(
            os.fspath(path),
            f"refused to load the {what}: it holds Python objects other than tensors, which could run code "
            f"when unpickled ({str(e).splitlines()[0] if str(e) else 'weights_only load failed'})",
        ) from e
    except (RuntimeError, EOFError, ValueError, OSError, KeyError) as e:
        raise ModelFileError(os.fspath(path), f"not a readable PyTorch {what} (corrupt or truncated?): {e}") from e
    if not isinstance(sd, dict) or not all(isinstance(v, torch.Tensor) for v in sd.values()):
        raise ModelFileError(os.fspath(path), f"the {what} is not a state_dict (a dict of tensors)")
    return sd


def _check_state_dict(model: torch.nn.Module, sd: dict[str, torch.Tensor], path: str) -> None:
    """Checks that ``sd`` fits ``model`` exactly, explaining every missing, unexpected or mis-shaped key."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in sd and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in sd if k not in expected]
    wrong = [f"{k}: file {tuple(sd[k].shape)} vs model {tuple(v.shape)}"
             for k, v in expected.items() if k in sd and sd[k].shape != v.shape]
    problems = []
    if wrong:
        problems.append("shapes differ: " + "; ".join(wrong[:8]) + (" ..." if len(wrong) > 8 else ""))
    if missing:
        problems.append(f"missing keys: {', '.join(missing[:8])}" + (" ..." if len(missing) > 8 else ""))
    if unexpected:
        problems.append(f"unexpected keys: {', '.join(unexpected[:8])}" + (" ..." if len(unexpected) > 8 else ""))
    if problems:
        raise ModelFileError(path, "does not match the architecture: " + " | ".join(problems))


def _infer_original_config(dec: dict[str, torch.Tensor], alphabet: Alphabet, path: str, base: ModelConfig):
    """Reads hidden size and slot count from the decoder weights, and checks the class count against the alphabet."""
    emb, attn = dec.get("decoder.embedding.weight"), dec.get("decoder.attn.weight")
    if emb is None or attn is None or emb.dim() != 2 or attn.dim() != 2:
        raise ModelFileError(path, "not an original decoder.pth: decoder.embedding.weight / decoder.attn.weight "
                                   "missing (keys start with 'decoder.' in the original layout)")
    if emb.shape[0] != alphabet.num_classes:
        raise ModelFileError(
            path,
            f"the decoder has {emb.shape[0]} classes but the alphabet gives {alphabet.num_classes} "
            f"({len(alphabet)} characters + SOS + EOS): wrong alphabet file for this checkpoint?",
        )
    slots = attn.shape[0]
    return base.replace(hidden_size=emb.shape[1], img_width=(slots - 1) * 4)


def load_original(
    encoder_path: str | os.PathLike,
    decoder_path: str | os.PathLike,
    alphabet_path: str | os.PathLike,
    config: ModelConfig | None = None,
) -> tuple[OCRModel, Alphabet, ModelConfig]:
    """Builds a model from the original project's ``encoder.pth``, ``decoder.pth`` and alphabet file.

    Hidden size and the attention width (hence the input width, 280 for 71 slots) are read from the weights.
    """
    alphabet = Alphabet.from_file(alphabet_path)
    enc_sd = load_state_dict(encoder_path, "encoder checkpoint")
    dec_sd = load_state_dict(decoder_path, "decoder checkpoint")
    if any(k.startswith("decoder.") for k in enc_sd) and not any(k.startswith("decoder.") for k in dec_sd):
        raise ModelFileError(os.fspath(encoder_path), "looks like a decoder checkpoint: encoder and decoder swapped?")
    config = _infer_original_config(dec_sd, alphabet, os.fspath(decoder_path), config or ModelConfig())
    parts = {"encoder": (enc_sd, os.fspath(encoder_path)), "decoder": (dec_sd, os.fspath(decoder_path))}
    return _build(config, alphabet.num_classes, parts), alphabet, config


def save_original(folder: str | os.PathLike, model: OCRModel, alphabet: Alphabet) -> dict[str, Path]:
    """Writes a model in the original project's layout: ``encoder.pth`` and ``decoder.pth`` (bare float32
    state_dicts, the keys of SPEC §1.4) and ``alphabet.txt`` (a character a line), each atomically.

    The original reads them with ``--img_width`` = the model's input width and ``--max_width`` = its slots
    (280 and 71 by default), greedily and for at most 20 steps. Only models of its architecture qualify: slot
    attention, and an alphabet without whitespace (its loader strips each line).

    Returns:
        the three paths by name (``encoder``, ``decoder``, ``alphabet``).

    Raises:
        FastOCRError: the model or its alphabet cannot be expressed in the original layout.
    """
    config = model.config
    if config.attention != "slot":
        raise FastOCRError(f"the original project has only the fixed-slot attention; this model uses "
                           f"{config.attention!r} attention (train with --attention slot to export it)")
    if any(c.isspace() for c in alphabet.chars):
        raise FastOCRError("the alphabet holds whitespace, which the original's alphabet file cannot carry (it "
                           "strips each line): train on an alphabet without spaces to export it")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {"encoder": folder / "encoder.pth", "decoder": folder / "decoder.pth", "alphabet": folder / "alphabet.txt"}
    for part in ("encoder", "decoder"):
        sd = {k: v.detach().float().cpu().contiguous() if v.is_floating_point() else v.detach().cpu()
              for k, v in model.get_submodule(part).state_dict().items()}
        buf = io.BytesIO()
        torch.save(sd, buf)
        atomic_write_bytes(paths[part], buf.getvalue())
    atomic_write_bytes(paths["alphabet"], "".join(c + "\n" for c in alphabet.chars).encode("utf-8"))
    return paths


def save_model(
    path: str | os.PathLike, model: OCRModel, alphabet: Alphabet, dtype: torch.dtype | None = None
) -> None:
    """Writes a fastocr model file atomically (temp file in the same folder, fsync, rename).

    Args:
        dtype: cast floating-point weights (e.g. ``torch.float16`` to halve the file); None keeps them.
    """
    tensors = {
        k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).detach().cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    metadata = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "config": json.dumps(model.config.to_dict()),
        "alphabet": json.dumps(alphabet.chars, ensure_ascii=False),
    }
    atomic_write_bytes(path, save_safetensors_bytes(tensors, metadata=metadata))


def _read_metadata(data: bytes, path: str) -> dict[str, str]:
    """The safetensors header's __metadata__ (the header is 8 bytes of length, then JSON)."""
    try:
        n = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + n])
    except (ValueError, UnicodeDecodeError) as e:
        raise ModelFileError(path, f"not a fastocr model file (unreadable safetensors header: {e})") from e
    meta = header.get("__metadata__") if isinstance(header, dict) else None
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise ModelFileError(path, "not a fastocr model file (its safetensors metadata is not a map of strings)")
    return meta


def _fastocr_metadata(data: bytes, spath: str) -> dict[str, str]:
    """A model file's metadata, once its format and version are checked."""
    if len(data) < 8:
        raise ModelFileError(spath, f"not a fastocr model file (only {len(data)} bytes)")
    meta = _read_metadata(data, spath)
    if meta.get("format") != FORMAT_NAME:
        raise ModelFileError(spath, "not a fastocr model file (no 'format: fastocr' in its metadata); for the "
                                    "original encoder.pth/decoder.pth use --encoder/--decoder/--alphabet")
    if meta.get("version") != FORMAT_VERSION:
        raise ModelFileError(spath, f"model format version {meta.get('version')!r}; this fastocr reads "
                                    f"{FORMAT_VERSION!r}")
    return meta


def bundled_models() -> dict[str, Path]:
    """The bundled models this installation has, by name (``model="zh"``)."""
    return {name: path for name, path in BUNDLED.items() if path.exists()}


def resolve_model(model: str | os.PathLike | None) -> Path:
    """The file a model argument names: None is the bundled default, a bundled model's name (``"en"``, ``"zh"``,
    unless a file of that name exists here) its file, anything else a path."""
    if model is None:
        if not DEFAULT_MODEL.exists():
            raise FastOCRError("this fastocr has no bundled default model yet: pass a model file (fastocr convert "
                               "makes one from the original encoder.pth/decoder.pth) or use "
                               "Recognizer.from_original(...)")
        return DEFAULT_MODEL
    if isinstance(model, str) and model in BUNDLED and not Path(model).exists():
        if not BUNDLED[model].exists():
            have = ", ".join(bundled_models()) or "none"
            raise FastOCRError(f"model {model!r}: this fastocr does not bundle it (bundled models: {have}); pass a "
                               "model file instead")
        return BUNDLED[model]
    return Path(model)


def describe_model(path: str | os.PathLike) -> dict:
    """What a fastocr model file holds, from its metadata alone: architecture, alphabet size, file size."""
    spath = os.fspath(path)
    data = _read_bytes(path, "model file")
    meta = _fastocr_metadata(data, spath)
    try:
        config, chars = json.loads(meta["config"]), json.loads(meta["alphabet"])
    except (KeyError, ValueError) as e:
        raise ModelFileError(spath, f"model file metadata is invalid ({e})") from e
    return {"file": spath, "size_mb": round(len(data) / 2**20, 1), "characters": len(chars),
            "attention": config.get("attention"), "img_width": config.get("img_width"),
            "hidden_size": config.get("hidden_size")}


def load_model(path: str | os.PathLike) -> tuple[OCRModel, Alphabet, ModelConfig]:
    """Loads a fastocr model file written by ``save_model`` (or ``fastocr convert``)."""
    spath = os.fspath(path)
    data = _read_bytes(path, "model file")
    meta = _fastocr_metadata(data, spath)
    try:
        config = ModelConfig.from_dict(json.loads(meta["config"]))
        chars = json.loads(meta["alphabet"])
        if not isinstance(chars, str) or len(chars) > MAX_ALPHABET:
            raise ValueError(f"the alphabet must be a string of at most {MAX_ALPHABET} characters")
        alphabet = Alphabet(chars)
        tensors = load_safetensors_bytes(data)
    except SafetensorError as e:
        raise ModelFileError(spath, f"corrupt or truncated model file ({e})") from e
    except (KeyError, ValueError, TypeError, AttributeError, FastOCRError) as e:
        raise ModelFileError(spath, f"model file metadata is invalid ({e})") from e
    return _build(config, alphabet.num_classes, {"": (tensors, spath)}), alphabet, config


def _build(config: ModelConfig, num_classes: int, parts: dict[str, tuple[dict[str, torch.Tensor], str]]) -> OCRModel:
    """The model of ``config`` holding the weights of ``parts`` (submodule name -> (state_dict, its file)).

    The shapes are checked against a model on the meta device first, so a file that claims a huge architecture
    is refused before anything is allocated."""
    with torch.device("meta"):
        skeleton = OCRModel(config, num_classes)
    for name, (sd, path) in parts.items():
        _check_state_dict(skeleton.get_submodule(name) if name else skeleton, sd, path)
    model = OCRModel(config, num_classes)
    for name, (sd, _) in parts.items():
        (model.get_submodule(name) if name else model).load_state_dict(
            {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}, strict=False)
    return model.eval()
