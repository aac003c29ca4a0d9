"""`tagengo doctor`: one line per bundled part: ok with its timing, or what failed and the fix."""

from __future__ import annotations

import contextlib
import json

import click


@click.command(context_settings={"max_content_width": 110})
@click.option(
    "--only",
    default=None,
    help="Comma-separated checks to run (langid, tokenizer, embedder, llamacpp, extras). Default: all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON lines.")
@click.option("-v", "--verbose", is_flag=True, help="Also print llama.cpp's system info and CPU flags.")
def command(only: str | None, as_json: bool, verbose: bool) -> None:
    """Check that every bundled part loads and runs on this machine.

    Each check runs in a child process, so a native crash (a llama.cpp build that does not fit this
    CPU) is reported as a sentence with its fix instead of killing the shell. Exits 1 if a part
    that is installed fails; a missing optional extra is reported but is not a failure.
    """
    from rich.console import Console

    from tagengo.doctor import CHECKS, cpu_flags, run_check
    from tagengo.errors import ConfigError

    names = [n.strip() for n in only.split(",") if n.strip()] if only else list(CHECKS)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        raise ConfigError(f"--only: unknown check(s) {', '.join(unknown)}; known: {', '.join(CHECKS)}")
    console = Console(soft_wrap=True)
    failed = False
    if verbose and not as_json:
        console.print(f"CPU flags: {' '.join(cpu_flags()) or 'unknown'}")
    for name in names:
        with console.status(f"checking {name}…", spinner="dots") if not as_json else contextlib.nullcontext():
            r = run_check(name)
        failed |= not r.ok
        if as_json:
            click.echo(json.dumps(r.__dict__))
            continue
        if r.ok:
            line = f"[green]ok[/]    {name:<10} {r.seconds:6.1f} s  {r.detail}"
            if r.fix:  # extras: something optional is missing
                line += f"\n      {'':<10}          [yellow]{r.fix}[/]"
            console.print(line)
        else:
            console.print(
                f"[red]FAIL[/]  {name:<10} {r.seconds:6.1f} s  {r.detail}\n      {'':<10}          fix: {r.fix}"
            )
        if verbose and r.info.get("system_info"):
            console.print(f"      llama.cpp: {r.info['system_info']}")
    if failed:
        raise SystemExit(1)
