"""Bad options and bad paths on the command line are usage errors (exit 2) with one line that names the culprit,
found before any work starts: never a traceback."""

import pytest
import torch
from conftest import TEST_IMAGES

from fastocr.cli import main

IMG = str(TEST_IMAGES[0])


@pytest.fixture
def files(tmp_path):
    (tmp_path / "binary.tsv").write_bytes(TEST_IMAGES[0].read_bytes()[:200])
    (tmp_path / "empty.tsv").write_text("")
    (tmp_path / "list.tsv").write_text(f"{IMG}\tx\n")
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "no_images").mkdir()
    (tmp_path / "not.json").write_text("{not json")
    (tmp_path / "alphabet.txt").write_text("a\nb\n")
    return tmp_path


CASES = {  # name: (argv with {t} for the temporary folder, what the error must say)
    "beam above the limit": (["recognize", IMG, "-k", "40"], "at most 32"),
    "negative max-len": (["recognize", IMG, "--max-len", "-3"], "must be >= 1"),
    "zero max-len": (["recognize", IMG, "--max-len", "0"], "must be >= 1"),
    "negative threads": (["recognize", IMG, "--threads", "-1"], "must be >= 0"),
    "not an integer": (["recognize", IMG, "-b", "many"], "expected an integer"),
    "unknown device": (["recognize", IMG, "--device", "foo"], "not a device name"),
    "folder without images": (["recognize", "{t}/no_images"], "no image files in {t}/no_images"),
    "output in a missing folder": (["convert", "--encoder", "e", "--decoder", "d", "--alphabet", "a", "-o",
                                    "{t}/nodir/x.safetensors"], "folder {t}/nodir does not exist"),
    "output is a folder": (["convert", "--encoder", "e", "--decoder", "d", "--alphabet", "a", "-o", "{t}"],
                           "is a folder"),
    "an image as a checkpoint": (["convert", "--encoder", IMG, "--decoder", IMG, "--alphabet", "{t}/alphabet.txt",
                                  "-o", "{t}/x.safetensors"], "not a PyTorch"),
    "errors file in a missing folder": (["eval", "{t}/list.tsv", "--errors", "{t}/nodir/e.tsv"], "does not exist"),
    "binary label list": (["eval", "{t}/binary.tsv"], "not a UTF-8 text label list"),
    "empty label list": (["eval", "{t}/empty.tsv"], "no labelled lines"),
    "negative limit": (["eval", "{t}/list.tsv", "--limit", "-1"], "must be >= 0"),
    "missing report": (["bench", "--report", "{t}/nofile.json"], "cannot read the results"),
    "report not JSON": (["bench", "--report", "{t}/not.json"], "not a results JSON"),
    "bench beam above the limit": (["bench", "--beams", "1,33"], "up to 32"),
    "markdown in a missing folder": (["bench", "--report", "{t}/not.json", "--markdown", "{t}/nodir/x.md"],
                                     "does not exist"),
    "train into a file": (["train", "--out", "{t}/a_file"], "is a file, not a folder"),
    "zero batch": (["train", "--out", "{t}/run", "--batch-size", "0"], "must be >= 1"),
    "negative workers": (["train", "--out", "{t}/run", "--workers", "-1"], "must be >= 0"),
    "split into a file": (["split", "{t}/list.tsv", "--out", "{t}/a_file", "--hold-out", "a=1"], "is a file"),
    "negative seed": (["synth", "{t}/s", "--seed", "-1"], "must be >= 0"),
    "missing words file": (["synth", "{t}/s", "--words", "{t}/nope.txt"], "no such file: {t}/nope.txt"),
    "missing charset file": (["synth", "{t}/s", "--charset", "{t}/nope.txt"], "no such file"),
}
if not torch.cuda.is_available():
    CASES["cuda without CUDA"] = (["recognize", IMG, "--device", "cuda"], "CUDA is not available")


@pytest.mark.parametrize("name", list(CASES))
def test_bad_command_lines_are_one_line_usage_errors(name, files, capsys):
    argv, message = CASES[name]
    argv = [a.format(t=files) for a in argv]
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own usage errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    assert message.format(t=files) in err and "Traceback" not in err
    assert not (files / "s").exists() and not (files / "run").exists()  # nothing was started


def test_eval_with_unreadable_images_reports_and_exits_1(tmp_path, capsys):
    (tmp_path / "list.tsv").write_text(f"{IMG}\tx\n{tmp_path}/gone.png\ty\n")
    assert main(["eval", str(tmp_path / "list.tsv"), "--json"]) == 1
    captured = capsys.readouterr()
    assert '"count": 2' in captured.out
    assert f"1 of 2 images could not be read (scored as empty readings): {tmp_path}/gone.png" in captured.err
