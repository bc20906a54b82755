"""Label text for rendered Chinese lines: corpus pieces, word runs, mixed-script lines, rare characters."""

import csv
import random
from collections import Counter

import pytest

from fastocr.errors import FastOCRError
from fastocr.train.chinese import ChineseText, held_out, read_corpus, to_alphabet

# A small alphabet in the original's manner: Chinese characters, digits, a few Latin letters, both widths of
# the comma, the full-width parentheses and the yuan sign.
HAN = "的一是不了在人有我他这中大来上国个到说们为子和你地出道也时年得就那要下以生会自着去之过家学对可里后小么心多天而能好都然没日于起还发成事只作当想看文无开手十用主行方又如前所本见经头面公同三已老从动两长知民样现分将外但身些与高意进把法此实回二理美点月明其种声全工己话儿者向情部正名定女问力机给等几很业最间新什打便位因重被走电四第门相次东政海口使教西再平真听世气信北少关并内加化由却代军产入先山五太水万市眼体别处总才场师书比住员九笑性通目华报立马命张活难神数件安表原车白应路期叫死常提感金何更反合放做系计或司利受光王果亲界及今京务制解各任至清物台象记边共风战干接它许八特觉望直服毛林题建南度统色字请交爱让认算论百吃义科怎元社术结六功指思非流每青管夫连远资队跟带花快条院变联言权往展该领传近留红治决周保达办运武半候七必城父强步完革深区即求品士转量空甚众技轻程告江语英基派满式李息写呢识极令黄德收脸钱党倒未持取设始版双历越史商千片容研像找友孩站广改议形委早房音火际则首单据导影失拿网香似斯专石若兵弟谁校读志飞观争究包组造落视济喜离虽坏兴"
CHARSET = HAN + "0123456789ABCabc，,（）()。.:%¥-年月日元"


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(1)
    path = tmp_path_factory.mktemp("corpus") / "zh.txt"
    lines = ["".join(rng.choices(HAN[:200], k=rng.randint(5, 40))) + rng.choice("，。") for _ in range(400)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_to_alphabet_maps_only_what_the_alphabet_lacks():
    allowed = frozenset("中文12，,")
    assert to_alphabet("中文，１２", allowed) == "中文，12"  # full-width digits mapped, the full-width comma kept
    assert to_alphabet("中😀文", allowed) == "中\0文"


def test_read_corpus_cuts_runs_at_spaces_and_foreign_characters(tmp_path):
    (tmp_path / "a.txt").write_text("中文 中 文中１２😀中中文\n\n", encoding="utf-8")
    assert read_corpus([tmp_path / "a.txt"], "中文12") == ["中文", "文中12", "中中文"]
    with pytest.raises(FastOCRError, match="no text"):
        read_corpus([tmp_path / "a.txt"], "x")
    with pytest.raises(FastOCRError, match="cannot read"):
        read_corpus([tmp_path / "missing.txt"], "中文")


def test_held_out_splits_by_sentence():
    runs = [f"句{i}" for i in range(2000)]
    train, val = held_out(runs)
    assert not set(train) & set(val) and len(train) + len(val) == 2000 and 20 <= len(val) <= 60
    assert held_out(list(reversed(runs)))[1] == list(reversed(val))  # the text decides, not the order


def test_samples_stay_in_the_alphabet_and_the_lengths(corpus):
    text = ChineseText(CHARSET, read_corpus([corpus], CHARSET), words=["中国", "xyz", "学校"], max_len=12)
    r = random.Random(0)
    samples = [text.sample(r) for _ in range(3000)]
    assert all(2 <= len(s) <= 12 and set(s) <= set(CHARSET) for s in samples)
    assert [ChineseText(CHARSET, read_corpus([corpus], CHARSET), max_len=12).sample(random.Random(5))
            for _ in range(2)] == [text.sample(random.Random(5))] * 2  # a function of the generator alone
    mixed = [s for s in samples if any(c.isdigit() for c in s)]
    assert 0.1 < len(mixed) / len(samples) < 0.4  # numbers, prices, dates, times, phones
    assert any("," in s for s in samples) and any("，" in s for s in samples)  # both widths


def test_every_character_is_drawn_even_those_no_sentence_has(corpus):
    """The corpus uses 200 of the alphabet's characters; the rare-character lines bring in all the others."""
    text = ChineseText(CHARSET, read_corpus([corpus], CHARSET), max_len=20)
    r = random.Random(3)
    seen = Counter(c for _ in range(30000) for c in text.sample(r))
    assert set(seen) == set(CHARSET)
    assert min(seen[c] for c in HAN[200:]) >= 3  # about 6,000 rare draws over 520 characters


def test_words_file_takes_the_first_field_of_each_line(tmp_path):
    from fastocr.train import TrainOptions
    from fastocr.train.loop import _words

    (tmp_path / "dict.txt").write_text("中国 3 ns\nAT&T 3 nz\n\n学校 9\n", encoding="utf-8")
    assert _words(TrainOptions(out=str(tmp_path), words=str(tmp_path / "dict.txt"))) == ("中国", "AT&T", "学校")


def test_training_on_a_corpus_validates_on_sentences_it_never_trains_on(tmp_path, corpus):
    """`fastocr train --charset char_std_5990.txt --corpus FILE` (5,989 characters, a CJK font): it trains and
    loads, and the synthetic validation lines that are plain corpus pieces come from held-out sentences only."""
    pytest.importorskip("matplotlib")
    from conftest import ALPHABET_5990
    from test_train import _args

    from fastocr import Recognizer
    from fastocr.alphabet import Alphabet
    from fastocr.train import train
    from fastocr.train.loop import _corpus, _validation_sets
    from fastocr.train.synth import find_fonts

    try:
        find_fonts("cjk")
    except RuntimeError as e:
        pytest.skip(str(e))
    opts = _args(tmp_path, "--steps", "2", "--charset", str(ALPHABET_5990), "--corpus", str(corpus), "--val-size", "40")
    alphabet = Alphabet.from_file(ALPHABET_5990)
    train_runs, val_runs = _corpus(opts, alphabet)
    labels = [label for _, label in _validation_sets(opts, alphabet)["synth"]]
    pieces = [s for s in labels if any(s in run for run in train_runs + val_runs)]
    assert len(pieces) >= 10 and all(any(s in run for run in val_runs) for s in pieces)
    assert not any(s in run for s in pieces if len(s) >= 6 for run in train_runs)
    best = train(opts)
    rec = Recognizer.load(best, device="cpu")
    assert rec.alphabet.num_classes == 5991 and rec.model.num_classes == 5991
    rows = list(csv.DictReader((tmp_path / "log.csv").read_text().splitlines()))
    assert float(rows[-1]["loss"]) > 0


def test_kinds_narrow_the_lines_to_one_kind(corpus):
    runs = read_corpus([corpus], CHARSET)
    r = random.Random(2)
    mixed = [ChineseText(CHARSET, runs, max_len=16, kinds=["mixed"]).sample(r) for _ in range(300)]
    assert sum(any(c.isdigit() for c in s) for s in mixed) >= 0.95 * len(mixed)  # all but a fallback piece or two
    pieces = [ChineseText(CHARSET, runs, max_len=16, kinds=["piece"]).sample(r) for _ in range(300)]
    assert all(any(s in run for run in runs) for s in pieces)
    with pytest.raises(ValueError, match="unknown kinds of line"):
        ChineseText(CHARSET, runs, kinds=["pieces"])


def test_synth_cli_writes_a_test_set_of_held_out_sentences(tmp_path, corpus, capsys):
    """`fastocr synth --corpus FILE --held-out --kinds piece`: every label is a piece of a held-out sentence."""
    from fastocr.cli import main
    from fastocr.train.synth import find_fonts

    try:
        find_fonts("cjk")
    except RuntimeError as e:
        pytest.skip(str(e))
    (tmp_path / "alphabet.txt").write_text("\n".join(CHARSET) + "\n", encoding="utf-8")
    out = tmp_path / "zh-test"
    assert main(["synth", str(out), "--count", "20", "--charset", str(tmp_path / "alphabet.txt"), "--corpus",
                 str(corpus), "--held-out", "--kinds", "piece", "--max-len", "8", "--no-augment"]) == 0
    train_runs, val_runs = held_out(read_corpus([corpus], CHARSET))
    labels = [label for _, label in csv.reader(open(out / "labels.tsv", encoding="utf-8"), delimiter="\t")]
    assert len(labels) == 20 and all(any(s in run for run in val_runs) for s in labels)
    assert not any(s in run for s in labels if len(s) >= 6 for run in train_runs)
    with pytest.raises(SystemExit):
        main(["synth", str(out), "--kinds", "piece,sentences"])
    assert main(["synth", str(out), "--held-out"]) == 2
    assert "--held-out and --kinds choose among --corpus lines" in capsys.readouterr().err
