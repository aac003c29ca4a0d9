"""One vocabulary of options across stages (DESIGN.md "Configuration", docs/options.md).

The table below declares, per concept, the one name every stage uses and the other spellings
that must not come back; a walk over every stage's command line fails when a stage names a
declared concept another way, or uses a name that means one thing in some stages for another
thing. The renamed options (issue 24) stay accepted, hidden from --help, with a note on stderr,
from flags and from a ``--config`` YAML file."""

from __future__ import annotations

import importlib
import typing
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from tagengo.cli import COMMANDS
from tagengo.errors import ConfigError
from tagengo.run.options import build_config, config_options, leaf_fields, renamed_fields

#: concept -> (its name, the stages that must have it, spellings no stage may use for it)
CONCEPTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "parallel workers (processes, or Ray actors)": (
        "--workers",
        ("curate", "dedup", "contamination", "mix", "generate", "extend", "reverse", "translate", "prefer"),
        ("--actors", "--num-workers", "--processes", "--num-proc", "--jobs"),
    ),
    "texts per embedding call": (
        "--embedder-batch-size",
        ("contamination", "dedup"),
        ("--embedding-batch-size", "--embed-batch-size"),
    ),
    "the judge model (its name in judgment files)": (
        "--judge-model",
        ("bench judge", "bench show", "prefer", "route", "reverse", "demo"),
        ("--judge",),
    ),
    "only the first N items, a quick check (lm-eval's --limit)": (
        "--limit",
        ("bench answer", "bench judge", "eval"),
        ("--first-n", "--max-items", "--n-questions"),
    ),
    "most new tokens of an answer": (
        "--max-tokens",
        ("generate", "extend", "reverse", "translate", "bench answer", "eval", "demo"),
        ("--max-new-tokens", "--max-new-token", "--max-gen-toks"),
    ),
    "most tokens of a judge's reply": (
        "--judge-max-tokens",
        ("bench judge", "prefer", "route", "reverse"),
        (),
    ),
    "the judge's sampling temperature": ("--judge-temperature", ("bench judge", "prefer", "route"), ()),
    "bootstrap resamples (lm-eval's bootstrap_iters)": (
        "--bootstrap-iters",
        ("bench show", "route", "eval"),
        ("--bootstrap", "--n-boot", "--num-bootstrap"),
    ),
    "follow-up calls for an unreadable reply": (
        "--reask",
        ("bench judge", "prefer", "route", "reverse"),
        ("--reasks", "--re-ask"),
    ),
    "the language gate: an answer confidently in another language loses unseen": (
        "--gate",
        ("bench judge", "prefer"),
        ("--language-gate", "--language-check-min-prob", "--language-check-min-chars"),
    ),
    "which user turns contamination compares": ("--compare-turns", ("contamination",), ()),
    "the input": (
        "--input",
        ("curate", "dedup", "generate", "mix", "export", "train"),
        ("--in", "--input-path"),
    ),
    "the output folder": (
        "--out",
        ("curate", "dedup", "generate", "mix", "export", "bench show"),
        ("--output",),
    ),
    "a YAML file of options": (
        "--config",
        ("curate", "generate", "bench judge", "train"),
        ("--config-file",),
    ),
    "the seed of samples and sampling": ("--seed", ("mix", "generate", "train", "eval"), ("--random-seed",)),
    "language codes to keep": ("--languages", ("mix", "route", "eval"), ("--langs", "--language-codes")),
    "rows or prompts per language": ("--per-language", ("mix", "prefer", "route"), ("--per-lang",)),
}

#: A name that means one thing may appear only where it means that thing: elsewhere it meant
#: another (--temperature was the judge's in `bench judge`, --turns the compared turns in
#: `contamination`, --language-check the gate in `prefer`).
ONE_MEANING: dict[str, tuple[str, ...]] = {
    "--temperature": ("generate", "extend", "reverse", "translate"),
    "--turns": ("extend",),
    "--language-check": ("bench judge",),
    "--max-tokens": CONCEPTS["most new tokens of an answer"][1],
}

#: Flags renamed outside a config model's RENAMED (no config field): old -> new.
OLD_FLAGS = {"--actors": "--workers"}


