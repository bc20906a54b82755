"""The CUDA-graph greedy loop's bookkeeping, run eagerly on CPU on the very buffers a graph would capture:
padded rows, chunks and the last short chunk, the early exit and the reuse of one graph's state must give
``greedy_decode_ref``'s lines bit for bit. (tests/gpu/test_cuda.py replays real graphs.)"""

import pytest
import torch

from fastocr.bench import decoder_model
from fastocr.config import ModelConfig
from fastocr.decode import AttnStep
from fastocr.engine.graphs import GraphCache, GreedyGraph, padded_rows
from fastocr.errors import OptionError
from fastocr.reference import greedy_decode_ref

EARLY_EOS = 0.22  # the EOS logit where these random decoders end their lines at different steps (1 to max_len)


def _model(attention: str, eos_bias: float):
    cfg = ModelConfig(hidden_size=32, attention=attention, img_width=64 if attention == "slot" else 400)
    model = decoder_model(num_classes=30, config=cfg)  # EOS suppressed: every line runs every step
    model.decoder.decoder.out.bias.data[1] = eos_bias  # ... unless lines are pushed to end early
    return model


def _same_lines(a, b, exact: bool):
    """Same tokens and lengths; log-probs bit for bit when no rows were padded (padding changes the matrix
    products' row count, and with it their rounding in the last bit), else to fp32 tolerance."""
    assert torch.equal(a.lengths, b.lengths)
    check = torch.equal if exact else (lambda x, y: torch.allclose(x, y, rtol=1e-5, atol=1e-6))
    assert check(a.confidence, b.confidence)
    for i, n in enumerate(a.lengths.tolist()):
        assert torch.equal(a.tokens[i, :n], b.tokens[i, :n])
        assert check(a.token_logprobs[i, :n], b.token_logprobs[i, :n])


@pytest.mark.parametrize("attention", ["slot", "additive"])
@pytest.mark.parametrize("eos_bias", [-100.0, EARLY_EOS], ids=["no-eos", "early-eos"])
@pytest.mark.parametrize("n,max_len", [(5, 10), (8, 4), (1, 3)])
@torch.inference_mode()
def test_eager_graph_body_equals_the_reference(attention, eos_bias, n, max_len):
    model = _model(attention, eos_bias)
    g = torch.Generator().manual_seed(n)
    T = model.config.num_slots if attention == "slot" else 9
    enc = torch.randn(T, n, 32, generator=g)
    lengths = torch.randint(1, T + 1, (n,), generator=g) if attention == "additive" else None
    ref = greedy_decode_ref(AttnStep(model.decoder, enc, lengths=lengths), n, max_len)
    cache = GraphCache(capture=False)
    memory = model.decoder.memory(enc, lengths)
    out = cache.decode(model.decoder, memory, max_len)
    _same_lines(out, ref, exact=padded_rows(n) == n)
    if eos_bias < 0:
        assert out.tokens.shape == (n, max_len)
    elif n > 1:  # lines that end at different steps, so the per-line end is what is compared
        assert len(set(ref.lengths.tolist())) > 1
    # the same graph again, with other lines: its state is reset
    enc2 = torch.randn(T, n, 32, generator=g)
    ref2 = greedy_decode_ref(AttnStep(model.decoder, enc2, lengths=lengths), n, max_len)
    _same_lines(cache.decode(model.decoder, model.decoder.memory(enc2, lengths), max_len), ref2,
                exact=padded_rows(n) == n)
    assert len(cache._graphs) == 1


@torch.inference_mode()
def test_early_exit_stops_after_the_chunk_where_all_lines_ended():
    model = _model("slot", 50.0)  # every line ends at its first step
    enc = torch.randn(model.config.num_slots, 3, 32)
    out = GraphCache(chunk=4, capture=False).decode(model.decoder, model.decoder.memory(enc), 20)
    assert out.lengths.tolist() == [1, 1, 1] and out.tokens.shape == (3, 4)


def test_padding_rows_and_limits():
    assert [padded_rows(n) for n in (1, 2, 3, 5, 64, 65)] == [1, 2, 4, 8, 64, 128]
    model = _model("slot", 0.0)
    T = model.config.num_slots
    graph = GreedyGraph(model.decoder, torch.zeros(T, 4, 32), rows=4, capture=False)
    with pytest.raises(ValueError, match="1 to 4 lines"):
        graph(torch.zeros(T, 5, 32), 5, 3)


def test_cuda_graphs_option_needs_cuda():
    from fastocr import Alphabet, Recognizer
    from fastocr.model import OCRModel

    if torch.cuda.is_available():
        pytest.skip("CUDA present")
    with pytest.raises(OptionError, match="cuda_graphs needs a CUDA device"):
        Recognizer(OCRModel(ModelConfig(), 5), Alphabet("abc"), device="cpu", cuda_graphs=True)


@torch.inference_mode()
def test_masked_memories_of_different_widths_share_a_graph():
    """Additive attention masks columns past each line's length, so 9 and 13 encoder columns both run on a
    16-column graph (stale columns of the earlier, wider batch included) and read as the reference does; the
    slot model's fixed 71 slots are never padded."""
    from fastocr.engine.graphs import padded_columns

    assert [padded_columns(t) for t in (1, 9, 16, 17, 300)] == [16, 16, 16, 32, 512]
    model = _model("additive", 0.28)  # lines of 1, 2 and 6 steps in both batches
    cache = GraphCache(capture=False)
    g = torch.Generator().manual_seed(3)
    for T in (13, 9):
        enc = torch.randn(T, 4, 32, generator=g)
        lengths = torch.randint(1, T + 1, (4,), generator=g)
        ref = greedy_decode_ref(AttnStep(model.decoder, enc, lengths=lengths), 4, 6)
        assert len(set(ref.lengths.tolist())) > 1, ref.lengths
        _same_lines(cache.decode(model.decoder, model.decoder.memory(enc, lengths), 6), ref, exact=False)
    assert len(cache._graphs) == 1
    slot = _model("slot", 3.0)
    slot_cache = GraphCache(capture=False)
    enc = torch.randn(slot.config.num_slots, 4, 32, generator=g)
    slot_cache.decode(slot.decoder, slot.decoder.memory(enc), 3)
    assert next(iter(slot_cache._graphs))[1][0][0] == slot.config.num_slots
