"""The suite refuses to run without the original project's seed files, instead of passing over empty lists."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def test_a_shared_folder_without_seed_files_stops_the_suite(tmp_path):
    copy = tmp_path / "checkout" / "tests"
    copy.mkdir(parents=True)
    shutil.copy(TESTS / "conftest.py", copy)
    (tmp_path / "empty-shared").mkdir()
    env = {**os.environ, "FASTOCR_SHARED": str(tmp_path / "empty-shared"), "PYTHONPATH": str(TESTS)}
    run = subprocess.run([sys.executable, str(copy / "conftest.py")], env=env, capture_output=True, text=True)
    assert run.returncode != 0 and "the tests need the original project's seed files" in run.stderr
