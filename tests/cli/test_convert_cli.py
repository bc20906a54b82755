"""`fastocr convert` round trip, and the CLI's output, JSON, exit codes and help."""

import json
import math
import subprocess
import sys

import pytest
from conftest import TEST_IMAGES

import fastocr
from fastocr.cli import build_parser, main


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fastocr.cli", *map(str, args)], capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def converted(original_files, tmp_path_factory):
    out = tmp_path_factory.mktemp("conv") / "model.safetensors"
    enc, dec, alpha = original_files
    assert main(["convert", "--encoder", str(enc), "--decoder", str(dec), "--alphabet", str(alpha), "-o", str(out)]) == 0
    return out


def test_convert_round_trip_gives_the_same_outputs(converted, recognizer, generated_images):
    images = list(TEST_IMAGES) + list(generated_images)
    loaded = fastocr.Recognizer.load(converted, device="cpu")
    assert loaded.alphabet == recognizer.alphabet and loaded.config == recognizer.config
    for a, b in zip(loaded.recognize(images), recognizer.recognize(images)):
        assert (a.text, a.confidence) == (b.text, b.confidence)


def test_fp16_model_file_is_half_the_size_and_loads(recognizer, tmp_path, converted):
    half = tmp_path / "half.safetensors"
    recognizer.save(half, dtype=__import__("torch").float16)
    assert half.stat().st_size < 0.55 * converted.stat().st_size
    rec16 = fastocr.Recognizer.load(half, device="cpu")
    assert rec16.recognize(TEST_IMAGES[:2])[0].ok


def test_recognize_prints_text_and_confidence_like_the_original(original_files, recognizer):
    enc, dec, alpha = original_files
    proc = run_cli("recognize", TEST_IMAGES[0], "--encoder", enc, "--decoder", dec, "--alphabet", alpha)
    assert proc.returncode == 0, proc.stderr
    text, conf = proc.stdout.strip().rsplit(" => ", 1)
    expected = recognizer.recognize(TEST_IMAGES[:1])[0]
    assert text == expected.text and math.isclose(float(conf), expected.confidence, rel_tol=1e-6)


def test_recognize_json_directory_and_failures(converted, tmp_path):
    d = tmp_path / "imgs"
    d.mkdir()
    for p in TEST_IMAGES[:3]:
        (d / p.name).write_bytes(p.read_bytes())
    (d / "broken.png").write_bytes(b"not a png")
    proc = run_cli("recognize", d, "--model", converted, "--json", "--beam-size", "3", "-n", "2")
    assert proc.returncode == 1  # something failed
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(rows) == 4
    assert sum(r["error"] is not None for r in rows) == 1
    for r in rows:
        if r["error"] is None:
            assert len(r["candidates"]) == 2 and r["candidates"][0]["text"] == r["text"]


def test_usage_errors_exit_2(converted, original_files):
    proc = run_cli("recognize", TEST_IMAGES[0], "--encoder", original_files[0])
    assert proc.returncode == 2 and "--encoder, --decoder and --alphabet go together" in proc.stderr
    proc = run_cli("recognize", TEST_IMAGES[0], "--model", TEST_IMAGES[1])
    assert proc.returncode == 2 and "not a fastocr model file" in proc.stderr


