"""Shared fixtures. Triton runs through its interpreter when there is no GPU: set before any kernel import."""

import os

import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from pathlib import Path

import numpy as np
import pytest
from original import OrigDecoder, OrigEncoder
from PIL import Image

SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # CI clones elsewhere: shared/ sits beside the checkout
    SHARED = Path(os.environ.get("FASTOCR_SHARED", Path.cwd().parent / "shared"))
SEED = SHARED / "seed"
ALPHABET_5990 = SEED / "char_std_5990.txt"
TEST_IMAGES = sorted((SEED / "test_img").glob("*.jpg"))
if not ALPHABET_5990.exists() or not TEST_IMAGES:  # without them, tests over TEST_IMAGES would pass on nothing
    raise RuntimeError(f"the tests need the original project's seed files ({ALPHABET_5990}, {SEED / 'test_img'}/*.jpg): "
                       "set FASTOCR_SHARED to the folder that holds seed/")


def make_original_weights(seed=0, hidden=256, classes=5991, slots=71, hot_gain=100.0, ctx_gain=30.0, enc_gain=5.0,
                          eos_bias=22.0):
    """Random weights in the original layout, made decisive so decoding gives real strings and confidences.

    Plain random init gives near-uniform 1/5991 probabilities (confidence underflows to 0.0 after 20 steps,
    which would make confidence parity vacuous) and encoder outputs that hardly depend on the image. So: 40 hot
    output classes (EOS among them) with sharp weights, a stronger encoder-to-decoder path, and an EOS bias that
    ends some lines early.
    """
    torch.manual_seed(seed)
    enc, dec = OrigEncoder(hidden), OrigDecoder(hidden, classes, slots)
    calibrate_batchnorm(enc, seed)
    with torch.no_grad():
        enc.rnn[1].embedding.weight.mul_(enc_gain)
        dec.decoder.attn_combine.weight[:, hidden:].mul_(ctx_gain)
        hot = torch.cat([torch.tensor([1]), torch.randperm(classes - 2)[:40] + 2])
        dec.decoder.out.weight[hot] *= hot_gain
        dec.decoder.out.bias[1] += eos_bias  # lines end at different steps (0, 8 and 20 on the test images)
    return enc.eval(), dec.eval()


@pytest.fixture(scope="session")
def original_files(tmp_path_factory):
    """(encoder.pth, decoder.pth, alphabet) saved exactly as the original saved them: bare state_dicts."""
    d = tmp_path_factory.mktemp("original")
    enc, dec = make_original_weights()
    torch.save(enc.state_dict(), d / "encoder.pth")
    torch.save(dec.state_dict(), d / "decoder.pth")
    return d / "encoder.pth", d / "decoder.pth", ALPHABET_5990


@pytest.fixture(scope="session")
def original_modules(original_files):
    enc, dec = OrigEncoder(), OrigDecoder()
    enc.load_state_dict(torch.load(original_files[0], weights_only=True))
    dec.load_state_dict(torch.load(original_files[1], weights_only=True))
    return enc.eval(), dec.eval()


@pytest.fixture(scope="session")
def recognizer(original_files):
    import fastocr

    return fastocr.Recognizer.from_original(*original_files, device="cpu")


def calibrate_batchnorm(encoder: torch.nn.Module, seed: int = 0) -> None:
    """Sets the encoder's BN running statistics to those of line-like images. With made-up statistics a random
    CNN's features hardly depend on the image (their spread across images was 2% of their spread overall), and
    every line decoded to one of 3 texts, all of one length."""
    from fastocr.bench import calibrate_batchnorm as calibrate

    rng = np.random.default_rng(seed + 7)
    calibrate(encoder, torch.stack([_normalised(random_line_image(rng, 32, w)) for w in range(60, 280, 14)]))


def _normalised(image: Image.Image) -> torch.Tensor:
    """The original's preprocessing of one line onto its 32 x 280 canvas: [3, 32, 280] in [-1, 1]."""
    from fastocr.engine.preprocess import preprocess

    return preprocess([np.asarray(image)], 32, 280)[0]


def random_line_image(rng: np.random.Generator, height: int, width: int) -> Image.Image:
    """A noisy RGB image with bars, so different images give different encoder outputs."""
    arr = rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    arr[:, rng.integers(0, width, size=max(1, width // 8))] //= 4
    return Image.fromarray(arr)


@pytest.fixture(scope="session")
def generated_images(tmp_path_factory):
    """Images whose sizes reach every preprocessing branch: padded, exactly 280, squashed, tall, tiny."""
    d = tmp_path_factory.mktemp("generated")
    rng = np.random.default_rng(1)
    sizes = [(32, 280), (32, 100), (20, 50), (64, 900), (48, 300), (32, 279), (33, 290), (100, 30), (8, 400),
             (31, 17), (45, 1000)]
    paths = []
    for i, (h, w) in enumerate(sizes):
        p = d / f"gen_{i}_{w}x{h}.png"
        random_line_image(rng, h, w).save(p)
        paths.append(p)
    return paths


# -- a variable-width model; both attention variants, exported (tests/onnx) --------------------------------------


def make_additive_recognizer(max_decode_len: int = 40):
    """A variable-width model (additive attention, the bundled model's kind) with random weights made decisive
    (as ``make_original_weights``), reading lines of varied lengths."""
    from fastocr import Alphabet, ModelConfig, Recognizer
    from fastocr.model import OCRModel
    from fastocr.train.synth import ASCII_CHARSET

    torch.manual_seed(0)
    config = ModelConfig(attention="additive", img_width=1600, max_decode_len=max_decode_len)
    model = OCRModel(config, len(ASCII_CHARSET) + 2)
    calibrate_batchnorm(model.encoder)
    with torch.no_grad():
        model.decoder.decoder.out.weight.mul_(40.0)
        model.decoder.decoder.attn_combine.weight[:, 256:].mul_(20.0)
        model.decoder.decoder.out.bias[1] += 3.0
    return Recognizer(model, Alphabet(ASCII_CHARSET), device="cpu")


@pytest.fixture(scope="session")
def additive_recognizer():
    return make_additive_recognizer()


@pytest.fixture(scope="session", params=["slot", "additive"])
def torch_recognizer(request, recognizer, additive_recognizer):
    """Both attention variants: the original's (slot) and the bundled model's (additive)."""
    return recognizer if request.param == "slot" else additive_recognizer


@pytest.fixture(scope="session")
def exported(torch_recognizer, tmp_path_factory):
    """(torch recognizer, its exported folder)."""
    out = torch_recognizer.export_onnx(tmp_path_factory.mktemp("onnx") / "model")
    return torch_recognizer, out
