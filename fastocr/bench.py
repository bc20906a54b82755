"""Speed measurements shared by ``fastocr bench`` and the pytest-benchmark suites in ``benchmarks/``.

Workloads are closures that do one unit of work; ``measure`` times them; ``report`` turns results (this module's
JSON or pytest-benchmark's, which share the fields used here) into a markdown table and a PNG plot.

Decoder providers (the same B lines of encoder outputs, random weights with EOS suppressed, so every line runs
exactly ``steps`` steps and all providers do the same work):
    original: the original project's loop, one line at a time (batch 1), greedy only;
    reference: ``fastocr.reference`` batched (pure PyTorch, Python beam search);
    extension: the reference step ops with the C++/CUDA ``beam_step`` op (what CPUs run);
    kernels: the Triton decoder step with the ``beam_step`` op (what CUDA runs; CUDA only).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import platform
import statistics
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import torch

from . import ops
from .alphabet import EOS_TOKEN, Alphabet
from .config import ModelConfig
from .decode import AttnStep, greedy_decode
from .engine import Recognizer
from .engine import beam as beam_mod
from .engine.graphs import GraphCache
from .engine.preprocess import load_rgb, padded_width, preprocess, resize_line, to_batch
from .errors import FastOCRError
from .files import atomic_write_bytes
from .model import OCRModel
from .reference import beam_search_ref, greedy_decode_ref

PROVIDERS = ("original", "reference", "extension", "kernels", "graphs")
BASELINES = ("original", "reference")  # the tables' ratio columns


class Unavailable(Exception):
    """The provider cannot run here (e.g. kernels without CUDA); the reason is the message."""


def decoder_model(num_classes: int = 5991, config: ModelConfig | None = None, device="cpu", seed: int = 0):
    """A decoder with random weights whose EOS is suppressed: every line decodes every step."""
    torch.manual_seed(seed)
    model = OCRModel(config or ModelConfig(), num_classes).eval().to(device)
    with torch.no_grad():
        model.decoder.decoder.out.bias[EOS_TOKEN] = -1e4
    return model


def decoder_workload(provider: str, beam: int, batch: int, steps: int, model: OCRModel,
                     device="cpu", seed: int = 0) -> Callable[[], object]:
    """Decodes ``batch`` lines of random encoder outputs for ``steps`` steps with beam ``beam``.

    Raises Unavailable when ``provider`` cannot run here or does not exist for this beam size.
    """
    if provider not in PROVIDERS:
        raise ValueError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if provider == "original" and beam != 1:
        raise Unavailable("the original loop decodes greedily only")
    if provider in ("extension", "kernels") and beam > 1 and not ops.extension_built():
        raise Unavailable("the C++ extension fastocr._C is not built")
    if provider in ("kernels", "graphs") and torch.device(device).type != "cuda":
        raise Unavailable(f"the {'Triton kernels' if provider == 'kernels' else 'CUDA graphs'} run on CUDA only")
    if provider == "graphs" and beam > 1:
        raise Unavailable("CUDA graphs replay greedy decoding only")
    cfg = model.config
    g = torch.Generator().manual_seed(seed)
    enc = torch.randn(cfg.num_slots, batch, cfg.hidden_size, generator=g).to(device)
    dec = model.decoder

    def sync(out):
        if torch.device(device).type == "cuda":
            torch.cuda.synchronize()
        return out

    graphs = GraphCache() if provider == "graphs" else None  # recorded in the first (warm-up) call

    @torch.inference_mode()
    def run():
        with ops.reference_ops() if provider not in ("kernels", "graphs") else contextlib.nullcontext():
            if provider == "original":
                return sync([greedy_decode_ref(AttnStep(dec, enc[:, b : b + 1]), 1, steps, device)
                             for b in range(batch)])
            step = AttnStep(dec, enc, beam)
            if graphs is not None:
                return sync(graphs.decode(dec, step.memory, steps))
            if provider == "reference":
                if beam == 1:
                    return sync(greedy_decode_ref(step, batch, steps, device))
                return sync(beam_search_ref(step, batch, beam, steps, device=device))
            if beam == 1:
                return sync(greedy_decode(step, batch, steps, device))
            return sync(beam_mod.beam_search(step, batch, beam, steps, device=device))

    return run


def end_to_end_workload(provider: str, recognizer, images: list, beam: int = 1,
                        batch: int = 64) -> Callable[[], object]:
    """Recognizes ``images`` from scratch (loading, preprocessing, encoder, decoder) with ``recognizer``.

    ``original`` repeats the original project's loop image by image: preprocess, encode and greedy-decode at
    batch 1 with the reference ops; ``fastocr`` is ``recognizer.recognize`` (batched, width-sorted). For a
    variable-width model the loop puts each line on the canvas fastocr gives it (the next multiple of the width
    bucket) and masks the attention to its own columns, as fastocr does: the padded columns reach the features
    through the backward LSTM, so the same input is compared.
    """
    if provider == "original" and beam != 1:
        raise Unavailable("the original loop decodes greedily only")
    rec, cfg = recognizer, recognizer.config
    if provider == "original" and rec.model is None:
        raise Unavailable("the original loop runs the torch model; an exported folder holds only its graphs")
    # the original loop runs the float32 model on NCHW images, whatever this recognizer's precision
    orig_model = rec.model if rec.dtype == torch.float32 else copy.deepcopy(rec.model).float()

    @torch.inference_mode()
    def original():
        with ops.reference_ops():
            out = []
            for i, image in enumerate(images):
                line = resize_line(load_rgb(image, str(i)), cfg.img_height, cfg.img_width)
                bucket = cfg.width_bucket if cfg.variable_width else None
                x = to_batch([line], cfg.img_height, padded_width(line.shape[1], cfg.img_width, bucket))
                enc = orig_model.encoder(x.to(rec.device))
                lengths = (orig_model.encoder_lengths(torch.tensor([line.shape[1]], device=rec.device), enc.shape[0])
                           if bucket else None)  # attention stays on the line's own columns
                step = AttnStep(orig_model.decoder, enc, lengths=lengths)
                out.append(greedy_decode_ref(step, 1, cfg.max_decode_len, rec.device))
            return out

    def fast():
        return rec.recognize(images, beam_size=beam, batch_size=batch)

    if provider == "original":
        return original
    if provider == "fastocr":
        return fast
    raise ValueError(f"unknown end-to-end provider {provider!r}; known: original, fastocr")


def measure(fn: Callable[[], object], min_time: float = 0.5, max_rounds: int = 20, warmup: int = 1,
            outputs: list | None = None) -> dict:
    """Runs ``fn`` ``warmup`` times, then until ``min_time`` seconds have passed (at least 3 rounds, or 1 when
    a warm-up call alone took over 10 ``min_time``, at most ``max_rounds``); returns pytest-benchmark-style
    stats in seconds. ``outputs``, if given, receives the last call's result."""
    slow = False
    for _ in range(warmup):
        t0 = time.perf_counter()
        fn()
        slow = time.perf_counter() - t0 > 10 * min_time > 0
    times = []
    start = time.perf_counter()
    while len(times) < (1 if slow else 3) or (time.perf_counter() - start < min_time and len(times) < max_rounds):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    if outputs is not None:
        outputs.append(out)
    return {"median": statistics.median(times), "min": min(times), "max": max(times), "rounds": len(times)}


