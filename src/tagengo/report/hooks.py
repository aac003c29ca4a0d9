"""Which stage shows a folder: the page asks the folder's stage (``manifest.json``'s ``stage``,
or ``export`` for a folder with ``export.json``) for its sections through the stage package's
``report_hook.report_blocks(folder, manifest) -> list[Section]``, and knows nothing of any
stage's files itself (DESIGN.md, Report).

A folder the page cannot show raises :class:`tagengo.run.blocks.NotShown` with one sentence
saying why; the page lists it at its end, never a traceback.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from tagengo.run.blocks import Note, NotShown, Section

#: Every stage whose folders the page shows, and the package holding its report hook (a stage is
#: its package's name, except export, which lives in mix/).
HOOKS: dict[str, str] = {
    "curate": "curate",
    "dedup": "dedup",
    "contamination": "contamination",
    "generate": "generate",
    "extend": "extend",
    "reverse": "reverse",
    "translate": "translate",
    "prefer": "prefer",
    "route": "route",
    "mix": "mix",
    "export": "mix",
    "train": "train",
    "eval": "eval",
}
#: Steps that run inside other stages and bring a section of their own (dedup is also curate's
#: last step), from ``step_blocks(folder, manifest, step)`` of the package named.
STEP_HOOKS: dict[str, str] = {"dedup": "dedup", "contamination": "contamination"}


def read_folder_manifest(folder: Path) -> dict[str, Any] | None:
    """The folder's manifest (an export's ``export.json``, stage ``export``); None when it has
    none. Raises :class:`NotShown` for a manifest that is not a JSON object."""
    path = folder / "manifest.json"
    if not path.exists() and (folder / "export.json").exists():
        path = folder / "export.json"
    if not path.exists():
        return None
    try:
        m = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotShown(f"{path} cannot be read as JSON ({exc})") from None
    if not isinstance(m, dict):
        raise NotShown(f"{path} holds a JSON {type(m).__name__}, not an object")
    if path.name == "export.json":
        m.setdefault("stage", "export")
    return m


def hook(package: str, name: str = "report_blocks") -> Any:
    return getattr(importlib.import_module(f"tagengo.{package}.report_hook"), name)


def folder_sections(folder: Path) -> list[Section] | None:
    """The sections the folder's stage gives; None when it is no folder the page knows. A folder
    without a manifest may still be bench's (FastChat's layout, or ``bench show``'s output)."""
    m = read_folder_manifest(folder)
    if m is None:
        return hook("bench", "folder_sections")(folder)
    stage = m.get("stage")
    if stage not in HOOKS:
        path = folder / ("manifest.json" if (folder / "manifest.json").exists() else "export.json")
        raise NotShown(
            f"{path} names stage {stage!r}, which this report cannot show (it shows {', '.join(HOOKS)})"
        )
    sections = list(hook(HOOKS[stage])(folder, m))
    # A step's own section goes right after the stage's first one, in the order the steps ran.
    at = 1
    for step in m.get("steps") or []:
        package = STEP_HOOKS.get(step.get("name") if isinstance(step, dict) else None)
        if package is not None:
            extra = hook(package, "step_blocks")(folder, m, step)
            sections[at:at] = extra
            at += len(extra)
    add_warnings(sections, m, folder)
    return sections


def add_warnings(sections: list[Section], m: dict[str, Any], folder: Path) -> None:
    """Put the manifest's ``warnings`` (a canned reply many prompts got, a shared id, the model a
    gateway answered with in place of the one asked for, missing shards) at the top of the stage's
    first section: the terminal and ``tagengo inspect`` show them, and a reader of the page alone
    must see them too. A warning a stage's own hook already shows (route, train) is not repeated."""
    got = m.get("warnings")
    if not sections or not isinstance(got, list):
        return
    name = (
        "export.json"
        if m.get("stage") == "export" and not (folder / "manifest.json").exists()
        else "manifest.json"
    )
    shown = " ".join(b.text for s in sections for b in s.blocks if isinstance(b, Note))
    new = [str(w) for w in got if str(w) not in shown]
    sections[0].blocks[0:0] = [Note(f"warning: {w}", f"{name} (warnings)", kind="warning") for w in new]
