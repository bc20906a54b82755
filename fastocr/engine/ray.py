"""Batch recognition of many images with Ray Data, resumable.

Ray Data reads the images (local paths, or any filesystem it reads: ``s3://``, ``gs://``, ...), runs one
``Recognizer`` per actor (one per GPU, or CPU actors), and writes one row per input (path, text, confidence,
error) as Parquet or JSON Lines files into an output folder. A rerun skips the paths already written there,
so an interrupted job finishes without duplicates; inputs go in chunks, each written before the next
starts. Ray is an optional extra: ``pip install fastocr[ray]``.
"""

from __future__ import annotations

import glob
import math
import os
import time

from ..checkpoint import load_model, resolve_model
from ..errors import OptionError
from ..files import image_files

COLUMNS = ("path", "text", "confidence", "error")


def _require_ray():
    try:
        import ray
        import ray.data
    except ImportError as e:
        raise SystemExit("fastocr ray-recognize needs Ray Data: pip install 'fastocr[ray]'") from e
    return ray


class _RecognizeBatch:
    """A Ray actor: loads the model once, then recognises batches of encoded images."""

    def __init__(self, model: str | None, device: str | None, beam_size: int, batch_size: int):
        from .recognizer import Recognizer  # in the actor's process

        self.rec = Recognizer.load(model, device=device)
        self.beam_size, self.batch_size = beam_size, batch_size

    def __call__(self, batch: dict) -> dict:
        paths = [str(p) for p in batch["path"]]
        results = self.rec.recognize([bytes(b) for b in batch["bytes"]], beam_size=self.beam_size,
                                     batch_size=self.batch_size)
        return {"path": paths, "text": [r.text for r in results],
                "confidence": [float(r.confidence) for r in results],
                "error": [r.error or "" for r in results]}


def done_paths(output: str, fmt: str) -> set[str]:
    """Paths already recognised by earlier runs into ``output``."""
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    files = sorted(glob.glob(os.path.join(output, "*.parquet" if fmt == "parquet" else "*.json*")))
    done: set[str] = set()
    for f in files:
        table = pq.read_table(f, columns=["path"]) if fmt == "parquet" else pj.read_json(f).select(["path"])
        done.update(table.column("path").to_pylist())
    return done


def _inputs(items: list[str]) -> list[str]:
    """Local folders become their image files; files and remote URIs (s3://...) pass through to Ray. A local
    path that does not exist, or no image at all, is an error before Ray starts."""
    out = []
    for item in items:
        if "://" not in item and not os.path.exists(item):
            raise OptionError(f"{item}: no such file or folder")
        if "://" not in item and os.path.isdir(item):
            out.extend(os.path.abspath(f) for f in image_files(item))
        else:
            out.append(item if "://" in item else os.path.abspath(item))
    if not out:
        raise OptionError(f"no image files in {', '.join(items)}")
    return sorted(out)


def _key(path: str) -> str:
    """How Ray Data names an input in its path column: a local path as given (absolute), a URI without its scheme
    (``s3://bucket/x.png`` -> ``bucket/x.png``), so reruns recognise remote inputs they already wrote."""
    return path.split("://", 1)[1] if "://" in path else path


def ray_recognize(inputs: list[str], output: str, model: str | None = None, *, fmt: str = "parquet",
                  actors: int | None = None, batch_size: int = 64, beam_size: int = 1, gpus_per_actor: float = 0.0,
                  cpus_per_actor: float = 1.0, address: str | None = None, chunk: int = 10_000) -> dict:
    """Recognises ``inputs`` into ``output``; returns counts (inputs, skipped, written, errors, seconds).

    ``actors``: default as many as the cluster's CPUs (and GPUs, with ``gpus_per_actor``) hold while one CPU stays
    free to read the images. ``chunk``: inputs per Ray job; each chunk's rows are written before the next starts,
    so an interrupted run keeps what it finished and a rerun does the rest."""
    ray = _require_ray()
    if fmt not in ("parquet", "jsonl"):
        raise OptionError(f"fmt must be parquet or jsonl, got {fmt!r}")
    if chunk < 1:
        raise OptionError(f"chunk must be >= 1, got {chunk}")
    paths = _inputs(inputs)
    load_model(resolve_model(model))  # a bad model file fails here, not in every actor
    os.makedirs(output, exist_ok=True)
    done = done_paths(output, fmt)
    todo = [p for p in paths if _key(p) not in done]
    stats = {"inputs": len(paths), "skipped": len(paths) - len(todo), "written": 0, "errors": 0, "seconds": 0.0}
    if not todo:
        return stats
    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    resources = ray.cluster_resources()
    cpus = resources.get("CPU", 0)
    if actors is None:
        actors = math.floor((cpus - 1) / cpus_per_actor)
        if gpus_per_actor:
            actors = min(actors, int(resources.get("GPU", 0) // gpus_per_actor))
        if actors < 1:
            raise OptionError(f"the Ray cluster's {cpus:g} CPUs (and {resources.get('GPU', 0):g} GPUs) hold no "
                              f"actor of {cpus_per_actor} CPU (and {gpus_per_actor} GPU) with a CPU left to read "
                              "the images: lower --cpus-per-actor / --gpus-per-actor")
    if actors * cpus_per_actor > cpus - 1:
        raise OptionError(f"{actors} actors x {cpus_per_actor} CPU of the Ray cluster's {cpus:g} leave less than one "
                          "CPU to read the images (the job would stall): use fewer actors or a smaller "
                          "--cpus-per-actor")
    t0 = time.time()
    for start in range(0, len(todo), chunk):
        ds = ray.data.read_binary_files(todo[start : start + chunk], include_paths=True)
        ds = ds.map_batches(
            _RecognizeBatch, fn_constructor_args=(model, "cuda" if gpus_per_actor else "cpu", beam_size, batch_size),
            batch_size=batch_size, concurrency=actors, num_gpus=gpus_per_actor, num_cpus=cpus_per_actor,
        )
        ds = ds.materialize()  # one chunk's rows, counted once they are computed
        (ds.write_parquet if fmt == "parquet" else ds.write_json)(output)
        stats["written"] += ds.count()
        stats["errors"] += sum(1 for e in ds.select_columns(["error"]).iter_rows() if e["error"])
    stats["seconds"] = round(time.time() - t0, 2)
    return stats
