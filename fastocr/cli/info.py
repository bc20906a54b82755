"""``fastocr info``: which fast paths this installation has, and why one is missing."""

from __future__ import annotations

import argparse
import json

HELP = "show the compiled extension, Triton and CUDA status, and the bundled models"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.description = ("Print which fast paths this installation has, as JSON: the torch version, whether CUDA is "
                     "available, whether the C++ extension (fastocr._C) and its CUDA part (fastocr._C_cuda) were "
                     "built, and, when one is missing, the import error that explains why; whether page mode "
                     "(`fastocr read`) has its detector; and the bundled models (`--model NAME`): file, size, "
                     "alphabet and architecture.")
    p.epilog = "example:\n  fastocr info"
    p.formatter_class = argparse.RawDescriptionHelpFormatter


def run(args: argparse.Namespace) -> int:
    from ..checkpoint import bundled_models, describe_model
    from ..ops import backend_info
    from ..page.detect import detector_info

    models = {name: describe_model(path) for name, path in bundled_models().items()}
    print(json.dumps({**backend_info(), **detector_info(), "bundled_models": models}, indent=2, default=str))
    return 0
