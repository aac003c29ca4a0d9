"""Pydantic stage configs <-> click options, YAML files and named presets.

Every leaf field of a stage's config becomes a flag, so every default shows in
``tagengo <stage> --help``. Nested models flatten with dashes: ``langid.threshold`` is
``--langid-threshold``; booleans are ``--x/--no-x`` (and ``x.enabled`` is ``--x/--no-x``); lists are comma-separated.

Renamed options (one vocabulary across stages, issue 24; docs/options.md): a config model lists
its old field paths in ``RENAMED`` (``{"first_n": "limit"}``); the old flag stays accepted,
hidden from --help, and an old key in a ``--config`` YAML file too, each with a note on stderr
(:func:`deprecation_note`), for one release. A flag that is no config field is renamed with
:func:`accept_old_flags`.

Precedence, lowest first: the model's defaults < the preset < ``--config FILE.yaml`` <
flags given on the command line. Flags default to None in click, so only the ones the
user actually typed override anything.
"""

from __future__ import annotations

import copy
import re
import types
import typing
from collections.abc import Callable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Literal, TypeVar

import click
from pydantic import BaseModel, ValidationError

from tagengo.errors import ConfigError
from tagengo.io.text import read_text

M = TypeVar("M", bound=BaseModel)
F = TypeVar("F", bound=Callable[..., Any])


def _unwrap_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def leaf_fields(
    model: type[BaseModel], prefix: tuple[str, ...] = ()
) -> list[tuple[tuple[str, ...], Any, Any]]:
    """(path, annotation, FieldInfo) for every non-model field, depth first."""
    out = []
    for name, info in model.model_fields.items():
        tp = _unwrap_optional(info.annotation)
        if _is_model(tp):
            out.extend(leaf_fields(tp, (*prefix, name)))
        else:
            out.append(((*prefix, name), info.annotation, info))
    return out


def _default_at(model: BaseModel, path: tuple[str, ...]) -> Any:
    value: Any = model
    for part in path:
        value = getattr(value, part)
    return value


def _show(value: Any) -> str:
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) if value else "(none)"
    if value is None:
        return "(none)"
    return str(value)


def _click_type(tp: Any) -> Any:
    tp = _unwrap_optional(tp)
    origin = typing.get_origin(tp)
    if origin is Literal:
        return click.Choice([str(a) for a in typing.get_args(tp)])
    if isinstance(tp, type) and issubclass(tp, Enum):
        return click.Choice([str(m.value) for m in tp])
    if tp is int:
        return click.INT
    if tp is float:
        return click.FLOAT
    if tp is Path:
        return click.Path(path_type=str)
    return click.STRING


def _is_list(tp: Any) -> bool:
    return typing.get_origin(_unwrap_optional(tp)) in (list, tuple, set, frozenset)


def _is_dict(tp: Any) -> bool:
    return typing.get_origin(_unwrap_optional(tp)) is dict


def option_name(path: tuple[str, ...]) -> str:
    return "-".join(p.replace("_", "-") for p in path)


#: The release after which an old option name is refused (the deprecation notes say it).
OLD_NAMES_UNTIL = "0.2"


def deprecation_note(old: str, new: str, where: str = "") -> None:
    """Tell the user, on stderr, that ``old`` (a flag or a YAML key) is now ``new``; ``where``
    is the YAML file and line. Every renamed option of every stage says it this one way."""
    place = f"{where}: " if where else ""
    click.echo(
        f"note: {place}{old} is the old name of {new}; it is accepted until tagengo {OLD_NAMES_UNTIL}, "
        f"use {new}.",
        err=True,
    )


def renamed_fields(model: type[BaseModel]) -> dict[tuple[str, ...], tuple[str, ...]]:
    """Old field path -> new field path of a config model (its ``RENAMED`` class attribute,
    dotted paths), e.g. ``("first_n",) -> ("limit",)``."""
    table: Mapping[str, str] = getattr(model, "RENAMED", {}) or {}
    leaves = [path for path, _, _ in leaf_fields(model)]
    out: dict[tuple[str, ...], tuple[str, ...]] = {}
    for old_dotted, new_dotted in table.items():
        old, new = tuple(old_dotted.split(".")), tuple(new_dotted.split("."))
        # A renamed group (``language_check`` -> ``gate``) renames every field under it.
        under = [leaf for leaf in leaves if leaf[: len(new)] == new]
        if not under:
            raise ValueError(f"{model.__name__}.RENAMED: no field {new_dotted}")
        out.update({(*old, *leaf[len(new) :]): leaf for leaf in under})
    return out


def _old_param(path: tuple[str, ...]) -> str:
    return "cfgold__" + "__".join(path)


