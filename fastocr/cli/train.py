"""``fastocr train``: the flags of ``fastocr.train.TrainOptions`` (same names, same defaults)."""

from __future__ import annotations

import argparse

from .args import input_file, non_negative_int, options_from, output_dir, positive_int

HELP = "train a recognizer (label lists and/or synthetic lines)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Train a recognizer on label lists (original 'path label' or TSV 'path<TAB>label') and/or "
                     "synthetic lines rendered on the fly. Writes OUT/latest.pt (every --ckpt-every steps, "
                     "atomically), OUT/best.pt and OUT/best.safetensors (best validation exact match), "
                     "OUT/log.csv and OUT/curves.png. --resume continues an interrupted run with the same data order.")
    p.epilog = ("examples:\n  fastocr train --out runs/en --synth --steps 50000\n"
                "  fastocr train --out runs/zh --charset char_std_5990.txt --train-list train.txt --no-synth\n"
                "  fastocr train --out runs/en --synth --resume")
    p.formatter_class = argparse.RawDescriptionHelpFormatter
    p.add_argument("--out", type=output_dir, required=True, help="run folder for checkpoints, log and curves")
    p.add_argument("--train-list", action="append", default=[], help="label list to train on (repeatable)")
    p.add_argument("--synth", action=argparse.BooleanOptionalAction, default=True,
                   help="also train on synthetic lines rendered on the fly (default: on)")
    p.add_argument("--val-list", action="append", default=[], help="label list to validate on (repeatable)")
    p.add_argument("--val-size", type=positive_int, default=500, help="items per validation set (default 500)")
    p.add_argument("--best-on", default=None, metavar="NAME",
                   help="validation set whose exact match picks best.pt: 'synth', or a --val-list's name (its "
                        "file name, or its folder's for labels.tsv) (default: the first set)")
    p.add_argument("--bucket-window", type=non_negative_int, default=0, metavar="N",
                   help="batch lines of like lengths: sort each N batches of samples by label length, then "
                        "shuffle the batches (a batch is padded to its widest line: worth it with long lines, "
                        "e.g. --max-label-len 80 --bucket-window 16; default 0: off)")
    p.add_argument("--list-fraction", type=float, default=0.5,
                   help="with --train-list and --synth: share of lines drawn from the lists (default 0.5)")
    p.add_argument("--augment-lists", action=argparse.BooleanOptionalAction, default=True,
                   help="re-cut and degrade list images at random (rotation, margins, blur, noise, JPEG), so a "
                        "small real set is not learnt by heart (default: on)")
    p.add_argument("--charset", default="ascii", help="'ascii' (95 printable) or an alphabet file (default ascii)")
    p.add_argument("--attention", choices=["slot", "additive"], default="slot",
                   help="slot: the original fixed-width model; additive: variable-width lines (default slot)")
    p.add_argument("--width", type=positive_int, default=280,
                   help="input width in px (slot), or widest line before squashing (additive) (default 280)")
    p.add_argument("--init-from", type=input_file, default=None,
                   help="a fastocr model file or a training checkpoint (latest.pt, best.pt) whose matching weights "
                        "(e.g. the encoder; a checkpoint's CTC head too) start this run")
    p.add_argument("--max-label-len", type=positive_int, default=24, help="longest label trained on (default 24)")
    p.add_argument("--steps", type=positive_int, default=100_000, help="optimizer steps in all (default 100000)")
    p.add_argument("--batch-size", type=positive_int, default=32, help="lines per step (default 32)")
    p.add_argument("--lr", type=float, default=1e-3,
                   help="Adam learning rate; with --resume it replaces the checkpoint's, so resuming with a lower "
                        "one decays it (default 1e-3)")
    p.add_argument("--decay-from", type=non_negative_int, default=None, metavar="STEP",
                   help="from STEP on, lower the learning rate along a cosine to a hundredth of --lr at --steps "
                        "(e.g. the last third of a run; default: a constant --lr)")
    p.add_argument("--warmup", type=non_negative_int, default=0, metavar="STEPS",
                   help="raise the learning rate linearly from 0 to --lr over the first STEPS steps: a fine-tune from "
                        "--init-from starts with a fresh optimizer whose first updates are full-size (default 0)")
    p.add_argument("--clip", type=float, default=5.0, help="gradient norm clip (default 5)")
    p.add_argument("--ctc-weight", type=float, default=0.5,
                   help="weight of the auxiliary CTC loss on the encoder, which speeds up convergence; "
                        "0 trains the original seq2seq loss alone (default 0.5)")
    p.add_argument("--words", type=input_file, default=None,
                   help="word list for synthetic lines, a word a line (what follows the first whitespace, such as a "
                        "frequency or a tag, is ignored); without it, words are invented (e.g. /usr/share/dict/words)")
    p.add_argument("--corpus", type=input_file, action="append", default=[], metavar="FILE",
                   help="text file whose sentences label the synthetic lines of a CJK --charset (repeatable): pieces "
                        "of 2 to --max-label-len characters, mixed-script lines, rare characters; one sentence in 50 "
                        "is held out for the synthetic validation set")
    p.add_argument("--teacher-forcing", type=float, default=0.5,
                   help="probability that a batch is trained with teacher forcing (default 0.5)")
    p.add_argument("--eval-every", type=positive_int, default=1000, help="validate every N steps (default 1000)")
    p.add_argument("--ckpt-every", type=positive_int, default=200, help="write latest.pt every N steps (default 200)")
    p.add_argument("--log-every", type=positive_int, default=50, help="log the mean loss every N steps (default 50)")
    p.add_argument("--seed", type=non_negative_int, default=0, help="seed of the data order and initialisation (default 0)")
    p.add_argument("--workers", type=non_negative_int, default=1,
                   help="data-loading worker processes; 0 loads in the training process (default 1)")
    p.add_argument("--threads", type=non_negative_int, default=0, help="torch CPU threads (default 0: torch's choice)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--amp", action=argparse.BooleanOptionalAction, default=True, help="bf16 autocast on CUDA and on CPUs with native bf16 (default: on)")
    p.add_argument("--resume", action="store_true", help="continue from OUT/latest.pt if it exists")
    p.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                   help="stop once this much time is spent, writing OUT/latest.pt at that step (a GPU lease's end); "
                        "--resume continues (default: none)")


def run(args: argparse.Namespace) -> int:
    from ..train import TrainOptions, train

    best = train(options_from(TrainOptions, args))
    print(f"best model: {best}")
    return 0
