"""Accuracy side by side: fastocr, PP-OCRv4 mobile and Tesseract 5 on the same images, one table and a plot.

Reads the scene-text test sets of ``../shared/data/dev_scene`` per subset (IIIT5K, SVT, SVTP, CUTE80: never
trained on) and any further labelled lists (``--list NAME=PATH``: held-out receipt lines, held-out rendered
lines), and scores every engine with ``fastocr.train.metrics.score``: exact (case-sensitive, all characters),
the benchmark protocol (case-insensitive, letters and digits only) and CER. Engines that are not installed are
left out with a note: PP-OCRv4 mobile comes with ``pip install rapidocr-onnxruntime`` (its recognizer, ONNX
Runtime, the text crops given as they are), Tesseract with ``apt-get install tesseract-ocr`` (``--psm 7``, one
line per image, English; ``--tesseract-lang chi_sim+eng`` with ``tesseract-ocr-chi-sim`` for Chinese).

The Chinese row: test sets written by ``fastocr synth --corpus ... --held-out`` (sentences the Chinese model never
trained on) and the held-out licence plates, read with ``--model zh --dev-scene none``.

Engines ``fastocr-onnx`` and ``fastocr-int8`` read the same lines with ONNX Runtime from an exported folder
(``--onnx FOLDER``, made by ``fastocr export --onnx FOLDER --int8``): fp32 and the int8 encoder.

Run: python benchmarks/compare_accuracy.py [--model M.safetensors] [--list receipts=lists/sroie_val.tsv]
     [--limit N] [--out benchmarks/results/accuracy] [--engines fastocr,ppocr,tesseract] [--onnx FOLDER]
     [--dev-scene none] [--tesseract-lang chi_sim+eng]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch
from tqdm import tqdm

from fastocr import Recognizer, __version__
from fastocr.train.data import read_label_list
from fastocr.train.metrics import score

SHARED = Path(__file__).resolve().parents[2] / "shared"
ENGINES = ("fastocr", "fastocr-onnx", "fastocr-int8", "ppocr", "tesseract")


def dev_scene_sets(root: Path) -> dict[str, list[tuple[str, str]]]:
    """dev_scene's items by subset (the folder under images/)."""
    sets: dict[str, list] = {}
    for path, label in read_label_list(root / "labels.tsv"):
        sets.setdefault(Path(path).parent.name, []).append((path, label))
    return sets


def read_fastocr(paths: list[str], model: str | None, beam: int, precision: str = "fp32") -> list[str]:
    rec = Recognizer.load(model, device="cpu", precision=precision)
    return [r.text for r in rec.recognize(paths, beam_size=beam, progress=sys.stderr.isatty())]


def read_ppocr(paths: list[str]) -> list[str]:
    import cv2
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()

    def one(path: str) -> str:
        image = cv2.imread(path)
        if image is None:
            return ""
        result, _ = engine(image, use_det=False, use_cls=False, use_rec=True)
        return result[0][0] if result else ""

    return [one(p) for p in tqdm(paths, desc="ppocr", disable=not sys.stderr.isatty())]


def read_tesseract(paths: list[str], lang: str = "eng", workers: int = 2) -> list[str]:
    def one(path: str) -> str:
        out = subprocess.run(["tesseract", path, "stdout", "--psm", "7", "-l", lang], capture_output=True,
                             text=True, check=False)
        # Tesseract's Chinese spaces the characters apart; the Chinese test lines hold no spaces
        return ("" if lang.startswith("chi") else " ").join(out.stdout.split())

    with ThreadPoolExecutor(workers) as pool:
        return list(tqdm(pool.map(one, paths), total=len(paths), desc="tesseract", disable=not sys.stderr.isatty()))


def available(engine: str, onnx_folder: str | None) -> str | None:
    """Why ``engine`` cannot run here, or None."""
    if engine.startswith("fastocr-") and not onnx_folder:
        return "give --onnx FOLDER (made by `fastocr export --onnx FOLDER --int8`)"
    if engine == "ppocr":
        try:
            import rapidocr_onnxruntime  # noqa: F401
        except ImportError:
            return "pip install rapidocr-onnxruntime"
    if engine == "tesseract" and shutil.which("tesseract") is None:
        return "apt-get install tesseract-ocr"
    return None if engine in ENGINES else f"unknown engine (known: {', '.join(ENGINES)})"


