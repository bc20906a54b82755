"""On a CUDA machine: the Triton kernels, the CUDA beam_step kernel and whole recognitions against the
CPU/reference paths. Skipped without CUDA (CI has none); run on a GPU with ``pytest tests/gpu/test_cuda.py``.

The CPU suite already checks the same kernels' arithmetic under the Triton interpreter and the shared beam-step
logic through the CPU op; these tests add what only hardware shows: compiled code, TF32 and memory layouts.
"""

import math

import pytest
import torch
from asserts import FP32_TOL, LOW_PRECISION_TOL, assert_close_verbose
from conftest import TEST_IMAGES
from op_inputs import STATE_FIELDS, additive_inputs, gru_inputs, head_inputs, make_args, slot_inputs

from fastocr import _ext, ops
from fastocr.engine.beam import TokenAutomaton
from fastocr.reference import attn_additive_ref, attn_slot_ref, gru_step_ref, logits_argmax_ref

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _cuda(args, dtype=None):
    return tuple(a.cuda() if not a.is_floating_point() or dtype is None else a.to("cuda", dtype) for a in args)


@pytest.fixture(autouse=True)
def exact_fp32(monkeypatch):
    """cuDNN convolutions and RNNs default to TF32 (~1e-3 relative); the comparisons here are about fastocr's
    own code, so they run in true fp32. The logits_argmax kernel is opted in: it is off by default (slower)."""
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    monkeypatch.setenv("FASTOCR_TRITON_OPT_IN", "logits_argmax")


def _triton(dispatcher, *args):
    ops.LAST_PATH.clear()
    out = dispatcher(*args)
    assert ops.LAST_PATH[dispatcher.__name__] == "triton", ops.kernel_info()
    return out


CASES = [
    ("attn_slot", ops.attn_slot, attn_slot_ref, lambda n: slot_inputs(n, 71, 256)),
    ("attn_additive", ops.attn_additive, attn_additive_ref, lambda n: additive_inputs(n, 300, 256)),
    ("gru_step", ops.gru_step, gru_step_ref, lambda n: gru_inputs(n, 256)[1]),
    ("logits_argmax", ops.logits_argmax, logits_argmax_ref, lambda n: head_inputs(n, 256, 5991)),
]


