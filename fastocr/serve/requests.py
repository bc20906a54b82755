"""Reading a ``/v1/recognize`` request: its images and decoding options, checked before anything is queued.

Two encodings, the same fields: JSON ``{"images": ["<base64>", ...], "beam_size": 5, ...}``, or multipart form
data with one or more ``images`` file parts and the options as form fields (``lexicon``: one word per line).
A request the server cannot take is a ``RequestError`` with its HTTP status: 413 past the size limits, 422
for a malformed body, an unknown option, a bad value, or an image past the pixel limit.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass

from PIL import Image, UnidentifiedImageError

from ..engine.constraints import compile_constraint
from ..engine.options import DecodeOptions
from ..errors import FastOCRError

# option -> parser of its value (JSON values as they come; form fields arrive as strings)
OPTIONS = {
    "beam_size": int,
    "num_hypotheses": int,
    "length_penalty": float,
    "max_len": int,
    "allowed_chars": str,
    "lexicon": lambda v: [w for w in v.splitlines() if w] if isinstance(v, str) else list(v),
}


class RequestError(Exception):
    def __init__(self, status: int, message: str):
        self.status = status
        self.message = message
        super().__init__(message)


@dataclass(frozen=True)
class Limits:
    """What one request may hold."""

    max_request_bytes: int = 32 * 2**20
    max_images: int = 256
    max_pixels: int = 16_000_000  # per image; a text line is far smaller, a phone photo about this big


def _option(name: str, value):
    if name not in OPTIONS:
        raise RequestError(422, f"unknown option {name!r}; known: images, {', '.join(OPTIONS)}")
    parse = OPTIONS[name]
    if parse in (int, float) and isinstance(value, bool):
        raise RequestError(422, f"option {name} must be a number, got {value!r}")
    try:
        return parse(value)
    except (TypeError, ValueError) as e:
        raise RequestError(422, f"option {name}: {value!r} is not a valid value") from e


def check_options(options: dict, recognizer) -> dict:
    """The options, checked as the engine would check them, so a bad one fails this request alone (422)."""
    try:
        DecodeOptions.check(recognizer.config.max_decode_len, **{k: v for k, v in options.items()
                                                                   if k not in ("allowed_chars", "lexicon")})
        compile_constraint(recognizer.alphabet, options.get("allowed_chars"), options.get("lexicon"), "cpu")
    except (FastOCRError, ValueError, TypeError) as e:
        raise RequestError(422, str(e)) from e
    return options


def _check_pixels(images: list[bytes], limits: Limits) -> None:
    """Images past the pixel limit are refused from their headers, before anything is decoded. Images that
    cannot be opened go on: the engine gives each its own error, and the request its other results."""
    for i, data in enumerate(images):
        try:
            with Image.open(io.BytesIO(data)) as image:
                w, h = image.size
        except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
            continue
        if w * h > limits.max_pixels:
            raise RequestError(422, f"image {i} has {w}x{h} pixels, over this server's limit of {limits.max_pixels}")


def parse_json(body: bytes) -> tuple[list[bytes], dict]:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise RequestError(422, f"the body is not JSON ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
        raise RequestError(422, 'the JSON body must be an object with "images": a list of base64 strings')
    images = []
    for i, item in enumerate(doc.pop("images")):
        if not isinstance(item, str):
            raise RequestError(422, f"images[{i}] must be a base64 string")
        try:
            images.append(base64.b64decode(item.split(",", 1)[-1] if item.startswith("data:") else item,
                                           validate=True))
        except (binascii.Error, ValueError) as e:
            raise RequestError(422, f"images[{i}] is not valid base64 ({e})") from e
    return images, {k: _option(k, v) for k, v in doc.items()}


async def parse_form(request, limits: Limits) -> tuple[list[bytes], dict]:
    try:
        form = await request.form(max_files=limits.max_images + 1)
    except Exception as e:  # noqa: BLE001 -- the multipart parser's own errors: a malformed body
        raise RequestError(422, f"the multipart body cannot be read ({e})") from e
    images, options = [], {}
    for name, value in form.multi_items():
        if name == "images":
            if not hasattr(value, "read"):
                raise RequestError(422, "each 'images' part must be a file")
            images.append(await value.read())
        elif value != "":  # an empty form field means the default
            options[name] = _option(name, value)
    return images, options


async def read_request(request, recognizer, limits: Limits) -> tuple[list[bytes], dict]:
    """(images as encoded bytes, decoding options) of a request, or a RequestError."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limits.max_request_bytes:
        raise RequestError(413, f"request of {int(declared)} bytes, over this server's limit of "
                                f"{limits.max_request_bytes}")
    kind = request.headers.get("content-type", "")
    if kind.startswith("multipart/form-data"):
        images, options = await parse_form(request, limits)
    elif kind.startswith("application/json"):
        body = await request.body()
        if len(body) > limits.max_request_bytes:
            raise RequestError(413, f"request of {len(body)} bytes, over this server's limit of "
                                    f"{limits.max_request_bytes}")
        images, options = parse_json(body)
    else:
        raise RequestError(422, "send application/json (base64 images) or multipart/form-data (image files)")
    if not images:
        raise RequestError(422, "the request holds no images")
    if len(images) > limits.max_images:
        raise RequestError(413, f"{len(images)} images in one request, over this server's limit of "
                                f"{limits.max_images}")
    _check_pixels(images, limits)
    return images, check_options(options, recognizer)
