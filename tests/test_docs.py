"""The README and docs/: the README fits on a few screens and opens with the two commands CI runs, and every
relative link in them leads to a file that exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "benchmarks" / "results" / "README.md"]
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def test_readme_is_short_and_opens_with_the_install_and_test_commands():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 150
    first_block = lines[lines.index("```bash") + 1 : lines.index("```")]
    commands = [line for line in first_block if not line.startswith("#")]
    assert len(commands) == 2
    assert "pip install" in commands[0] and "fastocr recognize examples/" in commands[0]
    assert '"setuptools>=77"' in commands[0]  # --no-build-isolation: Python >= 3.12 venvs come without it
    assert "pytest" in commands[1]


def broken_links(doc: Path) -> list[str]:
    """The relative links of ``doc`` whose file does not exist (web links and anchors are not checked)."""
    targets = [t for t in LINK.findall(doc.read_text(encoding="utf-8")) if not re.match(r"[a-z]+:|#", t)]
    return [t for t in targets if not (doc.parent / t.split("#")[0]).exists()]


def test_every_relative_link_resolves():
    assert not {str(doc.relative_to(ROOT)): broken_links(doc) for doc in DOCS if broken_links(doc)}


def test_the_link_check_sees_a_broken_link(tmp_path):
    (tmp_path / "c.md").write_text("")
    doc = tmp_path / "a.md"
    doc.write_text("[there](b.md) [here](c.md#part) [web](https://example.org) [anchor](#top)")
    assert broken_links(doc) == ["b.md"]
