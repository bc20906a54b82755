"""skip_padding: on a fixed-width canvas the CNN reads each line only as far as its own pixels reach, and the
columns of padding alone come from one canvas of padding: the same columns as the whole canvas gives."""

import pytest
import torch

import fastocr
from fastocr.model import CNN, Encoder

PAD = -1.0  # to_batch's padding, once normalised


def test_the_receptive_field_is_what_the_layers_read():
    torch.manual_seed(0)
    cnn = CNN(3).eval()
    left, right = cnn.receptive_field()
    x = torch.randn(1, 3, 32, 200)
    with torch.no_grad():
        base = cnn(x)[0, :, 0]
        for col in (100, 101, 102, 103):
            y = x.clone()
            y[..., col] += 5.0
            changed = ((cnn(y)[0, :, 0] - base).abs().amax(0) > 0).nonzero().flatten()
            reads = [j for j in range(base.shape[1]) if 4 * j - left <= col <= 4 * j + right]
            assert changed.tolist() == reads, col


@pytest.mark.parametrize("width", [280, 560])
def test_padded_columns_equal_the_whole_canvas(width):
    torch.manual_seed(1)
    encoder = Encoder(3, 64).eval()
    line_widths = torch.tensor([1, 5, 33, 64, 100, 151, width // 2, width - 40, width - 1, width])
    images = torch.full((len(line_widths), 3, 32, width), PAD)
    for i, w in enumerate(line_widths.tolist()):
        images[i, :, :, :w] = torch.rand(3, 32, w) * 2 - 1
    with torch.no_grad():
        whole = encoder.columns(images)
        padding = encoder.columns(torch.full((1, 3, 32, width), PAD))[:, 0]
        skipped = encoder.columns_padded(images, line_widths, padding, chunk=3)
    assert skipped.shape == whole.shape
    torch.testing.assert_close(skipped, whole, rtol=1e-5, atol=1e-5)  # summation order only


def test_the_recognizer_reads_alike_either_way(recognizer, generated_images):
    plain = fastocr.Recognizer(recognizer.model, recognizer.alphabet, "cpu", skip_padding=False)
    want = plain.recognize(generated_images)
    got = recognizer.recognize(generated_images)
    assert recognizer.skip_padding and [r.text for r in got] == [r.text for r in want]
    assert all(abs(a.confidence - b.confidence) <= 5e-4 * b.confidence for a, b in zip(got, want))
