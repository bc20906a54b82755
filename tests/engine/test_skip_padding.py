"""skip_padding: on a fixed-width canvas the CNN reads each line only as far as its own pixels reach, and the
columns of padding alone come from one canvas of padding: the same columns as the whole canvas gives."""

import pytest
import torch

import fastocr
from fastocr.model import CNN, Encoder, padding_extent, widest_line

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


@pytest.mark.parametrize("width, channels_last", [(280, False), (560, False), (280, True)])
def test_padded_columns_equal_the_whole_canvas(width, channels_last):
    torch.manual_seed(1)
    encoder = Encoder(3, 64).eval()
    line_widths = torch.tensor([1, 5, 33, 64, 100, 151, width // 2, width - 40, width - 1, width])
    images = torch.full((len(line_widths), 3, 32, width), PAD)
    for i, w in enumerate(line_widths.tolist()):
        images[i, :, :, :w] = torch.rand(3, 32, w) * 2 - 1
    layout = torch.channels_last if channels_last else torch.contiguous_format
    images = images.contiguous(memory_format=layout)
    with torch.no_grad():
        whole = encoder.columns(images)
        maps = encoder.cnn.padding_maps(torch.full((1, 3, 32, width), PAD).contiguous(memory_format=layout))
        skipped = encoder.columns_padded(images, line_widths, maps, chunk=3)
    assert skipped.shape == whole.shape
    torch.testing.assert_close(skipped, whole, rtol=1e-5, atol=1e-5)  # summation order only


def test_each_stage_reads_only_as_far_as_its_output_needs():
    """forward_padded's columns: those whose receptive field reaches the pixels (padding_extent's first_pad),
    the same as the whole canvas gives them, with the canvas past the pixels made NaN: no stage reads it, the
    padding comes from padding_maps."""
    torch.manual_seed(2)
    cnn = CNN(3).eval()
    assert cnn.stage_starts() == (6, 12, 18)  # after the 2nd, 3rd and 4th pooling
    with torch.no_grad():
        maps = cnn.padding_maps(torch.full((1, 3, 32, 280), PAD))
        for w in (1, 7, 40, 74, 199, 276, 280):
            pixels = torch.rand(2, 3, 32, w) * 2 - 1
            whole = cnn(torch.cat([pixels, torch.full((2, 3, 32, 280 - w), PAD)], 3))
            poisoned = torch.cat([pixels, torch.full((2, 3, 32, 280 - w), float("nan"))], 3)
            first_pad, _ = padding_extent(torch.tensor([w]), 280)
            cut = cnn.forward_padded(poisoned, w, maps)
            assert cut.shape[3] == int(first_pad.clamp(max=71)), w
            torch.testing.assert_close(cut, whole[..., : cut.shape[3]], rtol=1e-5, atol=1e-5)



def test_widest_line_inverts_first_pad():
    """The ONNX encoder reads its pixels' reach back from first_pad: the widest line with that first_pad."""
    widths = torch.arange(1, 561)
    first_pad, _ = padding_extent(widths, 560)
    for f in first_pad.unique().tolist()[:-1]:  # the last holds the widths up to 560 only
        assert widest_line(f) == int(widths[first_pad == f].max()), f


def test_padding_columns_are_the_padding_canvas_columns():
    torch.manual_seed(3)
    cnn = CNN(3).eval()
    canvas = torch.full((1, 3, 32, 280), PAD)
    with torch.no_grad():
        columns = cnn.padding_columns(cnn.padding_maps(canvas))
        assert torch.equal(columns, cnn(canvas)[0, :, 0].t())

def test_the_recognizer_reads_alike_either_way(recognizer, generated_images):
    plain = fastocr.Recognizer(recognizer.model, recognizer.alphabet, "cpu", skip_padding=False)
    want = plain.recognize(generated_images)
    got = recognizer.recognize(generated_images)
    assert recognizer.skip_padding and [r.text for r in got] == [r.text for r in want]
    assert all(abs(a.confidence - b.confidence) <= 5e-4 * b.confidence for a, b in zip(got, want))