@pytest.mark.parametrize("rows", [1, 17, 64, 320])
@pytest.mark.parametrize(("name", "dispatcher", "ref", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_kernels_fp32_on_cuda(name, dispatcher, ref, inputs, rows):
    cpu_args = inputs(rows)  # the reference runs on CPU: cuDNN's GRU (the CUDA reference) computes in TF32
    out, expected = _triton(dispatcher, *_cuda(cpu_args)), ref(*cpu_args)
    out = tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu()
    out, expected = (out, expected) if isinstance(out, tuple) else ((out,), (expected,))
    for i, (o, e) in enumerate(zip(out, expected)):
        if o.is_floating_point():
            assert_close_verbose(o, e, FP32_TOL, FP32_TOL, f"{name}[{i}]")
        else:  # argmax ids: equal wherever the reference's top two are not within the tolerance
            assert (o == e).float().mean() > 0.99, f"{name}: ids differ"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=["fp16", "bf16"])
@pytest.mark.parametrize(("name", "dispatcher", "ref", "inputs"), CASES, ids=[c[0] for c in CASES])
def test_kernels_low_precision_on_cuda(name, dispatcher, ref, inputs, dtype):
    out = _triton(dispatcher, *_cuda(inputs(64), dtype))
    expected = ref(*inputs(64))
    out = tuple(o.cpu() for o in out) if isinstance(out, tuple) else out.cpu()
    out, expected = (out, expected) if isinstance(out, tuple) else ((out,), (expected,))
    tol = LOW_PRECISION_TOL[dtype]
    for i, (o, e) in enumerate(zip(out, expected)):
        if o.is_floating_point():
            assert_close_verbose(o.float(), e.float(), 2 * tol, 2 * tol, f"{name}[{i}] {dtype}")


@pytest.mark.parametrize(("B", "K", "V"), [(1, 1, 97), (3, 4, 11), (64, 5, 5991), (16, 10, 5991), (2, 32, 97)])
@pytest.mark.parametrize("step", [0, 3])
@pytest.mark.parametrize("constrained", [False, True])
def test_beam_step_cuda_equals_cpu(B, K, V, step, constrained):
    if _ext.C_CUDA is None:
        pytest.skip(f"fastocr._C_cuda not built: {_ext.C_CUDA_ERROR}")
    automaton = TokenAutomaton.lexicon([[2, 3, 4], [2, 5], [6]], eos=1) if constrained else None
    args = make_args(B=B, K=K, V=V, N=min(2, K), L=8, step=step, seed=B * K + step, automaton=automaton)
    cpu = {k: v.clone() if torch.is_tensor(v) else v for k, v in args.items()}
    gpu = {k: v.cuda() if torch.is_tensor(v) else v for k, v in args.items()}
    tok_c, par_c = ops.beam_step(**cpu)
    tok_g, par_g = ops.beam_step(**gpu)
    assert torch.equal(tok_g.cpu(), tok_c) and torch.equal(par_g.cpu(), par_c)
    for f in STATE_FIELDS + (("dfa_state",) if constrained else ()):
        assert torch.equal(gpu[f].cpu(), cpu[f]), f


@pytest.mark.parametrize("beam_size", [1, 5])
def test_recognizer_on_cuda_matches_cpu(original_files, beam_size):
    import fastocr

    cpu = fastocr.Recognizer.from_original(*original_files, device="cpu")
    gpu = fastocr.Recognizer.from_original(*original_files, device="cuda")
    images = list(TEST_IMAGES) * 8
    ref = cpu.recognize(images, beam_size=beam_size, batch_size=16)
    ops.LAST_PATH.clear()
    got = gpu.recognize(images, beam_size=beam_size, batch_size=16)
    assert ops.LAST_PATH.get("gru_step") == "triton"
    assert [r.text for r in got] == [r.text for r in ref]
    for g, r in zip(got, ref):
        assert math.isclose(g.confidence, r.confidence, rel_tol=1e-4), (g.confidence, r.confidence)


def test_default_tf32_convolutions_read_as_cpu_does(original_files, monkeypatch):
    """The default CUDA fp32 path: cuDNN's TF32 convolutions and RNNs (the other tests turn TF32 off to check
    fastocr's own code exactly). Lines the CPU reads with confidence >= 0.8 read the same; confidences within
    TF32's ~1e-3 per layer, 2% over the whole line."""
    import fastocr

    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", True)  # torch's default
    cpu = fastocr.Recognizer.from_original(*original_files, device="cpu")
    gpu = fastocr.Recognizer.from_original(*original_files, device="cuda")
    images = list(TEST_IMAGES) * 4
    ref, got = cpu.recognize(images, batch_size=16), gpu.recognize(images, batch_size=16)
    sure = [i for i, r in enumerate(ref) if r.confidence >= 0.8]
    assert sure, "the fixture reads no line confidently"
    assert [got[i].text for i in sure] == [ref[i].text for i in sure]
    for i in sure:
        assert math.isclose(got[i].confidence, ref[i].confidence, rel_tol=2e-2), (got[i].confidence, ref[i].confidence)


@pytest.mark.parametrize("precision", ["fp16", "bf16"])
def test_low_precision_recognizer_on_cuda(original_files, precision):
    import fastocr

    ref = fastocr.Recognizer.from_original(*original_files, device="cuda").recognize(list(TEST_IMAGES))
    got = fastocr.Recognizer.from_original(*original_files, device="cuda", precision=precision).recognize(
        list(TEST_IMAGES))
    # The fixture reads some lines with near-tied steps (low confidence), whose texts may flip in low precision;
    # the lines fp32 reads confidently must read the same. (Empty texts are real here: the fixture's EOS wins.)
    assert all(r.ok and 0 < r.confidence <= 1 for r in got)
    confident = [i for i, r in enumerate(ref) if r.confidence >= 0.8]
    assert confident, "the fixture should read some lines confidently"
    assert [got[i].text for i in confident] == [ref[i].text for i in confident]
    agree = sum(g.text == r.text for g, r in zip(got, ref))
    print(f"{precision}: {agree} of {len(ref)} texts as fp32")


def test_real_out_of_memory_is_split(original_files):
    """A batch far larger than the memory budget of a capped allocator is split, and every line is read."""
    import fastocr

    rec = fastocr.Recognizer.from_original(*original_files, device="cuda")
    _, total = torch.cuda.mem_get_info()
    torch.cuda.set_per_process_memory_fraction(0.02)  # ~2% of the card
    try:
        images = [TEST_IMAGES[0]] * 4096
        results = rec.recognize(images, batch_size=4096)
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)
    errors = {r.error for r in results if not r.ok}
    assert not errors, errors
    assert len({r.text for r in results}) == 1
    (cap,) = rec.limits.oom_caps.values()  # it did run out of memory and split
    assert cap < 4096
    print(f"batch 4096 capped at 2% of {total / 2**30:.0f} GiB: split to {cap} lines")


