"""The floors of shared/DESIGN.md, read from the code's own imports: a module imports from its own
floor or below, a stage package never imports another stage package, and no two modules reach
each other (no circle, whatever its length); nor does a package import another's private (``_x``) names.

Every module of src/tagengo is parsed with ``ast``; every import counts, at any depth (inside a
function or under ``TYPE_CHECKING`` too: a lazy import hides a dependency, it does not remove it).
The imports that break a rule today are listed in ``KNOWN``, each with the kind of debt it is;
the list may only shrink (a test fails when an entry no longer exists)."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tagengo"

#: The stage packages (floor 4): one package each, none imports another.
STAGES = (
    "curate",
    "dedup",
    "generate",
    "reverse",
    "translate",
    "extend",
    "prefer",
    "contamination",
    "mix",
    "export",
    "train",
    "bench",
    "eval",
    "route",
)
#: Floor of each top-level module or package of tagengo (DESIGN.md, "Floors"): 0 the record type
#: and errors, 1 language services, readers and writers, bundled data, 2 the model-call layer,
#: 3 the runner, 4 the stages, 5 the cross-stage report, 6 the thin commands.
FLOORS: dict[str, int] = {
    "__init__": 0,
    "records": 0,
    "errors": 0,
    "invisible": 0,
    "pairs_check": 0,
    "lang": 1,
    "io": 1,
    "data": 1,
    "llm": 2,
    "run": 3,
    **dict.fromkeys(STAGES, 4),
    "report": 5,
    "cli": 6,
    "demo": 6,
    "demo_cli": 6,
    "doctor": 6,
    "doctor_cli": 6,
}
STAGE_FLOOR = 4

#: Imports that break a rule today, each (importing file under src/tagengo, imported module).
#: Shrink, never grow: fix the import instead (move the helper down a floor, split a variant
#: and its parent into a shared common.py), then delete its line here.
KNOWN: set[tuple[str, str]] = {
    # -- up a floor --------------------------------------------------------------------------------
    # -- stage to stage ----------------------------------------------------------------------------
    # curate runs dedup as its last step: composing stages belongs in a command, not in a stage.
    ("curate/config.py", "tagengo.dedup.config"),
    ("curate/stage.py", "tagengo.dedup.config"),
    ("curate/stage.py", "tagengo.dedup.stage"),
    ("curate/stage.py", "tagengo.dedup.step"),
    # -- circles: none left. A variant and its parent share a common.py (mix/export_common.py,
    # train/common.py); the parent dispatches to the variant (DESIGN.md, Floors).
}


#: Private names (``_x``) one package imports from another, each (importing file, module, name):
#: a name starting with ``_`` may change without notice inside its own package. Shrink, never grow.
KNOWN_PRIVATE: set[tuple[str, str, str]] = {
    ("reverse/corpus.py", "tagengo.io.source", "_jsonl_chunks"),
    ("reverse/corpus.py", "tagengo.io.source", "_parquet_chunks"),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["tagengo", *parts])


@cache
def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(SRC.rglob("*.py"))}


def _resolve(module: str | None, level: int, importer: str, is_package: bool) -> str | None:
    """The absolute name of a ``from``/``import`` target (relative imports resolved)."""
    if level == 0:
        return module
    base = importer.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: -(level - 1)]
    return ".".join(base + ([module] if module else []))


def _target(name: str, mods: dict[str, Path] | set[str]) -> str | None:
    """The module of tagengo that ``name`` (a module, or a name inside one) lives in."""
    while name:
        if name in mods:
            return name
        name = name.rpartition(".")[0]
    return None


def imports_in(source: str, module: str, is_package: bool, mods: dict[str, Path] | set[str]) -> set[str]:
    """Every module of ``mods`` that the code ``source`` of ``module`` imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve(node.module, node.level, module, is_package)
            if base is None:
                continue
            # ``from pkg import mod`` imports the module pkg.mod; ``from mod import name`` imports mod.
            names = [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        for name in names:
            if name == "tagengo" or name.startswith("tagengo."):
                target = _target(name, mods)
                if target is not None and target != module:
                    found.add(target)
    return found


def imports_of(module: str) -> set[str]:
    path = modules()[module]
    return imports_in(path.read_text(encoding="utf-8"), module, path.name == "__init__.py", modules())


@cache
def graph() -> dict[str, frozenset[str]]:
    return {m: frozenset(imports_of(m)) for m in modules()}


def top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def floor(module: str) -> int:
    return FLOORS[top(module)]


def rel(module: str) -> str:
    return modules()[module].relative_to(SRC).as_posix()


def upward() -> set[tuple[str, str]]:
    return {(rel(a), b) for a, targets in graph().items() for b in targets if floor(b) > floor(a)}


def stage_to_stage() -> set[tuple[str, str]]:
    return {
        (rel(a), b)
        for a, targets in graph().items()
        for b in targets
        if floor(a) == floor(b) == STAGE_FLOOR and top(a) != top(b)
    }


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            child = next(it, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def mutual_pairs() -> set[tuple[str, str]]:
    """Two modules that import each other (the shortest circle)."""
    g = graph()
    return {(a, b) for a, targets in g.items() for b in targets if a < b and a in g.get(b, ())}


def unlisted_graph() -> dict[str, frozenset[str]]:
    """The import graph without the imports of ``KNOWN``."""
    return {a: frozenset(b for b in targets if (rel(a), b) not in KNOWN) for a, targets in graph().items()}


def test_every_module_has_a_floor():
    unknown = sorted({top(m) for m in modules()} - FLOORS.keys())
    assert not unknown, f"give these a floor in FLOORS (and in DESIGN.md): {unknown}"


def test_no_module_imports_from_a_higher_floor():
    new = sorted(upward() - KNOWN)
    assert not new, (
        "these imports point up a floor (DESIGN.md, Floors): move what they need down a floor, "
        f"or pass it in from above: {new}"
    )


def test_no_stage_imports_another_stage():
    new = sorted(stage_to_stage() - KNOWN)
    assert not new, f"a stage imports another stage: move the shared helper down a floor: {new}"


def test_no_circles():
    found = cycles(unlisted_graph())
    assert not found, (
        f"these modules reach each other through their imports: share a common module instead: {found}"
    )


def test_the_known_list_holds_only_imports_that_still_exist():
    edges = {(rel(a), b) for a, targets in graph().items() for b in targets}
    assert not KNOWN - edges, f"fixed: delete these from KNOWN: {sorted(KNOWN - edges)}"


def private_imports() -> set[tuple[str, str, str]]:
    """Every ``from tagengo.<package>... import _name`` whose package is not the importer's."""
    found = set()
    for module, path in modules().items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                not isinstance(node, ast.ImportFrom)
                or node.level
                or not (node.module or "").startswith("tagengo.")
            ):
                continue
            if top(node.module) == top(module):
                continue
            for alias in node.names:
                if alias.name.startswith("_") and not alias.name.startswith("__"):
                    found.add((rel(module), node.module, alias.name))
    return found


def test_no_package_imports_another_packages_private_names():
    new = sorted(private_imports() - KNOWN_PRIVATE)
    assert not new, f"make these public (documented) in their module, or move them to a shared one: {new}"
    assert not KNOWN_PRIVATE - private_imports(), "fixed: delete these from KNOWN_PRIVATE"


def test_the_reader_sees_lazy_relative_and_type_checking_imports():
    mods = {"tagengo", "tagengo.records", "tagengo.lang", "tagengo.lang.languages", "tagengo.run.runner"}
    source = """
from typing import TYPE_CHECKING
from . import languages
from ..records import Record
if TYPE_CHECKING:
    from tagengo.run.runner import StageResult
def f():
    import tagengo.lang.languages as L
    from tagengo import __version__
    import json
"""
    found = imports_in(source, "tagengo.lang.verdict", False, mods)
    assert found == {"tagengo.lang.languages", "tagengo.records", "tagengo.run.runner", "tagengo"}
    # In a package's __init__, "." is the package itself.
    assert imports_in("from .languages import x", "tagengo.lang", True, mods) == {"tagengo.lang.languages"}


def test_circles_are_found_at_any_length():
    edges = {"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}
    assert cycles(edges) == [["a", "b", "c"]]
    assert cycles({"a": frozenset({"b"}), "b": frozenset()}) == []


if __name__ == "__main__":  # counts for a report: python tests/test_floors.py
    up, side = upward(), stage_to_stage()
    comps = cycles(graph())
    print(f"modules: {len(modules())}")
    print(f"upward imports: {len(up)}")
    print(f"stage-to-stage imports: {len(side)}")
    print(f"two-module circles: {len(mutual_pairs())}")
    print(f"circles (strongly connected groups of modules): {len(comps)}, sizes {[len(c) for c in comps]}")
    print(f"circles left after KNOWN: {len(cycles(unlisted_graph()))}")
    packages: dict[str, set[str]] = {}
    for a, targets in graph().items():
        packages.setdefault(top(a), set()).update(top(b) for b in targets if top(b) != top(a))
    print(f"packages that reach each other: {cycles({p: frozenset(t) for p, t in packages.items()})}")
