"""Page mode on rendered pages with known text, side by side with PP-OCR's page pipeline (rapidocr-onnxruntime:
PP-OCRv4 detector, classifier and recognizer) and Tesseract (``--psm 3``, automatic layout) on the same pages.

Pages (``fastocr.train.pages``), in turn: one column, two columns, and photographed-looking (of one or two
columns: perspective, tilt, uneven light, noise, blur, JPEG), each with a title, in the installed document fonts
(``fastocr.train.pages.DOCUMENT_FONTS``) in turn. Text: sentences of words drawn by frequency from a word list (default ``../shared/data/train_real/corpora/en_wordfreq_top100k.tsv``).

- line recall: the share of true lines that one found box covers (polygon IoU >= 0.5);
- page CER: edit distance between the page's text and the truth in reading order (whitespace runs count as one
  space), over the truth's length, summed over pages;
- seconds per page on this machine: fastocr's detection and recognition apart.

Needs the [bench] extra (rapidocr-onnxruntime, rapidfuzz) and ``apt-get install tesseract-ocr``.
Run: python benchmarks/page_accuracy.py --pages 30 --seed 7 --out benchmarks/results/pages-cpu
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

import fastocr
from fastocr.train.pages import RenderedPage, document_fonts, photo_warp, render_page

WORDS = Path(__file__).resolve().parents[2] / "shared/data/train_real/corpora/en_wordfreq_top100k.tsv"


def load_words(path: Path, top: int = 30000) -> tuple[list[str], np.ndarray]:
    rows = [line.split("\t") for line in path.read_text(encoding="utf-8").splitlines()[1:top + 1]]
    rows = [(w.strip(), f) for w, f in rows if w.strip()]
    words = [w for w, _ in rows]
    weights = np.array([float(f) for _, f in rows]) ** 0.6  # flatter than Zipf: fewer "the the the"
    return words, weights / weights.sum()


def sentences(words: list[str], p: np.ndarray, rng: np.random.Generator, count: int) -> list[list[str]]:
    """Paragraphs of 2-5 sentences of 5-16 words, capitalised, with commas, full stops and some numbers."""
    out = []
    for _ in range(count):
        para = []
        for _ in range(rng.integers(2, 6)):
            n = int(rng.integers(5, 17))
            sent = [words[i] for i in rng.choice(len(words), n, p=p)]
            if rng.random() < 0.3:
                sent[rng.integers(n)] = str(rng.integers(2, 2030))
            sent[0] = sent[0].capitalize()
            if n > 8 and rng.random() < 0.5:
                sent[n // 2] += ","
            sent[-1] += "." if rng.random() < 0.85 else "?"
            para += sent
        out.append(para)
    return out


def make_pages(count: int, seed: int, words_path: Path) -> list[RenderedPage]:
    words, p = load_words(words_path)
    fonts = document_fonts()
    rng = np.random.default_rng(seed)
    pages = []
    for k in range(count):
        title = " ".join(w.capitalize() for w in rng.choice(words[:3000], rng.integers(2, 6)))
        page = render_page(sentences(words, p, rng, 12), title, fonts[k % len(fonts)], rng,
                           columns=(1, 2, 1 + k // 3 % 2)[k % 3], font_px=int(rng.integers(22, 30)))
        pages.append(photo_warp(page, rng) if k % 3 == 2 else page)
    return pages


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    inter, _ = cv2.intersectConvexConvex(a.astype(np.float32), b.astype(np.float32))
    union = cv2.contourArea(a.astype(np.float32)) + cv2.contourArea(b.astype(np.float32)) - inter
    return inter / union if union > 0 else 0.0


def line_recall(truth: RenderedPage, found: list[np.ndarray]) -> tuple[int, int]:
    hit = sum(any(_iou(t.quad, f) >= 0.5 for f in found) for t in truth.lines)
    return hit, len(truth.lines)


def edit_distance(a: str, b: str) -> int:
    from rapidfuzz.distance import Levenshtein  # whole pages: C speed (the [bench] extra)

    return Levenshtein.distance(a, b)


def _norm(text: str) -> str:
    return " ".join(text.split())


def fastocr_pages(paths: list[str], rec, options=None) -> tuple[list[str], list[list[np.ndarray]], float, float]:
    detector = rec._page_detector()
    det = rec_time = 0.0
    texts, boxes = [], []
    for path in tqdm(paths, desc="fastocr"):
        start = time.perf_counter()
        page = rec.read([path], detector=detector, options=options)[0]
        total = time.perf_counter() - start
        det += page.detect_seconds
        rec_time += total - page.detect_seconds
        texts.append(page.text)
        boxes.append([np.array(line.polygon) for line in page.lines])
    return texts, boxes, det, rec_time


def ppocr_pages(paths: list[str]) -> tuple[list[str], list[list[np.ndarray]], float]:
    from rapidocr_onnxruntime import RapidOCR

    engine = RapidOCR()
    texts, boxes, spent = [], [], 0.0
    for path in tqdm(paths, desc="PP-OCR"):
        start = time.perf_counter()
        result, _ = engine(path)
        spent += time.perf_counter() - start
        result = result or []
        texts.append("\n".join(r[1] for r in result))
        boxes.append([np.array(r[0], np.float32) for r in result])
    return texts, boxes, spent


def tesseract_pages(paths: list[str]) -> tuple[list[str], list[list[np.ndarray]], float]:
    texts, boxes, spent = [], [], 0.0
    for path in tqdm(paths, desc="tesseract"):
        start = time.perf_counter()
        tsv = subprocess.run(["tesseract", path, "stdout", "--psm", "3", "-l", "eng", "tsv"], capture_output=True,
                             text=True, check=True).stdout
        spent += time.perf_counter() - start
        lines: dict[tuple, list] = {}
        for row in tsv.splitlines()[1:]:
            f = row.split("\t")
            if len(f) == 12 and f[0] == "5" and f[11].strip():
                x, y, w, h = map(int, f[6:10])
                lines.setdefault(tuple(f[1:5]), []).append((f[11], x, y, x + w, y + h))
        page_lines, page_boxes = [], []
        for words in lines.values():  # in Tesseract's reading order
            page_lines.append(" ".join(w[0] for w in words))
            x0, y0 = min(w[1] for w in words), min(w[2] for w in words)
            x1, y1 = max(w[3] for w in words), max(w[4] for w in words)
            page_boxes.append(np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]], np.float32))
        texts.append("\n".join(page_lines))
        boxes.append(page_boxes)
    return texts, boxes, spent


def score(pages: list[RenderedPage], texts: list[str], boxes: list[list[np.ndarray]]) -> dict:
    hits = total = errors = chars = 0
    for page, text, found in zip(pages, texts, boxes):
        h, n = line_recall(page, found)
        hits, total = hits + h, total + n
        errors += edit_distance(_norm(text), _norm(page.text))
        chars += len(_norm(page.text))
    return {"line_recall": hits / total, "page_cer": errors / chars}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--pages", type=int, default=30, help="rendered pages (default 30)")
    p.add_argument("--seed", type=int, default=0, help="page seed (default 0; tune options on other seeds)")
    p.add_argument("--words", type=Path, default=WORDS, help="word<TAB>frequency list (first row a header)")
    p.add_argument("--model", default=None, help="fastocr model (default: the bundled one)")
    p.add_argument("--engines", default="fastocr,ppocr,tesseract", help="comma-separated (default: all three)")
    p.add_argument("--out", type=Path, default=None, help="write OUT.json and OUT.md")
    p.add_argument("--keep", type=Path, default=None, help="keep the rendered pages and truths in this folder")
    args = p.parse_args()
    if not args.words.exists():
        p.error(f"{args.words}: no such word list (give --words)")
    pages = make_pages(args.pages, args.seed, args.words)
    folder = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="fastocr-pages-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, page in enumerate(pages):
        paths.append(str(folder / f"page{k:03d}.png"))
        Image.fromarray(page.image).save(paths[-1])
        (folder / f"page{k:03d}.txt").write_text(page.text + "\n", encoding="utf-8")
    engines = args.engines.split(",")
    outputs = {}
    if "fastocr" in engines:
        rec = fastocr.Recognizer.load(args.model, device="cpu")
        texts, boxes, det, rec_time = fastocr_pages(paths, rec)
        outputs["fastocr"] = (texts, boxes, {"s_per_page": (det + rec_time) / len(pages),
                                            "detect_s_per_page": det / len(pages),
                                            "recognize_s_per_page": rec_time / len(pages)})
    if "ppocr" in engines:
        texts, boxes, spent = ppocr_pages(paths)
        outputs["PP-OCRv4 mobile (rapidocr)"] = (texts, boxes, {"s_per_page": spent / len(pages)})
    if "tesseract" in engines and shutil.which("tesseract"):
        texts, boxes, spent = tesseract_pages(paths)
        outputs["Tesseract (--psm 3)"] = (texts, boxes, {"s_per_page": spent / len(pages)})
    kinds = {"all": range(len(pages)), "one column": range(0, len(pages), 3),
             "two columns": range(1, len(pages), 3), "photographed": range(2, len(pages), 3)}
    rows = {name: {**timing, **{kind: score([pages[k] for k in ks], [texts[k] for k in ks], [boxes[k] for k in ks])
                                for kind, ks in kinds.items() if len(ks)}}
            for name, (texts, boxes, timing) in outputs.items()}
    if not args.keep:
        shutil.rmtree(folder)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    how = (f"{len(pages)} rendered pages (seed {args.seed}), {platform.processor() or platform.machine()}, "
           f"{torch.get_num_threads()} threads, torch {torch.__version__}, fastocr {fastocr.__version__}, "
           f"commit {commit}")
    table = ["| engine | " + " | ".join(f"{kind}: recall / CER" for kind in kinds) + " | s/page (detect + recognize) |",
             "|---|" + "---:|" * (len(kinds) + 1)]
    for name, r in rows.items():
        split = f" ({r['detect_s_per_page']:.2f} + {r['recognize_s_per_page']:.2f})" if "detect_s_per_page" in r else ""
        cells = " | ".join(f"{r[kind]['line_recall']:.3f} / {r[kind]['page_cer']:.4f}" for kind in kinds if kind in r)
        table.append(f"| {name} | {cells} | {r['s_per_page']:.2f}{split} |")
    print("\n".join(table) + f"\n\n{how}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(json.dumps({"how": how, "engines": rows}, indent=1) + "\n")
        args.out.with_suffix(".md").write_text("\n".join(table) + f"\n\n{how}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