def machine_info(device="cpu") -> dict:
    info = {"node": platform.node(), "processor": platform.processor() or platform.machine(),
            "python": platform.python_version(), "torch": torch.__version__, "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(), "device": str(device)}
    try:
        with open("/proc/cpuinfo") as f:
            info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    if torch.device(device).type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info


def machine_line(m: dict) -> str:
    """One line about the machine, from this module's machine_info or pytest-benchmark's."""
    if isinstance(m.get("cpu"), dict):  # pytest-benchmark (py-cpuinfo)
        cpu, cores = m["cpu"].get("brand_raw", "?"), m["cpu"].get("count", "?")
        return f"{cpu}, {cores} cores, Python {m.get('python_version', '?').split('.final')[0]}"
    return (f"{m.get('cpu', m.get('processor', '?'))}, {m.get('cpu_count', '?')} cores, torch {m.get('torch', '?')} "
            f"({m.get('torch_threads', '?')} threads)" + (f", GPU {m['gpu']}" if m.get("gpu") else ""))


def result(group: str, name: str, params: dict, stats: dict, lines: int) -> dict:
    """One benchmark record, in the fields pytest-benchmark's JSON uses."""
    return {"group": group, "name": name, "params": params, "stats": stats,
            "extra_info": {"lines": lines, "lines_per_s": lines / stats["median"]}}


def write_json(path: str | Path, results: list[dict], device="cpu") -> None:
    doc = {"machine_info": machine_info(device), "benchmarks": results}
    atomic_write_bytes(Path(path), json.dumps(doc, indent=1).encode())


def load_json(path: str | Path) -> dict:
    """A results JSON written by ``fastocr bench`` or pytest-benchmark; a clear error for anything else."""
    try:
        with open(path, encoding="utf-8") as f:
            doc = json.load(f)
    except OSError as e:
        raise FastOCRError(f"{path}: cannot read the results ({e.strerror or e})") from e
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FastOCRError(f"{path}: not a results JSON ({e})") from e
    if not isinstance(doc, dict) or not isinstance(doc.get("benchmarks"), list):
        raise FastOCRError(f"{path}: not a results JSON (no 'benchmarks' list)")
    return doc


def _provider(rec: dict) -> str:
    return (rec.get("params") or {}).get("provider") or rec["name"]


def _key(rec: dict) -> tuple:
    """What a record is compared on: its group and params other than the provider."""
    return rec["group"], tuple(sorted((k, str(v)) for k, v in (rec.get("params") or {}).items() if k != "provider"))


def speedups(records: Iterable[dict], baseline: str) -> dict[int, float]:
    """index -> how many times more lines/s than ``baseline``: against the group's run of ``original`` (one
    per group: the batch-1 loop), or against the ``reference`` run with the same params."""
    records = list(records)
    base = {}
    for r in records:
        if _provider(r) == baseline:
            base[r["group"] if baseline == "original" else _key(r)] = _per_line(r)
    ups = {}
    for i, r in enumerate(records):
        ref = base.get(r["group"] if baseline == "original" else _key(r))
        if ref is not None and _provider(r) not in (baseline, "original"):
            ups[i] = ref / _per_line(r)
    return ups


def _per_line(rec: dict) -> float:
    """Seconds per line: from the rate a benchmark measured itself (``lines_per_s``, e.g. training between its
    logged steps, start-up left out), else the median call over its ``lines``."""
    info = rec.get("extra_info", {})
    if info.get("lines_per_s"):
        return 1 / info["lines_per_s"]
    return rec["stats"]["median"] / info.get("lines", 1)


def markdown(doc: dict) -> str:
    """A markdown table per group: provider, params, median time, lines/s, speed-up over the baseline."""
    records = doc["benchmarks"]
    ups = {b: speedups(records, b) for b in BASELINES}
    lines = [f"Machine: {machine_line(doc.get('machine_info', {}))}"]
    for group in dict.fromkeys(r["group"] for r in records):
        lines += ["", f"**{group}**", "", "| provider | params | median ms | lines/s | x original | x reference |",
                  "|---|---|---:|---:|---:|---:|"]
        for i, r in enumerate(records):
            if r["group"] != group:
                continue
            params = ", ".join(f"{k}={v}" for k, v in (r.get("params") or {}).items() if k != "provider")
            cells = [f"{1 / _per_line(r):.1f}"] + [f"{ups[b][i]:.2f}" if i in ups[b] else "" for b in BASELINES]
            lines.append(f"| {_provider(r)} | {params} | {r['stats']['median'] * 1e3:.2f} | " + " | ".join(cells) + " |")
        checked = [r for r in records if r["group"] == group and "identical_to_original" in r.get("extra_info", {})]
        if checked:
            lines += ["", _identity_line([r["extra_info"] for r in checked])]
    return "\n".join(lines) + "\n"


def _identity_line(infos: list[dict]) -> str:
    """One sentence on whether the greedy texts match the original loop's, with how many differ where not."""
    same = sum(i["identical_to_original"] for i in infos)
    line = f"Greedy texts identical to the original loop's: {'yes' if same == len(infos) else 'NO'} " \
           f"({same} of {len(infos)} runs)"
    differing = [i["texts_differing"] for i in infos if i.get("texts_differing")]  # absent in older reports
    if differing:
        line += f"; at most {max(differing)} of {infos[0].get('lines', '?')} texts differ in a run"
    return line + "."


def plot(doc: dict, path: str | Path) -> None:
    """A panel per group: lines/s against batch size (log-log), a line per provider and beam size, and the
    original batch-1 loop as a dashed level."""
    from .plots import pyplot, save_png

    plt = pyplot()
    from matplotlib.ticker import ScalarFormatter

    panels: dict[str, dict[str, list]] = {}
    levels: dict[str, float] = {}
    for r in doc["benchmarks"]:
        p, lps = (r.get("params") or {}), 1 / _per_line(r)
        if _provider(r) == "original":
            levels[r["group"]] = lps
        elif "batch" in p:
            key = (_provider(r), int(p.get("beam", 1)))
            panels.setdefault(r["group"], {}).setdefault(key, []).append((int(p["batch"]), lps))
    if not panels:
        raise ValueError("no records with a batch size to plot")
    fig, axes = plt.subplots(1, len(panels), figsize=(6.5 * len(panels), 4.5), squeeze=False)
    for ax, (group, series) in zip(axes[0], panels.items()):
        for (provider, beam), pts in series.items():  # colour: provider; line style: beam size
            color = f"C{PROVIDERS.index(provider) if provider in PROVIDERS else len(PROVIDERS)}"
            style = {1: "-", 5: "--"}.get(beam, ":")
            ax.plot(*zip(*sorted(pts)), marker="o", color=color, linestyle=style, label=f"{provider}, beam {beam}")
        if group in levels:
            ax.axhline(levels[group], color="k", linewidth=0.8, label="original loop (batch 1)")
        ax.set(xscale="log", yscale="log", xlabel="batch (lines)", ylabel="lines/s", title=group)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(ScalarFormatter())
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="best", fontsize="small")
    fig.suptitle(machine_line(doc.get("machine_info", {})), fontsize="small")
    save_png(fig, path)