def _old_option(flag: str, like: click.Option, param: str) -> click.Option:
    """A hidden option ``flag`` taking what ``like`` takes, its value under ``param``."""
    if like.is_bool_flag or like.secondary_opts:
        return click.Option([f"{flag}/--no-{flag[2:]}", param], default=None, hidden=True)
    return click.Option(
        [flag, param], type=like.type, multiple=like.multiple, default=None, hidden=True, metavar=like.metavar
    )


def accept_old_flags(command: click.Command, renames: Mapping[str, str]) -> click.Command:
    """Accept each old flag of ``renames`` (``{"--actors": "--workers"}``) on ``command``,
    hidden from --help, as the new one with a :func:`deprecation_note`. For flags that are no
    config field (those are renamed with the model's ``RENAMED``). ``UsageError`` when both are
    given. Returns ``command``, changed in place."""
    moves: list[tuple[str, str, str, str]] = []
    for old, new in renames.items():
        target = next((p for p in command.params if isinstance(p, click.Option) and new in p.opts), None)
        if target is None or target.name is None:
            raise ValueError(f"{command.name}: no option {new} to rename {old} to")
        param = "old__" + old.removeprefix("--").replace("-", "_")
        command.params.append(_old_option(old, target, param))
        moves.append((old, new, param, target.name))
    inner = command.callback
    assert inner is not None

    def callback(*args: Any, **params: Any) -> Any:
        for old, new, param, name in moves:
            value = params.pop(param)
            if value is None or value == ():
                continue
            if params.get(name) not in (None, ()):
                raise click.UsageError(f"{old} is the old name of {new}: give only {new}")
            deprecation_note(old, new)
            params[name] = value
        return inner(*args, **params)

    command.callback = callback
    return command


def _options_in_group(model: type[BaseModel], path: tuple[str, ...], desc: str) -> str:
    """``desc`` with the options it names of its own group given their flags in ``model``: a
    description is written for the stage that owns the group (dedup's ``--judge-model``), and
    where the group is nested (curate's ``dedup``) that option is ``--dedup-judge-model``."""
    group = path[:-1]
    if not group or "--" not in desc:
        return desc

    def flag(leaf: tuple[str, ...]) -> str:
        return option_name(leaf[:-1] if len(leaf) > 1 and leaf[-1] == "enabled" else leaf)

    names = {
        flag(leaf[len(group) :]): flag(leaf)
        for leaf, _, _ in leaf_fields(model)
        if leaf[: len(group)] == group
    }
    return re.sub(
        r"--(no-)?([a-z0-9][a-z0-9-]*[a-z0-9])(?![a-z0-9-])",
        lambda m: f"--{m[1] or ''}{names[m[2]]}" if m[2] in names else m[0],
        desc,
    )


