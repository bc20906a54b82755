"""Writes the label lists the real-data training runs use, from ``../shared/data`` (paths stay outside the
repository: the images are for research use): ``train.tsv`` (ICDAR 2015 scene words and ICDAR 2013 born-digital
words but 300 held out, all of real_dev, 5,000 SROIE receipt lines from 90% of the receipts), ``scene_val.tsv``
(the 300), ``sroie_val.tsv`` (every line of the other 10% of the receipts: held out by receipt), and
``words.txt`` (the 60,000 most frequent English words, for rendered lines). Vertical crops and labels outside
printable ASCII are left out. Deterministic (seed 0).

``--kit`` makes the lists self-contained for a GPU lease (only 64 MiB travel with the repository, and the
lease machine has no ../shared): every crop scaled to the model's 32 px height (the width in proportion) as
JPEG (quality 75) under OUT_DIR/images/, the training and scene validation lists with paths relative to
OUT_DIR, and the regular face of every other shared font family under OUT_DIR/fonts/; 2,000 receipt lines
instead of 5,000. About 25 MB: room is left for an 18 MB model file to start from. Keep OUT_DIR in an ignored
folder (``.lease/``): the crops are for research use and never enter the repository.

Run: python benchmarks/scripts/real_lists.py OUT_DIR [--shared ../shared] [--kit]
"""

import argparse
import csv
import random
import shutil
import sys
from pathlib import Path

import cv2


def _printable(text: str) -> bool:
    return bool(text.strip()) and all(32 <= ord(c) < 127 for c in text)


def read_set(folder: Path) -> list[tuple[str, str, str]]:
    """(image path, label, source image) of a train_real-style folder, vertical crops and non-ASCII labels out."""
    meta = {}
    if (folder / "meta.tsv").exists():
        with open(folder / "meta.tsv", encoding="utf-8") as f:
            meta = {r["path"]: (r.get("flags") or "", r.get("source") or "") for r in csv.DictReader(f, delimiter="\t")}
    rows = []
    for line in (folder / "labels.tsv").read_text(encoding="utf-8").splitlines():
        path, sep, label = line.partition("\t")
        flags, source = meta.get(path, ("", ""))
        if sep and "vertical" not in flags and _printable(label):
            rows.append((str(folder / path), label, source))
    return rows


def pack(rows: list[tuple[str, str, str]], out: Path, start: int, height: int = 32) -> list[tuple[str, str, str]]:
    """The crops scaled to ``height`` px as JPEG files under ``out/images``; rows pointing at them (relative)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    packed = []
    for k, (path, label, source) in enumerate(rows, start):
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            continue
        width = max(1, round(image.shape[1] * height / image.shape[0]))
        image = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        name = f"images/{k:06d}.jpg"
        cv2.imwrite(str(out / name), image, [cv2.IMWRITE_JPEG_QUALITY, 75])
        packed.append((name, label, source))
    return packed


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
    p.add_argument("--kit", action="store_true", help="copy the crops (scaled to 32 px) and fonts into OUT_DIR")
    args = p.parse_args()
    data, rng = args.shared / "data", random.Random(0)
    scene = read_set(data / "train_real/scene_ic15") + read_set(data / "train_real/borndigital_ic13")
    sroie, real_dev = read_set(data / "train_real/receipts_sroie"), read_set(data / "real_dev")
    receipts = sorted({source for _, _, source in sroie})
    rng.shuffle(receipts)
    held = set(receipts[: len(receipts) // 10])
    sroie_train = [r for r in sroie if r[2] not in held]
    rng.shuffle(scene)
    rng.shuffle(sroie_train)
    receipts_kept = 2000 if args.kit else 5000  # a lease kit leaves room for the weights it starts from
    lists = {"train.tsv": scene[300:] + real_dev + sroie_train[:receipts_kept], "scene_val.tsv": scene[:300],
             "sroie_val.tsv": [r for r in sroie if r[2] in held]}
    args.out.mkdir(parents=True, exist_ok=True)
    if args.kit:
        del lists["sroie_val.tsv"]  # validation on a lease: scene_val only (64 MiB travel in all)
        start = 0
        for name, rows in lists.items():
            lists[name] = pack(rows, args.out, start)
            start += len(rows)
        fonts = args.out / "fonts"
        fonts.mkdir(exist_ok=True)
        for font in sorted((args.shared / "fonts" / "latin").glob("*-400-normal.woff2"))[::2]:  # every other family
            shutil.copy(font, fonts / font.name)
    for name, rows in lists.items():
        (args.out / name).write_text("".join(f"{path}\t{label}\n" for path, label, _ in rows), encoding="utf-8")
        print(f"{args.out / name}: {len(rows)} lines")
    freq = (data / "train_real/corpora/en_wordfreq_top100k.tsv").read_text(encoding="utf-8").splitlines()
    words = [w for w in (line.split("\t")[0] for line in freq[:60000]) if _printable(w)]
    (args.out / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    print(f"{args.out / 'words.txt'}: {len(words)} words")
    return 0


if __name__ == "__main__":
    sys.exit(main())