@pytest.mark.parametrize("attention", ["slot", "additive"])
def test_captured_graph_replays_the_eager_body(attention):
    """Real CUDA graphs against the same body run eagerly on the same buffers: same tokens, lengths and
    (same kernels, same shapes) the same log-probs; a second batch reuses the recorded graph."""
    from fastocr.bench import decoder_model
    from fastocr.config import ModelConfig
    from fastocr.engine.graphs import GraphCache

    cfg = ModelConfig(attention=attention, img_width=280 if attention == "slot" else 400)
    model = decoder_model(num_classes=97, config=cfg, device="cuda")
    model.decoder.decoder.out.bias.data[1] = 2.0  # lines end at different steps
    captured, eager = GraphCache(), GraphCache(capture=False)
    with torch.inference_mode():
        for n, seed in ((5, 0), (7, 1), (8, 2)):
            g = torch.Generator(device="cuda").manual_seed(seed)
            T = cfg.num_slots if attention == "slot" else 40
            enc = torch.randn(T, n, cfg.hidden_size, device="cuda", generator=g)
            lengths = torch.randint(1, T + 1, (n,), device="cuda", generator=g) if attention == "additive" else None
            memory = model.decoder.memory(enc, lengths)
            a, b = captured.decode(model.decoder, memory, 20), eager.decode(model.decoder, memory, 20)
            assert torch.equal(a.lengths, b.lengths) and torch.equal(a.tokens, b.tokens)
            assert_close_verbose(a.confidence, b.confidence, atol=FP32_TOL, rtol=FP32_TOL)
    assert len(captured._graphs) == 1  # rows 5, 7 and 8 all pad to 8


def test_recognizer_with_cuda_graphs_reads_as_without(original_files):
    import fastocr

    images = list(TEST_IMAGES) * 8
    ref = fastocr.Recognizer.from_original(*original_files, device="cuda").recognize(images, batch_size=16)
    got = fastocr.Recognizer.from_original(*original_files, device="cuda", cuda_graphs=True).recognize(
        images, batch_size=16)
    assert [r.text for r in got] == [r.text for r in ref]
    for g, r in zip(got, ref):
        assert math.isclose(g.confidence, r.confidence, rel_tol=1e-4), (g.confidence, r.confidence)