def config_options(model: type[BaseModel], *, skip: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Decorate a click command with one option per leaf field of ``model``.

    The option's Python parameter is ``cfg__a__b`` for field ``a.b``; ``build_config``
    collects them. Dict-valued fields are settable only through YAML.
    """
    defaults = model()

    def decorate(fn: F) -> F:
        for path, tp, info in reversed(leaf_fields(model)):
            dotted = ".".join(path)
            if dotted in skip or _is_dict(tp):
                continue
            # `x.enabled` reads better as --x/--no-x than --x-enabled/--no-x-enabled.
            flag = option_name(path[:-1] if len(path) > 1 and path[-1] == "enabled" else path)
            param = "cfg__" + "__".join(path)
            default = _default_at(defaults, path)
            desc = _options_in_group(model, path, (info.description or "").rstrip("."))
            help_text = f"{desc}. [default: {_show(default)}]" if desc else f"[default: {_show(default)}]"
            base = _unwrap_optional(tp)
            if base is bool:
                fn = click.option(f"--{flag}/--no-{flag}", param, default=None, help=help_text)(fn)
            elif _is_list(tp):
                fn = click.option(f"--{flag}", param, default=None, metavar="A,B,...", help=help_text)(fn)
            else:
                fn = click.option(f"--{flag}", param, type=_click_type(tp), default=None, help=help_text)(fn)
        types_by_path = {path: tp for path, tp, _ in leaf_fields(model)}
        for old, new in renamed_fields(model).items():
            tp = _unwrap_optional(types_by_path[new])
            flag = f"--{_flag(old)}"
            if tp is bool:
                fn = click.option(f"{flag}/--no-{flag[2:]}", _old_param(old), default=None, hidden=True)(fn)
            else:
                kind = click.STRING if _is_list(tp) else _click_type(tp)
                fn = click.option(flag, _old_param(old), type=kind, default=None, hidden=True)(fn)
        return fn

    return decorate


def _set_path(d: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    for part in path[:-1]:
        d = d.setdefault(part, {})
    d[path[-1]] = value


def deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def config_from_preset(model: type[M], presets: dict[str, dict[str, Any]], name: str, **overrides: Any) -> M:
    """The ``model`` config of the named recipe ``name`` (a key of the stage's ``presets``) with
    ``overrides`` merged in (nested dicts merge key by key). ``ConfigError`` for an unknown name."""
    if name not in presets:
        raise ConfigError(f"unknown preset '{name}'. Choose one of: {', '.join(presets)}.")
    return model.model_validate(deep_merge(presets[name], overrides))


def known_choices(value: list[str], known: tuple[str, ...], what: str) -> list[str]:
    """``value`` stripped, without blanks and repeats, in order, for a list option whose items
    must be among ``known`` (a pydantic validator's body). ``ValueError`` naming the unknown
    ``what`` items (e.g. "task type") and the choices, or for an empty list."""
    out = list(dict.fromkeys(v.strip() for v in value if v.strip()))
    bad = [v for v in out if v not in known]
    if bad:
        raise ValueError(f"unknown {what}(s) {', '.join(bad)}; choose from {', '.join(known)}")
    if not out:
        raise ValueError(f"give at least one {what}")
    return out


def load_yaml(path: str | Path) -> dict[str, Any]:
    """The mapping a YAML config file holds (a leading byte-order mark is dropped)."""
    return load_yaml_with_lines(path)[0]


def load_yaml_with_lines(path: str | Path) -> tuple[dict[str, Any], dict[tuple[str, ...], int]]:
    """The mapping a YAML config file holds, and the 1-based line of every key path in it
    (``("langid", "threshold") -> 7``; list items by index as a string), so an error can
    point at the line to fix."""
    import yaml

    p = Path(path)
    try:
        text = read_text(p)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"{p}: config file not found.") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{p}: not UTF-8 text ({exc.reason} at byte {exc.start}).") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p}: not valid YAML ({exc}).") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{p}: the config file must hold a mapping of option names to values.")
    lines: dict[tuple[str, ...], int] = {}
    _key_lines(node, (), lines)
    return data, lines


def _key_lines(node: Any, path: tuple[str, ...], out: dict[tuple[str, ...], int]) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, str(key.value))
            out[sub] = key.start_mark.line + 1
            _key_lines(value, sub, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            sub = (*path, str(i))
            out[sub] = item.start_mark.line + 1
            _key_lines(item, sub, out)


def _where(
    loc: tuple[str, ...],
    flags: set[tuple[str, ...]],
    config_file: str | Path | None,
    yaml_lines: dict[tuple[str, ...], int],
) -> str:
    """Where the value at ``loc`` came from, as the user would look for it: the flag typed, or
    the YAML file, line and key path (flags win over the file, as in ``build_config``)."""
    for n in range(len(loc), 0, -1):
        if loc[:n] in flags:
            return f"--{_flag(loc[:n])}"
    for n in range(len(loc), 0, -1):
        if loc[:n] in yaml_lines:
            return f"{config_file}, line {yaml_lines[loc[:n]]}: {'.'.join(loc)}"
    if not loc:  # a check across fields: the message names them
        return ""
    # A preset's value or a default: name the flag that would change it.
    return f"--{_flag(loc)}"


def _flag(path: tuple[str, ...]) -> str:
    """The flag of a field path, as ``config_options`` names it (``x.enabled`` is ``--x``)."""
    return option_name(path[:-1] if len(path) > 1 and path[-1] == "enabled" else path)


#: What pydantic puts before the sentence of a ValueError / AssertionError raised in a validator.
_VALIDATOR_PREFIXES = ("Value error, ", "Assertion failed, ")


def error_text(error: Mapping[str, Any]) -> str:
    """One pydantic error's message as a user should read it: a validator's own sentence
    without pydantic's ``Value error, `` prefix, pydantic's own messages as they are.
    ``error`` is an item of ``ValidationError.errors()``."""
    msg = str(error["msg"])
    for prefix in _VALIDATOR_PREFIXES:
        if msg.startswith(prefix):
            return msg[len(prefix) :]
    return msg


def build_config(
    model: type[M],
    kwargs: dict[str, Any],
    *,
    preset: dict[str, Any] | None = None,
    config_file: str | Path | None = None,
) -> M:
    """Resolve a stage config from preset, YAML file and command-line flags (see module doc).

    Raises ``ConfigError`` naming, for each bad value, the flag it came from, or the YAML
    file, line and key path."""
    # A deep copy: flags are set into nested dicts below, and the preset is a module constant
    # (shared with other stages' presets) that must not remember them.
    data: dict[str, Any] = copy.deepcopy(preset or {})
    yaml_lines: dict[tuple[str, ...], int] = {}
    renames = renamed_fields(model)
    if config_file:
        file_data, yaml_lines = load_yaml_with_lines(config_file)
        _rename_keys(file_data, yaml_lines, renames, config_file)
        data = deep_merge(data, file_data)
    types_by_path = {path: tp for path, tp, _ in leaf_fields(model)}
    flags: set[tuple[str, ...]] = set()
    for key, value in _new_flags(kwargs, renames).items():
        if not key.startswith("cfg__") or value is None:
            continue
        path = tuple(key[5:].split("__"))
        if _is_list(types_by_path.get(path)) and isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        _set_path(data, path, value)
        flags.add(path)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors():
            where = _where(tuple(str(p) for p in e["loc"]), flags, config_file, yaml_lines)
            problems.append(f"{where}: {error_text(e)}" if where else error_text(e))
        raise ConfigError(f"invalid {model.__name__}: {'; '.join(problems)}.") from exc


def _new_flags(kwargs: dict[str, Any], renames: dict[tuple[str, ...], tuple[str, ...]]) -> dict[str, Any]:
    """``kwargs`` with each old flag's value (``cfgold__a__b``) under its new field's parameter,
    with a note; ``ConfigError`` when the old and the new flag are both given."""
    out = {k: v for k, v in kwargs.items() if not k.startswith("cfgold__")}
    for old, new in renames.items():
        value = kwargs.get(_old_param(old))
        if value is None:
            continue
        param = "cfg__" + "__".join(new)
        if out.get(param) is not None:
            raise ConfigError(f"--{_flag(old)} is the old name of --{_flag(new)}: give only --{_flag(new)}.")
        deprecation_note(f"--{_flag(old)}", f"--{_flag(new)}")
        out[param] = value
    return out


def _rename_keys(
    data: dict[str, Any],
    lines: dict[tuple[str, ...], int],
    renames: dict[tuple[str, ...], tuple[str, ...]],
    config_file: str | Path,
) -> None:
    """Move each old key of a YAML file's ``data`` to its new path (and its line in ``lines``,
    so an error names the line), with a note; ``ConfigError`` when the file has both."""
    for old, new in renames.items():
        parent: Any = data
        for part in old[:-1]:
            parent = parent.get(part) if isinstance(parent, dict) else None
        if not isinstance(parent, dict) or old[-1] not in parent:
            continue
        where = f"{config_file}, line {lines.get(old, '?')}"
        if new in lines:
            raise ConfigError(
                f"{where}: {'.'.join(old)} is the old name of {'.'.join(new)}, which the file also sets "
                f"(line {lines[new]}): keep only {'.'.join(new)}."
            )
        deprecation_note(".".join(old), ".".join(new), where)
        _set_path(data, new, parent.pop(old[-1]))
        lines[new] = lines.get(old, 0)
        _drop_empty(data, old[:-1])


def _drop_empty(data: dict[str, Any], path: tuple[str, ...]) -> None:
    """Remove the mapping at ``path`` and its parents where moving keys out left them empty."""
    for n in range(len(path), 0, -1):
        parent: Any = data
        for part in path[: n - 1]:
            parent = parent[part]
        if parent.get(path[n - 1]) != {}:
            return
        del parent[path[n - 1]]


def _leaves(d: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and v:
            out.update(_leaves(v, key + "."))
        else:
            out[key] = v
    return out


def describe_preset(
    config: BaseModel, presets: dict[str, dict[str, Any]], chosen: str | None = None
) -> dict[str, Any]:
    """What the manifest says about presets: the one the config was built from and the
    settings that differ from it, so the record matches the config actually used.

    ``presets``: name -> overrides on the config model's defaults (a stage's ``PRESETS``).
    ``chosen``: the preset the caller named (``--preset``), or None: then the preset the
    config equals, else the closest one (fewest differing settings, first in order on a tie).
    Returns ``{"preset": name}`` plus ``"changed_from_preset": {dotted key: value}`` when
    the config is not exactly that preset."""
    used = _leaves(config.model_dump(mode="json"))
    defaults = type(config)().model_dump(mode="json")

    def diff(name: str) -> dict[str, Any]:
        base = _leaves(deep_merge(defaults, presets[name]))
        return {k: v for k, v in used.items() if base.get(k) != v}

    name = chosen if chosen is not None else min(presets, key=lambda n: len(diff(n)))
    changed = diff(name)
    return {"preset": name, **({"changed_from_preset": changed} if changed else {})}
