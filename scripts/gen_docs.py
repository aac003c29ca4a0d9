"""Render every stage's option table into docs/*.md from its pydantic config, so the docs
cannot drift from `--help`.

A docs page asks for a table with a pair of markers:

    <!-- options: tagengo.curate.config:CurateConfig -->
    (generated; do not edit)
    <!-- /options -->

docs/options.md also holds the audit of every visible option of every command (which stages
have it, what it means there), between ``<!-- options-audit -->`` and ``<!-- /options-audit -->``,
read from the click commands themselves.

    python scripts/gen_docs.py          # rewrite the tables
    python scripts/gen_docs.py --check  # exit 1 when a table is stale (the tests run this)
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from tagengo.run.options import _default_at, _is_dict, _show, leaf_fields, option_name  # noqa: E402

BLOCK = re.compile(r"(<!-- options: (?P<target>[\w.]+:\w+) -->\n)(?P<body>.*?)(<!-- /options -->)", re.S)


def table(target: str) -> str:
    module, name = target.split(":")
    model = getattr(importlib.import_module(module), name)
    defaults = model()
    lines = ["| option | default | meaning |", "| --- | --- | --- |"]
    for path, tp, info in leaf_fields(model):
        flag = option_name(path[:-1] if len(path) > 1 and path[-1] == "enabled" else path)
        if _is_dict(tp):  # maps are set in the YAML config only
            lines.append(f"| `{'.'.join(path)}` (YAML only) | `{{}}` | {info.description or ''} |")
            continue
        default = _show(_default_at(defaults, path)).replace("|", "\\|")
        desc = (info.description or "").replace("|", "\\|")
        lines.append(f"| `--{flag}` | `{default}` | {desc} |")
    return "\n".join(lines) + "\n"


AUDIT = re.compile(r"(<!-- options-audit -->\n)(?P<body>.*?)(<!-- /options-audit -->)", re.S)


def _commands() -> list[tuple[str, object]]:
    """(name, click command) of every command, a group's subcommands as ``group sub``."""
    import click

    from tagengo.cli import COMMANDS

    def walk(name: str, cmd: click.Command):
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd)
            for sub in cmd.list_commands(ctx):
                yield from walk(f"{name} {sub}", cmd.get_command(ctx, sub))
        else:
            yield name, cmd

    return [
        nc
        for name, (module, _) in COMMANDS.items()
        for nc in walk(name, importlib.import_module(module).command)
    ]


def _first_sentence(help_text: str) -> str:
    text = re.sub(r"\s*\[default:.*?\]\s*$", "", help_text).strip()
    text = re.split(r"(?<=[.;])\s", text)[0].rstrip(".;")
    return (text[:107].rsplit(" ", 1)[0] + "…" if len(text) > 110 else text).replace("|", "\\|")


def audit_table() -> str:
    """Every visible option: the commands that have it and its meaning (each command's first
    sentence where they differ), so a second name for one thing shows up side by side."""
    import click

    commands = _commands()
    helps: dict[str, dict[str, str]] = {}
    for name, cmd in commands:
        for p in cmd.params:
            if isinstance(p, click.Option) and not p.hidden:
                flag = p.opts[0] + (f"/{p.secondary_opts[0]}" if p.secondary_opts else "")
                helps.setdefault(flag, {})[name] = _first_sentence(p.help or "")
    lines = ["| option | stages | meaning |", "| --- | --- | --- |"]
    for flag in sorted(helps, key=lambda f: f.lstrip("-")):
        by = helps[flag]
        stages = [n for n, _ in commands if n in by]
        where = "every stage" if len(stages) == len(commands) else ", ".join(stages)
        meanings: dict[str, list[str]] = {}
        for n in stages:
            meanings.setdefault(by[n], []).append(n)
        if len(meanings) == 1:
            meaning = next(iter(meanings))
        else:
            meaning = "; ".join(f"{', '.join(ns)}: {m}" for m, ns in meanings.items())
        lines.append(f"| `{flag}` | {where} | {meaning} |")
    return "\n".join(lines) + "\n"


def render(text: str) -> str:
    text = BLOCK.sub(lambda m: m.group(1) + table(m.group("target")) + m.group(4), text)
    if AUDIT.search(text):
        text = AUDIT.sub(lambda m: m.group(1) + audit_table() + m.group(3), text)
    return text


def main() -> int:
    check = "--check" in sys.argv
    stale = []
    for page in sorted((ROOT / "docs").glob("*.md")):
        old = page.read_text()
        new = render(old)
        if new != old:
            stale.append(page.name)
            if not check:
                page.write_text(new)
    if check and stale:
        print(f"stale option tables in {', '.join(stale)}; run python scripts/gen_docs.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
