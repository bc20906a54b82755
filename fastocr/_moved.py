"""Old import paths of modules that moved in 0.2, kept working for one release with a DeprecationWarning.

``import fastocr.recognizer`` (0.1) gives ``fastocr.engine.recognizer`` itself, so monkeypatching and
``isinstance`` keep working. The table is the one place that knows the old names; removed in 0.3.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
import warnings

MOVED = {
    "fastocr.argtypes": "fastocr.cli.args",
    "fastocr.augment": "fastocr.train.augment",
    "fastocr.beam": "fastocr.engine.beam",
    "fastocr.data": "fastocr.train.data",
    "fastocr.distributed": "fastocr.engine.ray",
    "fastocr.evaluate": "fastocr.train.evaluate",
    "fastocr.graphs": "fastocr.engine.graphs",
    "fastocr.metrics": "fastocr.train.metrics",
    "fastocr.preprocess": "fastocr.engine.preprocess",
    "fastocr.recognizer": "fastocr.engine.recognizer",
    "fastocr.synth": "fastocr.train.synth",
    "fastocr.vocabulary": "fastocr.engine.vocabulary",
}


class _MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        return importlib.util.spec_from_loader(name, self) if name in MOVED else None

    def create_module(self, spec):
        warnings.warn(f"{spec.name} moved to {MOVED[spec.name]}; the old name goes in fastocr 0.3",
                      DeprecationWarning, stacklevel=2)
        return importlib.import_module(MOVED[spec.name])

    def exec_module(self, module):
        pass  # the module it returned is already imported


def install() -> None:
    if not any(isinstance(f, _MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.append(_MovedModuleFinder())
