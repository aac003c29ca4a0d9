"""A package uses another package's public API only: a name starting with ``_`` is private to
its own package (it may change without notice there), so importing it from elsewhere couples
two packages through a detail. Checked over the source tree with the AST."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tagengo"

#: Known couplings left to fix, each (importing module, imported module, name). Shrink, never grow.
KNOWN = {
    ("reverse/corpus.py", "tagengo.io.source", "_jsonl_chunks"),
    ("reverse/corpus.py", "tagengo.io.source", "_parquet_chunks"),
}


def _package(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 2 else module


def cross_package_private_imports() -> set[tuple[str, str, str]]:
    found = set()
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC).as_posix()
        own = _package("tagengo." + rel.removesuffix(".py").replace("/", "."))
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("tagengo."):
                if _package(node.module) == own:
                    continue
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__"):
                        found.add((rel, node.module, alias.name))
    return found


def test_no_package_imports_another_packages_private_names():
    new = cross_package_private_imports() - KNOWN
    assert not new, (
        f"make these public (documented) in their module, or move them to a shared one: {sorted(new)}"
    )


def test_the_known_list_holds_only_couplings_that_still_exist():
    assert not KNOWN - cross_package_private_imports()
