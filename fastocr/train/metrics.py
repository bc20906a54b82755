"""Recognition metrics: exact match (case-sensitive, and case-insensitive alphanumeric) and character error rate."""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance (insertions, deletions, substitutions all cost 1)."""
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def alnum_lower(text: str) -> str:
    """The scene-text protocol's normalisation: letters and digits only, lower case. Beyond ASCII: NFKC first
    (full-width digits, composed accents), case folded (ß matches SS), and combining marks kept (a Devanagari
    vowel sign or a Thai tone mark changes the word)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return "".join(c for c in folded if unicodedata.category(c)[0] in "LNM")


def _alignment_confusions(pred: str, gt: str) -> list[tuple[str, str]]:
    """(expected, got) pairs of a minimal alignment; '' marks an insertion or a deletion."""
    n, m = len(gt), len(pred)
    d = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        d[i][0] = i
    for j in range(m + 1):
        d[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (gt[i - 1] != pred[j - 1]))
    out, i, j = [], n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and d[i][j] == d[i - 1][j - 1] + (gt[i - 1] != pred[j - 1]):
            if gt[i - 1] != pred[j - 1]:
                out.append((gt[i - 1], pred[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and d[i][j] == d[i - 1][j] + 1:
            out.append((gt[i - 1], ""))
            i -= 1
        else:
            out.append(("", pred[j - 1]))
            j -= 1
    return out


_BUCKETS = (10, 20, 40, 80)  # label lengths 1-9 one by one, then 10-19, 20-39, 40-79, 80+


def length_bucket(n: int) -> str:
    """The by-length group of a label of ``n`` characters."""
    if n < _BUCKETS[0]:
        return str(n)
    for lo, hi in pairwise(_BUCKETS):
        if n < hi:
            return f"{lo}-{hi - 1}"
    return f"{_BUCKETS[-1]}+"


def _bucket_start(key: str) -> int:
    return int(key.split("-")[0].rstrip("+"))


def score(preds: Sequence[str], gts: Sequence[str], top_confusions: int = 10) -> dict:
    """Exact match, case-insensitive alphanumeric match, CER, a breakdown by label length, top confusions."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} labels")
    n = len(gts)
    exact = sum(p == g for p, g in zip(preds, gts))
    alnum = sum(alnum_lower(p) == alnum_lower(g) for p, g in zip(preds, gts))
    chars = sum(len(g) for g in gts)
    by_len: dict[str, list[int]] = {}
    for p, g in zip(preds, gts):
        row = by_len.setdefault(length_bucket(len(g)), [0, 0, 0, 0])  # lines, exact, char errors, chars
        row[0] += 1
        row[1] += p == g
        row[2] += edit_distance(p, g)  # computed once per line: the total is the rows' sum
        row[3] += len(g)
    errors = sum(row[2] for row in by_len.values())
    confusions = Counter(c for p, g in zip(preds, gts) if p != g for c in _alignment_confusions(p, g))
    return {
        "count": n,
        "exact": exact / n if n else 0.0,
        "exact_alnum_ci": alnum / n if n else 0.0,
        "cer": errors / chars if chars else float(errors > 0),  # empty labels only: 1.0 if anything was read
        "by_length": {k: {"count": c, "exact": e / c, "cer": err / max(1, ch)}
                      for k, (c, e, err, ch) in sorted(by_len.items(), key=lambda kv: _bucket_start(kv[0]))},
        "confusions": [{"expected": e, "got": g, "count": c} for (e, g), c in confusions.most_common(top_confusions)],
    }


CONFIDENCE_THRESHOLDS = (0.99, 0.95, 0.9, 0.8, 0.5, 0.0)


def by_confidence(preds: Sequence[str], gts: Sequence[str], confidences: Sequence[float],
                  thresholds: Sequence[float] = CONFIDENCE_THRESHOLDS) -> list[dict]:
    """Selective accuracy: for each threshold, the lines whose confidence reaches it (their share of all lines,
    ``coverage``) and how many of those are read right. Sending the lines below a threshold to a person trades
    coverage for accuracy; this table says at what rate. ``exact`` is None where no line is kept."""
    if not len(preds) == len(gts) == len(confidences):
        raise ValueError(f"{len(preds)} predictions, {len(gts)} labels, {len(confidences)} confidences")
    judged = [(c, p == g, alnum_lower(p) == alnum_lower(g)) for p, g, c in zip(preds, gts, confidences)]
    rows = []
    for t in thresholds:
        kept = [(exact, ci) for c, exact, ci in judged if c >= t]
        n = len(kept)
        rows.append({"min_confidence": t, "count": n, "coverage": n / len(gts) if gts else 0.0,
                     "exact": sum(e for e, _ in kept) / n if n else None,
                     "exact_alnum_ci": sum(ci for _, ci in kept) / n if n else None})
    return rows
