"""The package's shape: layers import only downward, no import cycles, argparse only in fastocr/cli, and the
one beam limit shared by Python and C++ (docs/architecture.md explains the layers)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Lowest first. A module may import its own layer and those below; fastocr/__init__ (the public surface) sits on top.
LAYERS = [
    ["fastocr.errors", "fastocr.config", "fastocr.alphabet", "fastocr.files", "fastocr._ext", "fastocr.plots",
     "fastocr._version", "fastocr._moved"],
    ["fastocr.decode"],
    ["fastocr.reference"],
    ["fastocr.kernels", "fastocr.ops"],
    ["fastocr.model"],
    ["fastocr.checkpoint"],
    ["fastocr.onnx"],
    ["fastocr.engine", "fastocr.page"],
    ["fastocr.train", "fastocr.bench", "fastocr.serve"],
    ["fastocr.cli"],
]


def _modules() -> dict[str, Path]:
    """Module name -> file, for fastocr/ and for kernels/ (installed as fastocr.kernels)."""
    mods = {}
    for folder, package in ((ROOT / "fastocr", "fastocr"), (ROOT / "kernels", "fastocr.kernels")):
        for f in folder.rglob("*.py"):
            parts = [package, *f.relative_to(folder).with_suffix("").parts]
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    """The fastocr modules ``name`` imports, anywhere in the file (function-level imports count too)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from pkg import mod` imports the module; `from mod import name` imports mod
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
        else:
            continue
        for t in targets:
            while t and t not in mods:
                t = t.rpartition(".")[0]
            if t and t != name:
                out.add(t)
    return out


def _layer(name: str) -> int:
    if name == "fastocr":
        return len(LAYERS)
    for i, members in enumerate(LAYERS):
        if any(name == m or name.startswith(m + ".") for m in members):
            return i
    raise AssertionError(f"{name} is in no layer: add it to LAYERS (and to docs/architecture.md)")


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    return {m: _imports(m, p, mods) for m, p in mods.items()}


def test_every_import_goes_down_or_sideways():
    upward = [f"{m} (layer {_layer(m)}) imports {t} (layer {_layer(t)})"
              for m, targets in _graph().items() for t in sorted(targets) if _layer(t) > _layer(m)]
    assert not upward, "\n".join(upward)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_no_import_cycles():
    graph = _graph()
    # a package's __init__ re-exporting its own modules is how packages work, not a cycle
    graph = {m: {t for t in ts if not t.startswith(m + ".")} for m, ts in graph.items()}
    assert not _cycles(graph)


def test_the_checks_see_a_cycle_and_an_upward_import():
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]
    assert _layer("fastocr.engine.recognizer") > _layer("fastocr.ops") > _layer("fastocr.errors")


def test_argparse_only_in_the_cli():
    outside = [m for m, p in _modules().items() if not m.startswith("fastocr.cli")
               and re.search(r"^\s*(import argparse|from argparse import)", p.read_text(encoding="utf-8"), re.M)]
    assert not outside


def test_the_beam_limit_is_the_extensions():
    header = (ROOT / "csrc" / "beam_step.h").read_text(encoding="utf-8")
    from fastocr.ops import MAX_BEAM

    assert f"constexpr int kMaxBeam = {MAX_BEAM};" in header


def test_old_module_paths_still_import_with_a_warning():
    import importlib
    import sys
    import warnings

    from fastocr._moved import MOVED

    for old, new in MOVED.items():
        sys.modules.pop(old, None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            module = importlib.import_module(old)
        assert module is importlib.import_module(new)
        assert any(issubclass(w.category, DeprecationWarning) and new in str(w.message) for w in caught), old
