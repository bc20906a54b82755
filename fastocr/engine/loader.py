"""Loading lines in worker threads while the model reads the previous chunk (PIL and OpenCV release the GIL
while they decode and resize), so a long stream of files keeps the model busy with bounded memory."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from torch.profiler import record_function

from ..config import ModelConfig
from ..errors import ImageError
from .preprocess import ImageInput, describe, load_rgb, pad_line, padded_width, resize_line

Loaded = tuple[str, "np.ndarray | ImageError", int]  # (source name, padded line or its error, the line's width)


def load_line(image: ImageInput, index: int, config: ModelConfig,
              background: tuple[int, int, int] | None = None) -> Loaded:
    """(source name, resized line padded to its canvas width, the line's own width), or (source name,
    ImageError, 0): never raises for a bad image. Padding here, in the loader threads, leaves ``to_batch``
    one copy to make on the calling thread. ``background``: see ``preprocess.load_rgb``."""
    source = describe(image, index)
    try:
        line = resize_line(load_rgb(image, source, background), config.img_height, config.img_width)
    except ImageError as e:
        return source, e, 0
    except Exception as e:  # noqa: BLE001 -- whatever breaks on one input costs that input only, never the call
        return source, ImageError(source, f"could not be read ({type(e).__name__}: {e})"), 0
    bucket = config.width_bucket if config.variable_width else None
    return source, pad_line(line, padded_width(line.shape[1], config.img_width, bucket)), line.shape[1]


def loaded_chunks(images: Iterable[ImageInput], chunk: int, workers: int,
                  load: Callable[[ImageInput, int], Loaded]) -> Iterator[list[Loaded]]:
    """The images loaded ``chunk`` at a time, in input order; each chunk is yielded after the next one has been
    submitted, so it loads while the caller works. Closing the generator drops the queued loads."""
    numbered = enumerate(images)
    pool = ThreadPoolExecutor(workers)

    def submit():
        return [pool.submit(load, image, i) for i, image in itertools.islice(numbered, chunk)]

    try:
        pending = submit()
        while pending:
            with record_function("fastocr.load"):
                loaded = [f.result() for f in pending]
            pending = submit()  # the next chunk loads while this one is decoded
            yield loaded
    finally:  # also when the consumer stops early: drop the queued loads, do not wait for them
        pool.shutdown(wait=False, cancel_futures=True)
