"""Ray Data batch recognition on a local Ray: every input gets exactly one row; a rerun resumes."""

import collections

import numpy as np
import pytest
import torch
from PIL import Image

ray = pytest.importorskip("ray")

from fastocr import Alphabet, ModelConfig, ModelFileError, OptionError, Recognizer
from fastocr.engine.ray import done_paths, ray_recognize
from fastocr.model import OCRModel
from fastocr.train.synth import ASCII_CHARSET


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    torch.manual_seed(0)
    model = OCRModel(ModelConfig(attention="additive", img_width=400, max_decode_len=8), len(ASCII_CHARSET) + 2)
    path = tmp_path_factory.mktemp("model") / "m.safetensors"
    Recognizer(model, Alphabet(ASCII_CHARSET), device="cpu").save(path)
    return path


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=3, include_dashboard=False, log_to_driver=False)  # 2 actors + 1 CPU for reading
    yield
    ray.shutdown()


def _write_images(folder, start, n):
    rng = np.random.default_rng(start)
    for i in range(start, start + n):
        arr = rng.integers(0, 256, (24, int(rng.integers(10, 60)), 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / f"{i:04d}.png", compress_level=1)


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_every_input_once_then_resume(tmp_path, model_file, local_ray, fmt):
    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    _write_images(images, 0, 300)
    (images / "broken.png").write_bytes(b"not an image")
    first = ray_recognize([str(images)], str(out), str(model_file), fmt=fmt, actors=2, batch_size=32)
    assert first["inputs"] == first["written"] == 301 and first["errors"] == 1
    _write_images(images, 300, 40)
    second = ray_recognize([str(images)], str(out), str(model_file), fmt=fmt, batch_size=32)  # default: 2 actors
    assert (second["skipped"], second["written"]) == (301, 40)
    counts = collections.Counter()
    import pyarrow.json as pj
    import pyarrow.parquet as pq

    for f in out.iterdir():
        table = pq.read_table(f) if fmt == "parquet" else pj.read_json(f)
        counts.update(table.column("path").to_pylist())
    assert len(counts) == 341 and set(counts.values()) == {1}
    assert len(done_paths(str(out), fmt)) == 341


def test_too_many_actors_for_the_cluster_is_a_clear_error(tmp_path, model_file, local_ray):
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(ValueError, match="leave less than one CPU to read"):
        ray_recognize([str(tmp_path / "a.png")], str(tmp_path / "out"), str(model_file), actors=3)


def test_bad_inputs_and_models_fail_before_ray_starts(tmp_path, model_file):
    """Each is an OptionError / ModelFileError raised before any Ray work, and no output folder is made."""
    (tmp_path / "empty").mkdir()
    (tmp_path / "a.png").write_bytes(b"x")
    with pytest.raises(OptionError, match=f"{tmp_path / 'gone.png'}: no such file or folder"):
        ray_recognize([str(tmp_path / "gone.png")], str(tmp_path / "out"), str(model_file))
    with pytest.raises(OptionError, match="no image files in"):
        ray_recognize([str(tmp_path / "empty")], str(tmp_path / "out"), str(model_file))
    with pytest.raises(ModelFileError, match="not found"):
        ray_recognize([str(tmp_path / "a.png")], str(tmp_path / "out"), str(tmp_path / "nope.safetensors"))
    assert not (tmp_path / "out").exists()


def test_an_interrupted_run_keeps_its_finished_chunks_and_uris_resume(tmp_path, model_file, local_ray):
    """Chunk 1 (100 local files) is written before chunk 2 (a URI that cannot be read) fails the job; a rerun
    skips them. Inputs given as URIs (file://...) are recognised as done too: Ray names them without the scheme."""
    images, out = tmp_path / "images", tmp_path / "out"
    images.mkdir()
    _write_images(images, 0, 100)
    with pytest.raises(Exception):  # noqa: B017 -- whatever Ray raises for the unreadable chunk
        ray_recognize([str(images), f"file://{tmp_path}/gone.png"], str(out), str(model_file), actors=2,
                      batch_size=32, chunk=100)
    assert len(done_paths(str(out), "parquet")) == 100
    again = ray_recognize([str(images)], str(out), str(model_file), actors=2, batch_size=32)
    assert (again["skipped"], again["written"]) == (100, 0)
    uris = [f"file://{p}" for p in sorted(images.glob("*.png"))]
    by_uri = ray_recognize(uris, str(out), str(model_file), actors=2, batch_size=32)
    assert (by_uri["skipped"], by_uri["written"]) == (100, 0)
