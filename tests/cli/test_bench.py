"""fastocr bench: every provider decodes the same thing, ratios are computed right, the CLI writes its outputs."""

import json

import pytest
import torch

from fastocr import _ext
from fastocr.bench import Unavailable, decoder_model, decoder_workload, markdown, measure, speedups
from fastocr.cli import main
from fastocr.config import ModelConfig


@pytest.fixture(scope="module")
def model():
    return decoder_model(num_classes=40, config=ModelConfig(hidden_size=32))


def test_providers_decode_the_same_tokens_for_every_step(model):
    greedy = {p: decoder_workload(p, 1, 3, 6, model)() for p in ("original", "reference", "extension")}
    ref = greedy["reference"]
    assert ref.lengths.tolist() == [6, 6, 6]  # EOS suppressed: every line runs every step
    assert torch.equal(greedy["extension"].tokens, ref.tokens)
    assert [o.tokens[0].tolist() for o in greedy["original"]] == ref.tokens.tolist()
    if _ext.C is not None:
        beams = {p: decoder_workload(p, 4, 3, 6, model)() for p in ("reference", "extension")}
        assert [[h.tokens for h in img] for img in beams["extension"]] == \
               [[h.tokens for h in img] for img in beams["reference"]]


def test_unavailable_providers_say_why(model):
    with pytest.raises(Unavailable, match="greedily"):
        decoder_workload("original", 5, 2, 4, model)
    if not torch.cuda.is_available():
        with pytest.raises(Unavailable, match="CUDA"):
            decoder_workload("kernels", 1, 2, 4, model)
    with pytest.raises(ValueError, match="unknown provider"):
        decoder_workload("magic", 1, 2, 4, model)


def test_measure_repeats_and_reports_seconds():
    calls = []
    stats = measure(lambda: calls.append(1), min_time=0.0, warmup=2)
    assert len(calls) == 2 + stats["rounds"] and stats["rounds"] >= 3 and stats["min"] <= stats["median"]


def _rec(provider, median, lines, group="g", **params):
    return {"group": group, "name": provider, "params": {"provider": provider, **params},
            "stats": {"median": median}, "extra_info": {"lines": lines}}


def test_speedups_per_line_against_the_original_and_same_params_against_the_reference():
    records = [_rec("original", 1.0, 10), _rec("reference", 1.0, 40, batch=40), _rec("extension", 0.5, 40, batch=40),
               _rec("extension", 0.5, 8, batch=8)]
    assert speedups(records, "original") == {1: 4.0, 2: 8.0, 3: 1.6}
    assert speedups(records, "reference") == {2: 2.0}  # batch 8 has no reference run
    table = markdown({"machine_info": {}, "benchmarks": records})
    assert "| extension | batch=40 | 500.00 | 80.0 | 8.00 | 2.00 |" in table


def test_report_counts_the_texts_that_differ_from_the_original():
    records = [_rec("original", 1.0, 256)]
    for differing in (0, 3, 1):
        records.append(_rec("fastocr", 0.5, 256, batch=64))
        records[-1]["extra_info"].update(identical_to_original=differing == 0, texts_differing=differing)
    table = markdown({"machine_info": {}, "benchmarks": records})
    assert "identical to the original loop's: NO (1 of 3 runs); at most 3 of 256 texts differ in a run." in table


def test_report_reads_unparametrised_pytest_benchmarks():
    plain = {"group": "g", "name": "test_augmented_real_crops", "params": None,  # as pytest-benchmark writes it
             "stats": {"median": 0.04}, "extra_info": {"lines_per_s": 1600.0}}
    table = markdown({"machine_info": {}, "benchmarks": [plain]})
    assert "| test_augmented_real_crops |  | 40.00 | 1600.0 |  |  |" in table


def test_cli_runs_both_suites_and_renders_its_json(tmp_path, capsys):
    out, md, png = tmp_path / "b.json", tmp_path / "b.md", tmp_path / "b.png"
    args = ["bench", "--count", "3", "--beams", "1,2", "--batches", "2", "--steps", "3", "--min-time", "0",
            "--providers", "original,reference,extension", "--out", str(out), "--markdown", str(md), "--png", str(png)]
    assert main(args) == 0
    doc = json.loads(out.read_text())
    names = {r["name"] for r in doc["benchmarks"]}
    assert "decoder[original-k1-b2]" in names and "end-to-end[fastocr-k2-b2]" in names
    e2e_greedy = next(r for r in doc["benchmarks"] if r["name"] == "end-to-end[fastocr-k1-b2]")
    assert e2e_greedy["extra_info"]["identical_to_original"] is True
    assert e2e_greedy["extra_info"]["texts_differing"] == 0
    assert "identical to the original loop's: yes" in md.read_text()
    assert png.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()
    assert main(["bench", "--report", str(out)]) == 0
    assert "x original" in capsys.readouterr().out


def test_cli_rejects_bad_lists(capsys):
    with pytest.raises(SystemExit):
        main(["bench", "--beams", "0,5"])
    assert "positive integers" in capsys.readouterr().err
    assert main(["bench", "--providers", "warp", "--report", "x"]) == 2


def test_end_to_end_with_the_bundled_model_matches_the_batch_1_loop(tmp_path):
    # Lines of many widths: each is fed to the loop on the canvas fastocr gives it, so texts must agree.
    out = tmp_path / "b.json"
    assert main(["bench", "--suite", "end-to-end", "--count", "24", "--beams", "1", "--batches", "8",
                 "--min-time", "0", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert "additive attention" in doc["benchmarks"][0]["group"]
    assert [r["extra_info"]["identical_to_original"] for r in doc["benchmarks"] if r["params"]["provider"] ==
            "fastocr"] == [True]


def test_random_weights_time_the_original_architecture(tmp_path, capsys):
    out = tmp_path / "b.json"
    assert main(["bench", "--random-weights", "--suite", "decoder", "--providers", "reference", "--beams", "1",
                 "--batches", "2", "--steps", "2", "--min-time", "0", "--out", str(out)]) == 0
    assert json.loads(out.read_text())["benchmarks"][0]["group"] == "decoder, 2 steps, 5991 classes, 71 encoder columns"
    assert main(["bench", "--random-weights", "--model", "x.safetensors", "--out", str(out)]) == 2
    assert "give no model" in capsys.readouterr().err


def test_random_weights_read_different_lines_differently():
    """Otherwise the bench's 'identical texts' would hold for any engine that returned one text for all."""
    from fastocr.bench import noise_lines, random_weight_recognizer

    texts = [r.text for r in random_weight_recognizer().recognize(noise_lines(32))]
    assert len(set(texts)) > 16 and {len(t) for t in texts} == {20}  # EOS suppressed: all 20 steps