def test_captured_graphs_of_masked_memories_share_an_octave():
    """A variable-width model's memories of 33, 40 and 64 columns replay one captured 64-column graph (65 needs
    a 128-column one), with the columns past each line's length masked: the same lines as eager decoding."""
    from fastocr.bench import decoder_model
    from fastocr.config import ModelConfig
    from fastocr.engine.graphs import GraphCache

    cfg = ModelConfig(attention="additive", img_width=400)
    model = decoder_model(num_classes=97, config=cfg, device="cuda")
    model.decoder.decoder.out.bias.data[1] = 2.0
    captured, eager = GraphCache(), GraphCache(capture=False)
    with torch.inference_mode():
        for n, T in ((5, 33), (7, 40), (8, 64), (3, 65)):
            g = torch.Generator(device="cuda").manual_seed(T)
            enc = torch.randn(T, n, cfg.hidden_size, device="cuda", generator=g)
            memory = model.decoder.memory(enc, torch.randint(1, T + 1, (n,), device="cuda", generator=g))
            a, b = captured.decode(model.decoder, memory, 20), eager.decode(model.decoder, memory, 20)
            assert torch.equal(a.lengths, b.lengths) and torch.equal(a.tokens, b.tokens)
            assert_close_verbose(a.confidence, b.confidence, atol=FP32_TOL, rtol=FP32_TOL)
    assert len(captured._graphs) == 2


def test_bundled_model_with_cuda_graphs_reads_as_without():
    """The variable-width default model on lines of many widths (many width buckets, few graphs)."""
    import fastocr
    from fastocr.checkpoint import DEFAULT_MODEL
    from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

    if not DEFAULT_MODEL.exists():
        pytest.skip("no bundled default model")
    lines = SyntheticLines(ASCII_CHARSET, 48, seed=5, max_len=60)
    images = [lines[i][0] for i in range(len(lines))]
    ref = fastocr.Recognizer.load(device="cuda").recognize(images, batch_size=16)
    rec = fastocr.Recognizer.load(device="cuda", cuda_graphs=True)
    got = rec.recognize(images, batch_size=16)
    assert [r.text for r in got] == [r.text for r in ref]
    for g, r in zip(got, ref):
        assert math.isclose(g.confidence, r.confidence, rel_tol=1e-4), (g.confidence, r.confidence)
    widths = {rec._load(image, 0)[1].shape[1] for image in images}
    print(f"{len(widths)} canvas widths, {len(rec._graphs._graphs)} graphs")


def test_cuda_graphs_called_from_threads_on_their_own_streams():
    """One recognizer with graphs, four threads each on its own CUDA stream: every call reads as a
    sequential one (graph capture in thread_local mode, buffers handed over with an event between callers)."""
    from concurrent.futures import ThreadPoolExecutor

    import fastocr
    from fastocr.checkpoint import DEFAULT_MODEL
    from fastocr.train.synth import ASCII_CHARSET, SyntheticLines

    if not DEFAULT_MODEL.exists():
        pytest.skip("no bundled default model")
    lines = SyntheticLines(ASCII_CHARSET, 64, seed=9, max_len=30)
    images = [lines[i][0] for i in range(len(lines))]
    chunks = [images[i : i + 16] for i in range(0, 64, 16)]
    rec = fastocr.Recognizer.load(device="cuda", cuda_graphs=True)
    expected = [[r.text for r in rec.recognize(c, batch_size=16)] for c in chunks]

    def read(chunk):
        with torch.cuda.stream(torch.cuda.Stream()):
            return [r.text for r in rec.recognize(chunk, batch_size=16)]

    with ThreadPoolExecutor(4) as pool:
        for _ in range(3):
            assert list(pool.map(read, chunks)) == expected


def test_training_on_cuda_resumes_on_the_cpu(tmp_path):
    """CUDA training (fused Adam, pinned batches, bf16 autocast) writes a checkpoint a CPU run resumes from."""
    from fastocr.cli import build_parser
    from fastocr.cli.args import options_from
    from fastocr.train import TrainOptions, train

    def run(device, steps, *extra):
        args = build_parser().parse_args(
            ["train", "--out", str(tmp_path), "--device", device, "--steps", str(steps), "--batch-size", "8",
             "--val-size", "4", "--eval-every", "2", "--ckpt-every", "1", "--workers", "1", "--max-label-len", "8",
             *extra])
        train(options_from(TrainOptions, args))

    run("cuda", 3)
    ck = torch.load(tmp_path / "latest.pt", weights_only=True)
    assert ck["step"] == 3 and ck["optimizer"]["state"]
    run("cpu", 4, "--resume")
    assert torch.load(tmp_path / "latest.pt", weights_only=True)["step"] == 4
