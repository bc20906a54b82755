"""`fastocr train` under torchrun: 2 CPU processes (gloo) train in lockstep and end with identical weights."""

import subprocess
import sys

import torch


def test_two_ranks_end_with_identical_weights(tmp_path):
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "fastocr.cli", "train", "--out", str(tmp_path), "--steps", "3", "--batch-size", "2",
           "--val-size", "2", "--eval-every", "1000", "--ckpt-every", "1", "--workers", "0",
           "--max-label-len", "6", "--threads", "1", "--no-amp"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "weights identical on all 2 ranks" in proc.stderr
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ck["step"] == 3
    resumed = subprocess.run(cmd[:cmd.index("--steps") + 1] + ["4"] + cmd[cmd.index("--steps") + 2 :] + ["--resume"],
                             capture_output=True, text=True, timeout=600, check=False)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "resumed from" in resumed.stderr and "weights identical on all 2 ranks" in resumed.stderr
    assert torch.load(tmp_path / "latest.pt", weights_only=True)["step"] == 4
