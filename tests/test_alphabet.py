"""The original alphabet: sizes, duplicates and the class ids of SPEC §3 and §6."""

import pytest
from conftest import ALPHABET_5990

from fastocr import Alphabet, FastOCRError
from fastocr.alphabet import EOS_TOKEN


@pytest.fixture(scope="module")
def alphabet():
    return Alphabet.from_file(ALPHABET_5990)


def test_sizes(alphabet):
    assert len(alphabet) == 5989 and alphabet.num_classes == 5991


def test_duplicates_keep_the_last_index_as_the_original(alphabet):
    assert alphabet.encode("1") == [5566]
    assert alphabet.encode("3") == [5746]


def test_spec_class_ids_of_the_sample_labels(alphabet):
    assert alphabet.encode("年同期低点83.50") == [27, 98, 201, 528, 179, 106, 5746, 72, 47, 7]
    assert alphabet.encode("于采取的是“激变”的") == [46, 577, 300, 3, 6, 13, 837, 364, 14, 3]


def test_orphan_ids_decode(alphabet):
    for i in (20, 49, 2112, 3391, 4410):
        assert len(alphabet.decode([i])) == 1


def test_decode_stops_at_eos_and_round_trips(alphabet):
    text = "美国人不愿意与朝鲜人"
    assert alphabet.decode(alphabet.encode(text) + [EOS_TOKEN, 5, 6]) == text


def test_unknown_characters_are_named(alphabet):
    with pytest.raises(FastOCRError, match="'@'"):
        Alphabet("abc").encode("a@")
