"""Accuracy of Tesseract (``apt-get install tesseract-ocr``) on a label list, scored as ``fastocr eval`` scores,
for the model card's comparison. Each image is read as one text line (``--psm 7``), English model.

Run: python benchmarks/scripts/compare_tesseract.py ../shared/data/real_dev/labels.tsv --limit 500
"""

import argparse
import json
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

from tqdm import tqdm

from fastocr.train.data import read_label_list
from fastocr.train.metrics import score


def tesseract_line(path) -> str:
    out = subprocess.run(["tesseract", str(path), "stdout", "--psm", "7", "-l", "eng"], capture_output=True,
                         text=True, check=False)
    return " ".join(out.stdout.split())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("list", help="label list ('path<TAB>label' or 'path label')")
    p.add_argument("--limit", type=int, default=0, help="only the first N items (default: all)")
    p.add_argument("--workers", type=int, default=2, help="tesseract processes at once (default 2)")
    args = p.parse_args()
    if shutil.which("tesseract") is None:
        print("tesseract is not installed: apt-get install tesseract-ocr", file=sys.stderr)
        return 1
    items = read_label_list(args.list)[: args.limit or None]
    with ThreadPoolExecutor(args.workers) as pool:
        preds = list(tqdm(pool.map(tesseract_line, [path for path, _ in items]), total=len(items), desc="tesseract"))
    report = score(preds, [label for _, label in items])
    print(json.dumps({k: report[k] for k in ("count", "exact", "exact_alnum_ci", "cer")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