def _walk(name: str, cmd: click.Command):
    if isinstance(cmd, click.Group):
        for sub in cmd.list_commands(click.Context(cmd)):
            yield from _walk(f"{name} {sub}", cmd.get_command(click.Context(cmd), sub))
    else:
        yield name, cmd


def _commands() -> dict[str, click.Command]:
    out: dict[str, click.Command] = {}
    for name, (module, _) in COMMANDS.items():
        out.update(_walk(name, importlib.import_module(module).command))
    return out


def _flags(cmd: click.Command, *, hidden: bool) -> set[str]:
    return {
        flag
        for p in cmd.params
        if isinstance(p, click.Option) and p.hidden == hidden
        for flag in (*p.opts, *p.secondary_opts)
    }


@pytest.fixture(scope="module")
def commands() -> dict[str, click.Command]:
    return _commands()


@pytest.mark.parametrize("concept", list(CONCEPTS))
def test_every_stage_names_a_concept_the_one_way(commands, concept):
    name, stages, others = CONCEPTS[concept]
    missing = [s for s in stages if name not in _flags(commands[s], hidden=False)]
    assert not missing, f"{concept}: {name} missing from {missing}"
    used = {
        (stage, flag)
        for stage, cmd in commands.items()
        for flag in _flags(cmd, hidden=False)
        if flag in others
    }
    assert not used, f"{concept} is {name}; these stages name it otherwise: {sorted(used)}"


def test_format_is_the_format_of_the_rows_read_and_export_names_what_it_writes(commands):
    # export's --format was the layout it writes (issue: a newcomer read it as the input's).
    for stage, cmd in commands.items():
        fmt = next((p for p in cmd.params if isinstance(p, click.Option) and "--format" in p.opts), None)
        if fmt is not None and not fmt.hidden:
            assert "Input format" in (fmt.help or ""), f"{stage} --format: {fmt.help}"
    assert "--output-format" in _flags(commands["export"], hidden=False)
    assert "--format" in _flags(commands["export"], hidden=True)


@pytest.mark.parametrize("flag", list(ONE_MEANING))
def test_a_name_means_one_thing(commands, flag):
    where = sorted(s for s, cmd in commands.items() if flag in _flags(cmd, hidden=False))
    assert set(where) <= set(ONE_MEANING[flag]), (
        f"{flag} in {where}; it means one thing only in {ONE_MEANING[flag]}"
    )


def _config_models() -> list[type[BaseModel]]:
    names = {
        "tagengo.bench.config": ("AnswerConfig", "JudgeConfig", "ShowConfig"),
        "tagengo.route.config": ("RouteConfig",),
        "tagengo.reverse.config": ("ReverseConfig",),
        "tagengo.prefer.config": ("PreferConfig",),
        "tagengo.contamination.config": ("ContaminationConfig",),
        "tagengo.eval.config": ("EvalConfig",),
        "tagengo.mix.config": ("ExportConfig",),
    }
    return [getattr(importlib.import_module(m), n) for m, ns in names.items() for n in ns]


def test_every_old_name_is_accepted_hidden_and_nothing_else_is_hidden(commands):
    from tagengo.run.options import _flag

    old = set(OLD_FLAGS)
    for model in _config_models():
        old |= {f"--{_flag(path)}" for path in renamed_fields(model)}
    hidden = set().union(*(_flags(cmd, hidden=True) for cmd in commands.values()))
    hidden = {f for f in hidden if not f.startswith("--no-")}
    assert hidden == old
    for stage, cmd in commands.items():
        text = cmd.get_help(click.Context(cmd, info_name=stage))
        mine = {f for f in _flags(cmd, hidden=True) if not f.startswith("--no-")}
        assert not [f for f in mine if f"{f} " in text or f"{f}/" in text], stage


def _value(model: type[BaseModel], path: tuple[str, ...]) -> tuple[list[str], Any]:
    """A flag value for the field at ``path`` other than its default, and what it parses to."""
    tp = {p: t for p, t, _ in leaf_fields(model)}[path]
    text = str(tp)
    if "bool" in text:
        return [], not _default(model, path)
    if "Literal" in text:
        # A value of the Literal other than the default (export's output_format: messages, sharegpt...).
        choices = [c for c in typing.get_args(_literal(tp)) if c != _default(model, path)]
        return [str(choices[0])], choices[0]
    if "float" in text:
        return ["0.5"], 0.5
    if "int" in text:
        return ["3"], 3
    return ["x"], "x"


