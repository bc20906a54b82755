"""A batch gives the same output as its images one at a time, whatever the batch size and mixed widths."""

import math

import numpy as np
import pytest
from conftest import random_line_image
from test_original_parity import BATCHED_RTOL


@pytest.fixture(scope="module")
def mixed_images():
    rng = np.random.default_rng(7)
    widths = rng.integers(8, 700, size=64)
    heights = rng.integers(12, 80, size=64)
    return [np.asarray(random_line_image(rng, int(h), int(w))) for h, w in zip(heights, widths)]


@pytest.fixture(scope="module")
def one_at_a_time(recognizer, mixed_images):
    return [recognizer.recognize([im])[0] for im in mixed_images]


@pytest.mark.parametrize("batch_size", [1, 3, 17, 64])
def test_batched_equals_single(recognizer, mixed_images, one_at_a_time, batch_size):
    batched = recognizer.recognize(mixed_images, batch_size=batch_size)
    assert len(batched) == len(mixed_images)
    for i, (b, s) in enumerate(zip(batched, one_at_a_time)):
        assert b.text == s.text, i
        assert math.isclose(b.confidence, s.confidence, rel_tol=BATCHED_RTOL), i
        assert b.source == f"<ndarray #{i}>"


def test_results_keep_input_order(recognizer, mixed_images, one_at_a_time):
    order = list(reversed(range(10)))
    out = recognizer.recognize([mixed_images[i] for i in order], batch_size=4)
    assert [r.text for r in out] == [one_at_a_time[i].text for i in order]


def test_empty_input_gives_empty_list(recognizer):
    assert recognizer.recognize([]) == []


def test_recognize_iter_streams_the_same_results_in_order(recognizer, mixed_images, one_at_a_time):
    stream = (im for im in mixed_images[:20] + [b"broken"])  # a generator: consumed chunk by chunk
    out = list(recognizer.recognize_iter(stream, batch_size=3, workers=2))
    assert len(out) == 21 and not out[-1].ok and "not a readable image" in out[-1].error
    for r, s in zip(out, one_at_a_time[:20]):
        assert r.text == s.text
        assert math.isclose(r.confidence, s.confidence, rel_tol=BATCHED_RTOL)


def test_warmup_runs(recognizer):
    recognizer.warmup(batch_size=2)


def test_a_bad_image_in_a_pipelined_call_costs_only_itself(recognizer, mixed_images, one_at_a_time):
    """12 images at batch size 4 run as 3 chunks, each loaded while the previous one is read."""
    images = list(mixed_images[:12])
    images[5] = b"not an image"
    out = recognizer.recognize(images, batch_size=4)
    assert not out[5].ok and out[5].error
    assert [r.text for i, r in enumerate(out) if i != 5] == [one_at_a_time[i].text for i in range(12) if i != 5]
