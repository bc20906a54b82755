"""Study: joint CTC-attention decoding by rescoring, with the CTC head a training checkpoint keeps.

Each line is read by beam search (``--beam`` hypotheses); every finished hypothesis is then scored
``(1 - w) * attention log-prob + w * CTC log-likelihood`` (the CTC head over the same encoder outputs, the
training's auxiliary loss) for each weight ``w`` of ``--weights``, and the best one kept. ``w = 0`` is plain
beam search. The CTC head's own greedy reading is reported too. Choose the weight on one set, report on another.

Run (a checkpoint trained with ``--ctc-weight`` > 0, a label list):
    python benchmarks/scripts/ctc_rescoring.py runs/en/best.pt heldout/labels.tsv --weights 0,0.1,0.2,0.3,0.5
"""

from __future__ import annotations

import argparse
import json

import torch
import torch.nn.functional as F
from tqdm import tqdm

from fastocr.alphabet import EOS_TOKEN, Alphabet
from fastocr.config import ModelConfig
from fastocr.decode import AttnStep
from fastocr.engine import beam
from fastocr.engine.loader import load_line
from fastocr.engine.preprocess import to_batch
from fastocr.model import OCRModel, encoder_lengths
from fastocr.train.data import read_label_list
from fastocr.train.metrics import score

BLANK = 0  # the training's CTC blank: class 0 (SOS), never a target


def ctc_log_likelihood(logp: torch.Tensor, tokens: list[int]) -> float:
    """log P(tokens | CTC head) for one line's [T, V] log-probs (the empty text: all blanks)."""
    if not tokens:
        return float(logp[:, BLANK].sum())
    return -float(F.ctc_loss(logp[:, None], torch.tensor([tokens]), torch.tensor([logp.shape[0]]),
                             torch.tensor([len(tokens)]), blank=BLANK, reduction="sum"))


def ctc_greedy(logp: torch.Tensor) -> list[int]:
    """Best path, repeats merged, blanks, SOS and EOS dropped."""
    out, prev = [], BLANK
    for c in logp.argmax(1).tolist():
        if c != prev and c > EOS_TOKEN:
            out.append(c)
        prev = c
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="training checkpoint (latest.pt / best.pt) with a CTC head")
    p.add_argument("labels", help="label list: image path <TAB> text")
    p.add_argument("--weights", default="0,0.1,0.2,0.3,0.5,0.7,1", help="CTC weights to compare (default: %(default)s)")
    p.add_argument("--beam", type=int, default=5, help="beam size (default: %(default)s)")
    p.add_argument("--max-len", type=int, default=81, help="decode steps (default: %(default)s)")
    p.add_argument("--json", help="write the scores here")
    args = p.parse_args()

    ck = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    if "ctc_head" not in ck:
        p.error(f"{args.checkpoint} has no CTC head (train with --ctc-weight > 0)")
    alphabet, config = Alphabet(ck["alphabet"]), ModelConfig.from_dict(ck["config"])
    model = OCRModel(config, alphabet.num_classes)
    model.load_state_dict(ck["model"])
    head = torch.nn.Linear(config.hidden_size, alphabet.num_classes)
    head.load_state_dict(ck["ctc_head"])
    model.eval(), head.eval()
    weights = [float(w) for w in args.weights.split(",")]
    items = read_label_list(args.labels)
    texts: dict[str, list[str]] = {f"w={w:g}": [] for w in weights}
    texts["ctc greedy"] = []
    with torch.inference_mode():
        for i, (image, _) in enumerate(tqdm(items, desc="lines", unit="line")):
            _, line, width = load_line(image, i, config)
            x = to_batch([line], config.img_height, line.shape[1])
            enc = model.encoder(x)  # [T, 1, H]
            T = int(encoder_lengths(torch.tensor([width]), enc.shape[0])[0]) if config.variable_width else enc.shape[0]
            lengths = torch.tensor([T]) if config.variable_width else None
            step = AttnStep(model.decoder, enc, args.beam, lengths)
            hyps = beam.beam_search(step, 1, args.beam, args.max_len, args.beam, 0.0, device="cpu")[0]
            logp = F.log_softmax(head(enc[:T, 0]).float(), dim=1)
            scored = [(sum(h.token_logprobs), ctc_log_likelihood(logp, [t for t in h.tokens if t != EOS_TOKEN]), h)
                      for h in hyps]
            for w in weights:
                best = max(scored, key=lambda s: (1 - w) * s[0] + w * s[1])[2]
                texts[f"w={w:g}"].append(alphabet.decode(best.tokens))
            texts["ctc greedy"].append(alphabet.decode(ctc_greedy(logp)))
    labels = [label for _, label in items]
    results = {}
    print(f"{args.labels}: {len(items)} lines, beam {args.beam}")
    print("| decoding | exact | exact, ci alnum | CER | exact by length (count) |")
    print("|---|---:|---:|---:|---|")
    for name, preds in texts.items():
        m = results[name] = score(preds, labels)
        by_len = ", ".join(f"{k}: {v['exact']:.3f} ({v['count']})" for k, v in m["by_length"].items()
                           if k in ("10-19", "20-39", "40-79", "80+"))
        print(f"| {name} | {m['exact']:.3f} | {m['exact_alnum_ci']:.3f} | {m['cer']:.4f} | {by_len} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({k: {m: v[m] for m in ("exact", "exact_alnum_ci", "cer", "by_length")} for k, v in results.items()},
                      f, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