def _literal(tp: Any) -> Any:
    """The Literal inside ``tp`` (itself, or a member of an Optional)."""
    if typing.get_origin(tp) is typing.Literal:
        return tp
    return next(a for a in typing.get_args(tp) if typing.get_origin(a) is typing.Literal)


def _default(model: type[BaseModel], path: tuple[str, ...]) -> Any:
    value: Any = model()
    for part in path:
        value = getattr(value, part)
    return value


def _at(cfg: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = cfg
    for part in path:
        value = getattr(value, part)
    return value


def _probe(model: type[BaseModel], built: list[BaseModel]) -> click.Command:
    """A command with ``model``'s options (as every stage adds them) that keeps the config built."""

    @click.command()
    @config_options(model)
    def probe(**kwargs: Any) -> None:
        built.append(build_config(model, kwargs))

    return probe


def _renames() -> list[tuple[type[BaseModel], tuple[str, ...], tuple[str, ...]]]:
    return [(m, old, new) for m in _config_models() for old, new in renamed_fields(m).items()]


@pytest.mark.parametrize(
    "model,old,new", _renames(), ids=lambda v: ".".join(v) if isinstance(v, tuple) else None
)
def test_an_old_flag_sets_the_new_field_with_a_note(model, old, new):
    from tagengo.run.options import _flag

    args, want = _value(model, new)
    flag = f"--{_flag(old)}"
    if not args and want is False:
        flag = f"--no-{_flag(old)}"
    built: list[BaseModel] = []
    r = CliRunner().invoke(_probe(model, built), [flag, *args])
    assert r.exit_code == 0, r.output
    assert _at(built[0], new) == want
    assert f"--{_flag(old)} is the old name of --{_flag(new)}" in r.stderr


@pytest.mark.parametrize(
    "model,old,new", _renames(), ids=lambda v: ".".join(v) if isinstance(v, tuple) else None
)
def test_an_old_key_in_a_config_file_sets_the_new_field_with_a_note(model, old, new, tmp_path, capsys):
    import yaml

    _, want = _value(model, new)
    data: dict[str, Any] = {}
    node = data
    for part in old[:-1]:
        node = node.setdefault(part, {})
    node[old[-1]] = want
    path = tmp_path / "old.yaml"
    path.write_text(yaml.safe_dump(data))
    cfg = build_config(model, {}, config_file=path)
    assert _at(cfg, new) == want
    err = capsys.readouterr().err
    # The key sits on the file's line len(old) (one line per level of nesting).
    assert f"old.yaml, line {len(old)}: {'.'.join(old)} is the old name of {'.'.join(new)}" in err


def test_old_and_new_name_together_are_refused(tmp_path):
    from tagengo.reverse.config import ReverseConfig

    with pytest.raises(ConfigError, match="--reasks is the old name of --reask: give only --reask"):
        build_config(ReverseConfig, {"cfg__reask": 1, "cfgold__reasks": 2})
    path = tmp_path / "both.yaml"
    path.write_text("reasks: 2\nreask: 1\n")
    with pytest.raises(ConfigError, match=r"line 1: reasks is the old name of reask.*line 2"):
        build_config(ReverseConfig, {}, config_file=path)


def test_generates_old_actors_flag_is_workers_with_a_note(tmp_path):
    from tagengo.generate.cli import command

    r = CliRunner().invoke(command, ["--input", "x.jsonl", "--out", str(tmp_path / "o"), "--actors", "2"])
    # The value reached --workers: without --executor ray, --workers is refused by its new name.
    assert "--workers needs --executor ray" in str(r.exception)
    assert "--actors is the old name of --workers" in r.stderr
    both = CliRunner().invoke(command, ["--input", "x", "--out", "o", "--actors", "2", "--workers", "2"])
    assert both.exit_code != 0 and "give only --workers" in both.output + both.stderr
