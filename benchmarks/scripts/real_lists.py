"""Writes the label lists the real-data training runs use, from ``../shared/data`` (paths stay outside the
repository: the images are for research use): ``train.tsv`` (ICDAR 2015 scene words and ICDAR 2013 born-digital
words but 300 held out, all of real_dev, 5,000 SROIE receipt lines from 90% of the receipts), ``scene_val.tsv``
(the 300), ``sroie_val.tsv`` (every line of the other 10% of the receipts: held out by receipt), and
``words.txt`` (the 60,000 most frequent English words, for rendered lines). Vertical crops and labels outside
printable ASCII are left out. Deterministic (seed 0).

Run: python benchmarks/scripts/real_lists.py OUT_DIR [--shared ../shared]
"""

import argparse
import csv
import random
import sys
from pathlib import Path


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


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path)
    p.add_argument("--shared", type=Path, default=Path(__file__).resolve().parents[3] / "shared")
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
    lists = {"train.tsv": scene[300:] + real_dev + sroie_train[:5000], "scene_val.tsv": scene[:300],
             "sroie_val.tsv": [r for r in sroie if r[2] in held]}
    args.out.mkdir(parents=True, exist_ok=True)
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
