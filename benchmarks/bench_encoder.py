"""The CNN encoder on CPU: NCHW against NHWC (channels_last) images, passes of 8 against 64 lines, fp32
against bf16: what the Recognizer's CPU defaults (NHWC, encoder_batch=8) and precision="bf16" rest on.

Run: python -m pytest -o addopts= benchmarks/bench_encoder.py --benchmark-enable --benchmark-columns=median
``extra_info["ms_per_line"]`` is the per-line cost; 64 lines at 280 px, the original architecture.
"""

import pytest
import torch

from fastocr.config import ModelConfig
from fastocr.model import OCRModel
from fastocr.train.loop import _bf16_is_fast

LINES = 64


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return OCRModel(ModelConfig(), 5991).eval()


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("per_pass", [8, 64])
@pytest.mark.parametrize("layout", ["nchw", "nhwc"])
def test_cnn(benchmark, model, layout, per_pass, dtype):
    if dtype == torch.bfloat16 and not _bf16_is_fast(torch.device("cpu")):
        pytest.skip("no native bf16 on this CPU")
    x = torch.randn(LINES, 3, 32, 280).to(dtype)
    if layout == "nhwc":
        x = x.contiguous(memory_format=torch.channels_last)
    cnn = model.encoder.cnn.to(dtype)
    benchmark.group = "CNN encoder, 64 lines x 280 px, CPU"

    @torch.inference_mode()
    def run():
        return [cnn(x[i : i + per_pass]) for i in range(0, LINES, per_pass)]

    benchmark.pedantic(run, rounds=3, warmup_rounds=1)
    benchmark.extra_info["ms_per_line"] = benchmark.stats.stats.median * 1e3 / LINES
    model.encoder.cnn.float()


@pytest.fixture(scope="module")
def scene_widths():
    """Each line's own width at 32 px high, of 64 dev_scene words (every 17th line): median 79 px of 280."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
    from conftest import SHARED

    from fastocr.engine.loader import load_line
    from fastocr.train.data import read_label_list

    labels = SHARED / "data" / "dev_scene" / "labels.tsv"
    if not labels.exists():
        pytest.skip(f"no {labels}")
    paths = [p for p, _ in read_label_list(labels)[::17][:LINES]]
    return torch.tensor([load_line(p, i, ModelConfig())[2] for i, p in enumerate(paths)])


# where CNN.forward_padded swaps the columns of padding alone for a padding canvas's: None reads each whole
# canvas; () only the final columns (one stage); the default after the 2nd-4th pooling; or after every pooling
STAGES = {"whole-canvas": None, "skip-padding-final-columns": (), "skip-padding": "default",
          "skip-padding-every-pooling": (3, 6, 12, 18)}


@pytest.mark.parametrize("stages", list(STAGES.values()), ids=list(STAGES))
def test_cnn_columns_of_scene_words(benchmark, model, scene_widths, stages):
    """The Recognizer's CPU path for fixed-width models (NHWC, 8 lines a pass): the CNN over each whole 280 px
    canvas, against ``Encoder.columns_padded`` (each line read only as far as its own pixels reach), with the
    padding swapped in at several choices of ``CNN.stage_starts``."""
    encoder = model.encoder
    x = torch.full((LINES, 3, 32, 280), -1.0)
    for i, w in enumerate(scene_widths.tolist()):
        x[i, :, :, :w] = torch.rand(3, 32, w) * 2 - 1
    x = x.contiguous(memory_format=torch.channels_last)
    benchmark.group = "CNN columns, 64 dev_scene words on 280 px canvases, CPU"
    if stages not in (None, "default"):
        encoder.cnn.stage_starts = lambda: stages  # this instance only, until the end of the test
    with torch.inference_mode():
        maps = encoder.cnn.padding_maps(torch.full((1, 3, 32, 280), -1.0).contiguous(memory_format=torch.channels_last))

    @torch.inference_mode()
    def run():
        return encoder.columns_padded(x, scene_widths, maps, 8) if stages is not None else encoder.columns(x, 8)

    try:
        benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    finally:
        vars(encoder.cnn).pop("stage_starts", None)
    benchmark.extra_info["ms_per_line"] = benchmark.stats.stats.median * 1e3 / LINES
    benchmark.extra_info["lines_per_s"] = LINES / benchmark.stats.stats.median
