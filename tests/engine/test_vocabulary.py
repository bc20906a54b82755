"""The soft lexicon: which readings a vocabulary covers, and how it reorders a beam's hypotheses."""

import pytest
from conftest import TEST_IMAGES

from fastocr.engine.vocabulary import Vocabulary
from fastocr.errors import FastOCRError


def test_covers_known_words_in_any_case_with_punctuation_and_numbers():
    v = Vocabulary(["open", "Sale", "don't"])
    assert v.covers("OPEN") and v.covers("sale!") and v.covers('"Open sale"') and v.covers("Don't")
    assert v.covers("sale 50%") and v.covers("open 24/7") and v.covers("-3.50 sale")
    assert not v.covers("opem") and not v.covers("open sael") and not v.covers("") and not v.covers(" !? ")


def test_vocabulary_errors_name_the_problem(tmp_path):
    with pytest.raises(FastOCRError, match="empty"):
        Vocabulary([" ", ""])
    with pytest.raises(FastOCRError, match="missing.txt"):
        Vocabulary.from_file(tmp_path / "missing.txt")
    (tmp_path / "words.txt").write_text("alpha beta\ngamma\n", encoding="utf-8")
    assert len(Vocabulary.from_file(tmp_path / "words.txt")) == 3


def test_vocabulary_needs_a_beam(recognizer):
    with pytest.raises(ValueError, match="beam_size >= 2"):
        recognizer.recognize(TEST_IMAGES[:1], vocabulary=["x"])


def test_a_covered_hypothesis_moves_up_and_keeps_its_score(recognizer, generated_images):
    images = list(TEST_IMAGES) + list(generated_images)
    plain = recognizer.recognize(images, beam_size=5, num_hypotheses=5)
    tried = 0
    for image, result in zip(images, plain):
        texts = [c.text for c in result.candidates]
        assert len(set(texts)) >= 2, texts
        second = texts[1]
        if not (second.strip() and texts[0].strip()):  # an empty reading is no word to prefer
            continue
        tried += 1
        preferred = recognizer.recognize([image], beam_size=5, num_hypotheses=2, vocabulary=[second],
                                         vocabulary_bonus=1e3)[0]
        assert preferred.text == second and [c.text for c in preferred.candidates] == [second, texts[0]]
        expected = [result.candidates[1].score, result.candidates[0].score]  # batch 1 vs 5: rounding only
        assert [c.score for c in preferred.candidates] == pytest.approx(expected, rel=1e-4)
        assert len(preferred.char_probs) == len(second)
        unchanged = recognizer.recognize([image], beam_size=5, vocabulary=[texts[0]], vocabulary_bonus=1e3)[0]
        assert unchanged.text == texts[0]
        no_bonus = recognizer.recognize([image], beam_size=5, vocabulary=[second], vocabulary_bonus=0.0)[0]
        assert no_bonus.text == texts[0]
    assert tried >= 3


def test_words_with_punctuation_match_themselves():
    vocab = Vocabulary(["Mr.", "e.g.", "U.S.A.", "...", "rock'n'roll"])
    assert all(vocab.covers(t) for t in ("Mr.", "mr", "e.g.", "U.S.A.!", "Rock'n'roll,"))
    assert not vocab.covers("...") and len(vocab) == 4  # punctuation alone is no word