def noise_lines(count: int) -> list:
    """``count`` noise images 32 px tall and 60-399 px wide (seeded): inputs for timing random weights."""
    g = torch.Generator().manual_seed(0)
    return [torch.randint(0, 256, (32, 60 + 7 * i % 340, 3), generator=g, dtype=torch.uint8).numpy()
            for i in range(count)]


def calibrate_batchnorm(encoder: torch.nn.Module, images: torch.Tensor) -> None:
    """Sets the encoder's BN running statistics to those of ``images`` (a preprocessed batch). Random weights
    with made-up statistics give CNN features that hardly depend on the image, so every line reads alike."""
    for m in encoder.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # a plain average over the calibration batch
    with torch.no_grad():
        encoder.train()
        encoder(images)
        encoder.eval()


def random_weight_recognizer(device="cpu", **options):
    """A Recognizer of the original architecture (5,991 classes) with random weights: timings need no
    checkpoint. ``options``: those of ``Recognizer`` (precision, cuda_graphs, ...).

    Made to read different images differently, so that "identical texts" means something: BN statistics
    measured on noise lines (with made-up ones the CNN's features hardly depend on the image, and every line
    read the same text) and a stronger encoder-to-decoder path; 47 distinct texts on 64 ``noise_lines``. EOS
    stays suppressed: every line decodes all 20 steps."""
    model = decoder_model()
    calibrate_batchnorm(model.encoder, preprocess(noise_lines(16), model.config.img_height, model.config.img_width))
    with torch.no_grad():
        model.encoder.rnn[1].embedding.weight.mul_(5.0)
        model.decoder.decoder.attn_combine.weight[:, model.config.hidden_size :].mul_(30.0)
    return Recognizer(model, Alphabet("".join(chr(0x4E00 + i) for i in range(5989))), device=device, **options)
