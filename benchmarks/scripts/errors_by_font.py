"""Which fonts a model misreads: exact-match accuracy on a rendered set, by font style and by font family.

Run:
    fastocr synth heldout --count 1000 --seed 99 --words /usr/share/dict/words   # writes heldout/fonts.tsv too
    fastocr eval heldout/labels.tsv --errors heldout-errors.tsv
    python benchmarks/scripts/errors_by_font.py heldout heldout-errors.tsv
"""

import argparse
import re
from collections import Counter
from pathlib import Path

# Characters many faces draw alike (or nearly): a reading that swaps only these may be no reader's fault.
LOOKALIKES = (set("lI|1"), set("O0"))
# Style words of font file names, lower-cased; a name with none of them is "regular".
STYLES = ("light", "italic", "oblique", "cond", "narrow", "bold", "black", "medium", "mono")


def styles(font: str) -> list[str]:
    name = font.lower()
    return [s for s in STYLES if s in name] or ["regular"]


def family(font: str) -> str:
    """'OpenSans-LightItalic.ttf' -> 'OpenSans'; 'FreeSerifBold.ttf' -> 'FreeSerif'."""
    stem = Path(font).stem.split("-")[0]
    return re.sub(r"(Bold|Italic|Oblique)+$", "", stem) or stem


def lookalikes_only(label: str, read: str) -> bool:
    """Whether ``read`` differs from ``label`` only by swaps within a LOOKALIKES set."""
    diffs = [(a, b) for a, b in zip(label, read) if a != b]
    return len(label) == len(read) and bool(diffs) and all(any({a, b} <= s for s in LOOKALIKES) for a, b in diffs)


def table(title: str, lines: Counter, errors: Counter) -> str:
    rows = [f"| {title} | lines | misread | exact |", "|---|---:|---:|---:|"]
    for key in sorted(lines, key=lambda k: (-errors[k] / lines[k], k)):
        rows.append(f"| {key} | {lines[key]} | {errors[key]} | {1 - errors[key] / lines[key]:.1%} |")
    return "\n".join(rows)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("dataset", type=Path, help="a `fastocr synth` output folder (with fonts.tsv)")
    p.add_argument("errors", type=Path, help="the `fastocr eval --errors` file of its labels.tsv")
    args = p.parse_args()

    fonts = dict(line.split("\t") for line in (args.dataset / "fonts.tsv").read_text().splitlines())
    rows = [line.split("\t") for line in args.errors.read_text().splitlines()]
    misread = {Path(path).resolve() for path, _, _ in rows}
    by_style, by_family, style_err, family_err = Counter(), Counter(), Counter(), Counter()
    for rel, font in fonts.items():
        wrong = (args.dataset / rel).resolve() in misread
        for s in styles(font):
            by_style[s] += 1
            style_err[s] += wrong
        by_family[family(font)] += 1
        family_err[family(font)] += wrong
    total = sum(by_family.values())
    print(f"{total} lines, {sum(family_err.values())} misread, {1 - sum(family_err.values()) / total:.1%} exact; "
          f"{sum(lookalikes_only(label, read) for _, label, read in rows)} misread only by l/I/|/1 or O/0 swaps\n")
    print(table("font style", by_style, style_err) + "\n")
    print(table("font family", by_family, family_err))


if __name__ == "__main__":
    main()