def _machine() -> str:
    """The CPU model and core count (from /proc/cpuinfo where there is one)."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return f"{names[0] if names else platform.machine()}, {os.cpu_count()} cores"


def markdown(rows: list[dict], engines: list[str], provenance: str) -> str:
    head = "| set | lines | " + " | ".join(f"{e}: exact / benchmark / CER" for e in engines) + " |"
    lines = [head, "|---|---:|" + "---:|" * len(engines)]
    for row in rows:
        cells = [f"{row[e]['exact']:.3f} / {row[e]['exact_alnum_ci']:.3f} / {row[e]['cer']:.3f}" for e in engines]
        lines.append(f"| {row['set']} | {row['count']:,} | " + " | ".join(cells) + " |")
    variants = [e for e in engines if e.startswith("fastocr-") and "fastocr" in engines]
    if variants:  # the ONNX Runtime variants against PyTorch's texts
        lines += ["", "| set | " + " | ".join(f"{e}: texts identical to fastocr's" for e in variants) + " |",
                  "|---|" + "---:|" * len(variants)]
        lines += [f"| {row['set']} | " + " | ".join(f"{row[e]['same_as_fastocr']:.4f}" for e in variants) + " |"
                  for row in rows]
    return "\n".join(lines) + f"\n\nMeasured on: {provenance}\n"


def plot(rows: list[dict], engines: list[str], path: Path) -> None:
    from fastocr.plots import pyplot, save_png

    plt = pyplot()
    fig, ax = plt.subplots(figsize=(2 + 1.6 * len(rows), 4))
    width = 0.8 / len(engines)
    for k, engine in enumerate(engines):
        xs = [i + (k - (len(engines) - 1) / 2) * width for i in range(len(rows))]
        ax.bar(xs, [r[engine]["exact_alnum_ci"] for r in rows], width, label=engine)
    ax.set_xticks(range(len(rows)), [r["set"] for r in rows])
    ax.set(ylabel="benchmark protocol (case-insensitive alphanumeric)", ylim=(0, 1), title="accuracy on held-out lines")
    ax.legend(loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    save_png(fig, path)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", help="fastocr model file or bundled model's name, e.g. zh (default: the bundled "
                   "English model)")
    p.add_argument("--beam-size", type=int, default=1, help="fastocr's beam (default 1: greedy)")
    p.add_argument("--dev-scene", type=Path, default=SHARED / "data" / "dev_scene",
                   help="the dev_scene folder; one that does not exist, such as 'none', reads only the --list sets")
    p.add_argument("--tesseract-lang", default="eng", help="Tesseract's -l (chi_sim+eng for Chinese lines, with "
                   "apt-get install tesseract-ocr-chi-sim; default eng)")
    p.add_argument("--list", action="append", default=[], metavar="NAME=PATH", help="a further labelled list")
    p.add_argument("--limit", type=int, default=0, help="the first N lines of each set only (default: all)")
    p.add_argument("--engines", default=",".join(ENGINES), help=f"comma-separated, of {', '.join(ENGINES)}")
    p.add_argument("--out", type=Path, help="write OUT.md, OUT.json and OUT.png")
    p.add_argument("--onnx", metavar="FOLDER", help="an exported folder, for the fastocr-onnx/-int8 engines")
    args = p.parse_args()
    sets = dev_scene_sets(args.dev_scene) if args.dev_scene.exists() else {}
    for item in args.list:
        name, _, path = item.partition("=")
        sets[name] = read_label_list(path)
    sets = {name: items[: args.limit or None] for name, items in sets.items()}
    engines = []
    for engine in args.engines.split(","):
        why = available(engine, args.onnx)
        if why:
            print(f"{engine} left out: {why}", file=sys.stderr)
        else:
            engines.append(engine)
    rows, seconds = [], {e: 0.0 for e in engines}
    for name, items in sets.items():
        paths, labels = [p for p, _ in items], [label for _, label in items]
        row = {"set": name, "count": len(items)}
        texts = {}
        for engine in engines:
            t0 = time.perf_counter()
            preds = {"fastocr": lambda: read_fastocr(paths, args.model, args.beam_size),
                     "fastocr-onnx": lambda: read_fastocr(paths, args.onnx, args.beam_size),
                     "fastocr-int8": lambda: read_fastocr(paths, args.onnx, args.beam_size, "int8"),
                     "ppocr": lambda: read_ppocr(paths),
                     "tesseract": lambda: read_tesseract(paths, args.tesseract_lang)}[engine]()
            seconds[engine] += time.perf_counter() - t0
            row[engine] = {k: score(preds, labels)[k] for k in ("exact", "exact_alnum_ci", "cer")}
            texts[engine] = preds
            if engine.startswith("fastocr-") and "fastocr" in texts:
                row[engine]["same_as_fastocr"] = sum(a == b for a, b in zip(preds, texts["fastocr"])) / len(preds)
        rows.append(row)
        print(f"{name}: " + ", ".join(f"{e} {row[e]['exact_alnum_ci']:.3f}" for e in engines), file=sys.stderr)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=Path(__file__).parent).stdout.strip() or "?"
    provenance = (f"{_machine()}, torch {torch.__version__}, fastocr {__version__} at {commit} (model "
                  f"{args.model or 'bundled'}, beam {args.beam_size}), {time.strftime('%Y-%m-%d')}, "
                  f"`python benchmarks/compare_accuracy.py {' '.join(sys.argv[1:])}`")
    table = markdown(rows, engines, provenance)
    print(table)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".md").write_text(table, encoding="utf-8")
        args.out.with_suffix(".json").write_text(json.dumps({"rows": rows, "seconds": seconds,
                                                             "provenance": provenance}, indent=1))
        plot(rows, engines, args.out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
