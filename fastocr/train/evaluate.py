"""Accuracy of a recognizer on a labelled list: exact, case-insensitive alphanumeric (the scene-text protocol),
CER, by label length and by confidence, with a plot to choose a confidence threshold (``fastocr eval``)."""

from __future__ import annotations

import itertools
from pathlib import Path

from ..engine import Recognition, Recognizer
from ..files import atomic_write_bytes
from .metrics import alnum_lower, by_confidence, score


def evaluate_items(rec: Recognizer, items: list[tuple[str, str]], progress: bool = False,
                   **decode) -> tuple[dict, list[Recognition]]:
    """Reads every (image, label) item; returns the report (``metrics.score`` with ``by_confidence`` and the
    ``unreadable`` sources; an unreadable image scores as an empty reading) and the results, in item order.
    ``decode``: ``Recognizer.recognize``'s options (beam_size, batch_size, max_len, vocabulary, ...)."""
    results = rec.recognize([p for p, _ in items], progress=progress, **decode)
    preds, labels = [r.text for r in results], [label for _, label in items]
    report = score(preds, labels)
    report["by_confidence"] = by_confidence(preds, labels, [r.confidence for r in results])
    report["unreadable"] = [r.source for r in results if not r.ok]
    return report, results


def write_errors(path: str | Path, items: list[tuple[str, str]], results: list[Recognition]) -> None:
    """The misread lines (exact match) as 'path<TAB>label<TAB>read', an unreadable image's read column empty."""
    atomic_write_bytes(path, "".join(f"{p}\t{label}\t{r.text}\n" for (p, label), r in zip(items, results)
                                     if r.text != label or not r.ok).encode())


def print_report(report: dict, list_path: str) -> None:
    print(f"{report['count']} lines from {list_path}")
    print(f"exact match           {report['exact']:.4f}")
    print(f"exact (ci, alnum)     {report['exact_alnum_ci']:.4f}")
    print(f"character error rate  {report['cer']:.4f}")
    print("by label length: " + ", ".join(f"{k}: {v['exact']:.3f} (n={v['count']}, CER {v['cer']:.3f})"
                                          for k, v in report["by_length"].items()))
    print("keeping lines of confidence >= t: " + "; ".join(
        f"{r['min_confidence']}: {r['coverage']:.1%} of lines, {r['exact']:.1%} exact" for r in report["by_confidence"]
        if r["count"]))
    print("top confusions (expected -> got): " + ", ".join(
        f"{c['expected'] or '∅'!r}->{c['got'] or '∅'!r} x{c['count']}" for c in report["confusions"]))


def plot_confidence(preds: list[str], labels: list[str], confidences: list[float], rows: list[dict],
                    path: str | Path, title: str = "") -> None:
    """Two panels: the accuracy of the most confident lines (exact, and case-insensitive alphanumeric) against the
    share of lines kept, with the exact match of ``rows`` (``by_confidence``'s thresholds) marked; and a
    reliability diagram (exact match per tenth of the confidence range)."""
    from ..plots import pyplot, save_png

    plt = pyplot()
    order = sorted(range(len(preds)), key=lambda i: -confidences[i])
    kept = range(1, len(order) + 1)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for same, label, style in ((lambda p, g: p == g, "exact", "-"),
                               (lambda p, g: alnum_lower(p) == alnum_lower(g), "case-insensitive alphanumeric", "--")):
        hits = itertools.accumulate(same(preds[i], labels[i]) for i in order)
        ax1.plot([k / len(order) for k in kept], [h / k for h, k in zip(hits, kept)], style, color="C0", label=label)
    for row in rows:
        if row["count"]:
            ax1.plot(row["coverage"], row["exact"], "o", color="C1")
            ax1.annotate(f"≥{row['min_confidence']}", (row["coverage"], row["exact"]), textcoords="offset points",
                         xytext=(4, -12), fontsize=8)
    ax1.set(xlabel="share of lines kept (most confident first)", ylabel="match of the kept lines",
            title=f"accuracy against coverage{': ' + title if title else ''}", xlim=(0, 1.02))
    ax1.grid(alpha=0.3)
    ax1.legend(loc="lower left", fontsize=8)
    bins = [[] for _ in range(10)]
    for c, ok in zip(confidences, (p == g for p, g in zip(preds, labels))):
        bins[min(9, int(c * 10))].append(ok)
    centres = [(b + 0.5) / 10 for b in range(10) if bins[b]]
    ax2.bar(centres, [sum(v) / len(v) for v in bins if v], width=0.09, label="exact match of the lines in the bin")
    for x, v in zip(centres, (v for v in bins if v)):
        ax2.annotate(str(len(v)), (x, 0.02), ha="center", fontsize=8, color="white")
    ax2.plot([0, 1], [0, 1], "--", color="gray", label="confidence = accuracy")
    ax2.set(xlabel="confidence", ylabel="exact match", title="reliability (line counts in the bars)",
            xlim=(0, 1), ylim=(0, 1))
    ax2.legend(loc="upper left", fontsize=8)
    save_png(fig, path)