@pytest.mark.parametrize("command", ["recognize", "convert", "info", "eval", "train", "synth", "ray-recognize"])
def test_every_subcommand_has_help(command, capsys):
    with pytest.raises(SystemExit) as e:
        build_parser().parse_args([command, "--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    assert len(out) > 200 and "usage: fastocr " + command in out


def test_info_reports_the_extension():
    proc = run_cli("info")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["extension"] is True


def test_eval_reports_metrics_as_json(converted, tmp_path, recognizer):
    lines = [f"{p}\t{p.stem}" for p in TEST_IMAGES[:3]]
    (tmp_path / "list.tsv").write_text("\n".join(lines), encoding="utf-8")
    proc = run_cli("eval", tmp_path / "list.tsv", "--model", converted, "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["count"] == 3 and report["exact"] == 0.0 and report["cer"] > 0.5


def test_eval_writes_the_misread_lines(converted, tmp_path, recognizer):
    """--errors lists every line read wrong (these random weights read none right), with what was read, and an
    unreadable image with an empty reading; a line read right is left out."""
    missing = tmp_path / "missing.png"
    read = [r.text for r in recognizer.recognize(TEST_IMAGES[:2])]
    items = [(TEST_IMAGES[0], TEST_IMAGES[0].stem), (TEST_IMAGES[1], read[1]), (missing, "gone")]
    (tmp_path / "list.tsv").write_text("".join(f"{p}\t{label}\n" for p, label in items), encoding="utf-8")
    proc = run_cli("eval", tmp_path / "list.tsv", "--model", converted, "--errors", tmp_path / "errors.tsv")
    assert proc.returncode == 1 and "1 of 3 images could not be read" in proc.stderr  # the missing one
    rows = [line.split("\t") for line in (tmp_path / "errors.tsv").read_text(encoding="utf-8").splitlines()]
    assert rows == [[str(TEST_IMAGES[0]), TEST_IMAGES[0].stem, read[0]], [str(missing), "gone", ""]]


def test_eval_reports_accuracy_by_confidence_and_plots_it(converted, tmp_path, recognizer):
    """The by-confidence rows count the lines at or above each threshold and those read right; --plot draws them."""
    results = recognizer.recognize(TEST_IMAGES[:3])
    items = [(TEST_IMAGES[0], results[0].text), (TEST_IMAGES[1], "not this"), (TEST_IMAGES[2], "nor this")]
    (tmp_path / "list.tsv").write_text("".join(f"{p}\t{label}\n" for p, label in items), encoding="utf-8")
    proc = run_cli("eval", tmp_path / "list.tsv", "--model", converted, "--json", "--plot", tmp_path / "c.png")
    assert proc.returncode == 0, proc.stderr
    rows = {r["min_confidence"]: r for r in json.loads(proc.stdout)["by_confidence"]}
    for t, row in rows.items():
        kept = [i for i, r in enumerate(results) if r.confidence >= t]
        assert row["count"] == len(kept)
        if kept:
            assert row["exact"] == pytest.approx(sum(i == 0 for i in kept) / len(kept))
    assert rows[0.0]["count"] == 3 and rows[0.0]["exact"] == pytest.approx(1 / 3)
    assert (tmp_path / "c.png").read_bytes()[:4] == b"\x89PNG"


def test_eval_max_len_cuts_the_decoding(converted, tmp_path, recognizer):
    """--max-len reaches the decoder: one step per line leaves at most one character of each prediction, so
    each label loses all its characters but at most one, and the score differs from a full decoding's."""
    labels = [p.stem for p in TEST_IMAGES[:3]]
    (tmp_path / "list.tsv").write_text("\n".join(f"{p}\t{p.stem}" for p in TEST_IMAGES[:3]), encoding="utf-8")
    reports = []
    for extra in ([], ["--max-len", "1"]):
        proc = run_cli("eval", tmp_path / "list.tsv", "--model", converted, "--json", *extra)
        assert proc.returncode == 0, proc.stderr
        reports.append(json.loads(proc.stdout))
    chars = sum(map(len, labels))
    assert (chars - len(labels)) / chars <= reports[1]["cer"] <= 1.0
    assert reports[1]["cer"] != reports[0]["cer"]


def test_recognize_with_a_vocabulary_needs_a_beam(converted, tmp_path, recognizer):
    """A bad option combination is a usage error (exit 2) with a message, never a traceback."""
    (tmp_path / "words.txt").write_text("美国人\n", encoding="utf-8")
    proc = run_cli("recognize", TEST_IMAGES[0], "--model", converted, "--vocabulary", tmp_path / "words.txt")
    assert proc.returncode == 2 and "beam_size >= 2" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli("recognize", TEST_IMAGES[0], "--model", converted, "--vocabulary", tmp_path / "words.txt", "-k", "5")
    assert proc.returncode == 0, proc.stderr


def test_folders_expand_to_their_image_files_recursively_and_sorted(tmp_path):
    from fastocr.files import image_files

    (tmp_path / "b" / "deeper").mkdir(parents=True)
    (tmp_path / "folder.png").mkdir()  # a folder named like an image is no image
    for name in ["b/deeper/z.JPG", "a.png", "b/c.webp", "notes.txt"]:
        (tmp_path / name).write_bytes(b"x")
    assert image_files(tmp_path) == [str(tmp_path / n) for n in ["a.png", "b/c.webp", "b/deeper/z.JPG"]]
