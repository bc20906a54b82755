"""Image loading and the original preprocessing, batched.

Per image, exactly as the original ``ResizeNormalize``: RGB uint8 -> height 32 with ``cv2.resize``
(INTER_LINEAR) at width ``int(W * 32 / H)`` -> squashed to 280 when that is >= 280, else pasted at the left of a
zero 32x280 canvas -> ``x / 255``, ``- 0.5``, ``/ 0.5`` in float32 (so padding reads -1). The canvas of a whole
batch is one uint8 array converted by one vectorised expression.

Variable-width models (additive attention) keep the same resize, with ``img_width`` as the widest line before
squashing, but pad each line only to the next multiple of ``width_bucket`` px (``padded_width``).

Differences, where the original crashed or ignored metadata: EXIF orientation is applied; images so tall that
the scaled width is 0 get width 1.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageError

ImageInput = str | os.PathLike | bytes | bytearray | memoryview | np.ndarray | Image.Image

# PIL's own decompression-bomb limit (about 89 Mpx) warns; fastocr refuses past it (a text line is never that big).
MAX_PIXELS = 89_478_485


def describe(image: Any, index: int) -> str:
    """A printable name for an input: its path, or its type and batch index."""
    if isinstance(image, (str, os.PathLike)):
        return os.fspath(image)
    return f"<{type(image).__name__} #{index}>"


def _open_pil(image: Any, source: str) -> Image.Image:
    """Opens and decodes one image. PIL's own bomb check (a warning past MAX_PIXELS) stays PIL's: fastocr refuses
    such images itself, without touching the process-wide warning filters (loader threads share them)."""
    try:
        if isinstance(image, (bytes, bytearray, memoryview)):
            pil = Image.open(io.BytesIO(bytes(image)))
        elif isinstance(image, Image.Image):
            pil = image
        else:
            pil = Image.open(Path(image))
        if pil.width * pil.height > MAX_PIXELS:
            raise ImageError(source, f"image has {pil.width}x{pil.height} pixels, over the {MAX_PIXELS} limit")
        pil.load()
        return ImageOps.exif_transpose(pil)
    except ImageError:
        raise
    except FileNotFoundError as e:
        raise ImageError(source, "no such file") from e
    except IsADirectoryError as e:
        raise ImageError(source, "is a directory, not an image file") from e
    except PermissionError as e:
        raise ImageError(source, "permission denied") from e
    except UnidentifiedImageError as e:
        raise ImageError(source, "not a readable image (unknown format or not an image file)") from e
    except Image.DecompressionBombError as e:
        raise ImageError(source, f"refused as a decompression bomb ({e})") from e
    except Exception as e:  # noqa: BLE001 -- a decoder plugin may raise anything (struct.error, ...) on bad data
        raise ImageError(source, f"corrupt or truncated image ({type(e).__name__}: {e})") from e


def _composite(rgba: np.ndarray, background: tuple[int, int, int] | None) -> np.ndarray:
    """HxWx4 -> HxWx3: alpha dropped (the original's convert("RGB")), or the pixels laid over ``background``."""
    if background is None:
        return rgba[:, :, :3]
    alpha = rgba[:, :, 3:4].astype(np.float32) / 255.0
    out = rgba[:, :, :3] * alpha + np.asarray(background, np.float32) * (1.0 - alpha)
    return np.rint(out).astype(np.uint8)


def _array_to_rgb(arr: np.ndarray, source: str, background: tuple[int, int, int] | None = None) -> np.ndarray:
    if arr.dtype != np.uint8:
        raise ImageError(source, f"arrays must be uint8 (0-255), got dtype {arr.dtype}")
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim == 2:
        arr = np.repeat(arr[:, :, None], 3, axis=2)  # grayscale -> RGB, as PIL's convert("RGB") does
    elif arr.ndim == 3 and arr.shape[2] in (3, 4):
        arr = _composite(arr, background) if arr.shape[2] == 4 else arr
    else:
        raise ImageError(source, f"arrays must be HxW, HxWx1, HxWx3 (RGB) or HxWx4 (RGBA), got shape {arr.shape}")
    return np.ascontiguousarray(arr)


def _has_alpha(pil: Image.Image) -> bool:
    return pil.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in pil.info


def _pil_to_rgb(pil: Image.Image, source: str, background: tuple[int, int, int] | None) -> np.ndarray:
    if pil.mode == "La":  # premultiplied alpha: PIL converts it to plain LA only
        pil = pil.convert("LA")
    if pil.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        # 16-bit or float grayscale: PIL's convert("RGB") clips at 255 (a white page) or truncates 0..1 floats
        # to black; scale to 8 bits instead
        values = np.nan_to_num(np.asarray(pil, dtype=np.float64))
        peak = 1.0 if pil.mode == "F" and values.max(initial=0.0) <= 1.0 else (255.0 if pil.mode == "F" else 65535.0)
        return _array_to_rgb((values * (255.0 / peak)).clip(0, 255).astype(np.uint8), source)
    if background is not None and _has_alpha(pil):
        return _composite(np.asarray(pil.convert("RGBA")), background)
    return np.asarray(pil.convert("RGB"))


def load_rgb(image: ImageInput, source: str = "<image>",
             background: tuple[int, int, int] | None = None) -> np.ndarray:
    """Decodes one input to an HxWx3 uint8 RGB array. Raises ImageError naming ``source``, whatever the fault.

    ``background``: the RGB colour transparent pixels are laid over (e.g. (255, 255, 255) for dark text on a
    transparent PNG); None drops alpha, as the original did (transparent pixels keep their stored colour,
    often black).
    """
    if isinstance(image, np.ndarray):
        arr = _array_to_rgb(image, source, background)
    elif isinstance(image, (str, os.PathLike, bytes, bytearray, memoryview, Image.Image)):
        pil = _open_pil(image, source)
        try:
            arr = _pil_to_rgb(pil, source, background)
        except ImageError:
            raise
        except Exception as e:  # noqa: BLE001 -- an image mode PIL cannot convert, or a broken plugin
            raise ImageError(source, f"cannot be converted to RGB (mode {pil.mode}: {type(e).__name__}: {e})") from e
    else:
        raise ImageError(
            source,
            f"unsupported input type {type(image).__name__}; "
            "pass a file path, encoded bytes, a numpy uint8 array or a PIL image",
        )
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ImageError(source, f"image is empty ({arr.shape[1]}x{arr.shape[0]} pixels)")
    return arr


def resize_line(rgb: np.ndarray, height: int = 32, width: int = 280) -> np.ndarray:
    """The original resize: (h, w, 3) -> (height, min(scaled, width), 3), squashing lines wider than ``width``."""
    h, w = rgb.shape[:2]
    scaled = max(1, int(w * height / h))  # int() floors, as the original; max(1, .) where it crashed
    return cv2.resize(rgb, (min(scaled, width), height))


def padded_width(line_width: int, width: int, bucket: int | None) -> int:
    """Canvas width of a resized line: the fixed ``width``, or (variable width) the next multiple of ``bucket``."""
    if bucket is None:
        return width
    return max(bucket, -(-line_width // bucket) * bucket)


def pad_line(line: np.ndarray, width: int) -> np.ndarray:
    """A resized line right-padded with zeros (-1 once normalised) to ``width`` columns; itself if that wide."""
    if line.shape[1] == width:
        return line
    out = np.zeros((line.shape[0], width, *line.shape[2:]), line.dtype)
    out[:, : line.shape[1]] = line
    return out


class PinnedCanvas:
    """A reusable page-locked host canvas for ``to_batch``'s uploads to a GPU. A fresh canvas per batch costs
    its page faults (about 20 ms for 1,024 lines on a lent H200's host) and a synchronous copy; this one is
    allocated once (grown when needed) and copied asynchronously. Before it is refilled, the previous upload
    is waited for (a CUDA event). ``pin=False`` (no CUDA) keeps the same bookkeeping in plain memory.

    A canvas above ``MAX_KEPT`` bytes is used once and not kept (a plain buffer, copied synchronously), so a
    long-lived process holds at most that much per thread, however large one call's batch was."""

    MAX_KEPT = 256 * 2**20  # 1,024 lines of 32 x 2,048 px are 200 MiB

    def __init__(self, pin: bool | None = None):
        self.pin = torch.cuda.is_available() if pin is None else pin
        self._buffer: torch.Tensor | None = None
        self._uploaded: torch.cuda.Event | None = None

    def take(self, shape: tuple[int, ...]) -> torch.Tensor:
        """A uint8 tensor of ``shape`` over the buffer, free to overwrite (contents undefined)."""
        if self._uploaded is not None:
            # its own profiler range: this wait can dominate fastocr.to_batch on a GPU (benchmarks/scripts/profile_e2e.py)
            with torch.profiler.record_function("fastocr.canvas_wait"):
                self._uploaded.synchronize()
            self._uploaded = None
        size = int(np.prod(shape))
        if size > self.MAX_KEPT:
            return torch.empty(shape, dtype=torch.uint8)
        if self._buffer is None or self._buffer.numel() < size:
            self._buffer = torch.empty(size, dtype=torch.uint8, pin_memory=self.pin)
        return self._buffer[:size].view(shape)

    def upload(self, canvas: torch.Tensor, device) -> torch.Tensor:
        if not (self.pin and torch.device(device).type == "cuda" and canvas.is_pinned()):
            return canvas.to(device, copy=True)  # the buffer is reused: never hand out a view of it
        x = canvas.to(device, non_blocking=True)
        self._uploaded = torch.cuda.Event()
        self._uploaded.record()
        return x


def fill_canvas(lines: list[np.ndarray], height: int, width: int, staging: PinnedCanvas | None = None
                ) -> torch.Tensor:
    """The lines, right-padded with zeros, in one uint8 (N, height, width, 3) canvas (``staging``'s if given).

    One torch call copies every line, with the GIL released throughout: a numpy copy per line gives the GIL
    back and has to win it again, line after line, against the loader threads (benchmarks/bench_to_batch.py).
    """
    shape = (len(lines), height, width, 3)
    canvas = torch.empty(shape, dtype=torch.uint8) if staging is None else staging.take(shape)
    if lines:
        torch.stack([torch.from_numpy(pad_line(line, width)) for line in lines], out=canvas)
    return canvas


def to_batch(lines: list[np.ndarray], height: int = 32, width: int = 280, device=None,
             channels_last: bool = False, staging: PinnedCanvas | None = None) -> torch.Tensor:
    """Resized lines -> normalised batch (N, 3, height, width) float32 in [-1, 1], right-padded with -1.

    The uint8 canvas travels to ``device`` and is normalised there (a quarter of the bytes to copy, and the
    float work on the GPU), with the original's operations in its order: (x / 255 - 0.5) / 0.5, so the values
    are the same bits on any device. ``channels_last`` returns the NCHW view of the NHWC canvas (what
    convolutions prefer on CPU); otherwise a contiguous NCHW batch, as the original's ToTensor gives (a
    channels-last batch makes oneDNN sum in another order: confidences move by up to 2e-5, relative).
    ``staging``: fill a reusable (pinned) canvas instead of a fresh one (``PinnedCanvas``). Lines already
    padded to ``width`` (``pad_line``, as the recognizer's loader threads do) are copied as they are.
    """
    canvas = fill_canvas(lines, height, width, staging)
    x = canvas.to(device) if staging is None else staging.upload(canvas, device)
    x = x.permute(0, 3, 1, 2)  # NCHW view of NHWC memory
    if not channels_last:
        x = x.contiguous()
    return x.float().div_(255).sub_(0.5).div_(0.5)


def preprocess(images: list[ImageInput], height: int = 32, width: int = 280) -> torch.Tensor:
    """Loads and preprocesses a list of inputs into one batch; the first bad input raises ImageError."""
    return to_batch([resize_line(load_rgb(im, describe(im, i)), height, width) for i, im in enumerate(images)],
                    height, width)
