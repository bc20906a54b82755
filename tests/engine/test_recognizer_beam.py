"""recognize() with beam search and constraints: the C++ path equals the reference path, constraints hold."""

import math

import pytest
from conftest import TEST_IMAGES

import fastocr


def _run(recognizer, monkeypatch, reference: bool, **kw):
    monkeypatch.setenv("FASTOCR_FORCE_REFERENCE", "1" if reference else "0")
    return recognizer.recognize(TEST_IMAGES, **kw)


@pytest.mark.parametrize("kw", [{"beam_size": 3, "num_hypotheses": 2}, {"beam_size": 5, "length_penalty": 0.6}])
def test_extension_beam_equals_reference_beam(recognizer, monkeypatch, kw):
    # direct convolutions on both paths (FASTOCR_FORCE_REFERENCE turns Winograd's off too): the decoders compared
    direct = fastocr.Recognizer(recognizer.model, recognizer.alphabet, "cpu", winograd=False)
    fast = _run(direct, monkeypatch, False, **kw)
    ref = _run(direct, monkeypatch, True, **kw)
    for f, r in zip(fast, ref):
        assert [c.text for c in f.candidates] == [c.text for c in r.candidates]
        for a, b in zip(f.candidates, r.candidates):
            assert math.isclose(a.score, b.score, rel_tol=1e-5, abs_tol=1e-6)


def test_beam_one_through_recognize_equals_greedy(recognizer, monkeypatch):
    greedy = _run(recognizer, monkeypatch, False)
    chars = "".join(sorted(set("".join(r.text for r in greedy))))
    constrained = _run(recognizer, monkeypatch, False, allowed_chars=chars)  # beam 1, through the extension
    for g, c in zip(greedy, constrained):
        assert g.text == c.text and math.isclose(g.confidence, c.confidence, rel_tol=1e-5)


@pytest.mark.parametrize("reference", [False, True])
def test_lexicon_and_charset_constraints_hold(recognizer, monkeypatch, reference):
    free = _run(recognizer, monkeypatch, reference, beam_size=3)
    chars = "".join(sorted(set("".join(r.text for r in free))))
    lexicon = [r.text[:3] for r in free] + [chars[:2], chars[-1] * 4]
    out = _run(recognizer, monkeypatch, reference, beam_size=4, num_hypotheses=2, lexicon=lexicon)
    for r in out:
        assert r.text in lexicon and all(c.text in lexicon for c in r.candidates)
    allowed = chars[: max(1, len(chars) // 2)]
    out = _run(recognizer, monkeypatch, reference, beam_size=2, allowed_chars=allowed)
    for r in out:
        assert set(r.text) <= set(allowed)


def test_lexicon_outside_the_alphabet_is_named(recognizer):
    with pytest.raises(ValueError, match="lexicon entry 'a⛄'"):
        recognizer.recognize(TEST_IMAGES[:1], beam_size=2, lexicon=["a⛄"])
