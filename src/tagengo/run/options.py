"""Pydantic stage configs <-> click options, YAML files and named presets.

Every leaf field of a stage's config becomes a flag, so every default shows in
``tagengo <stage> --help``. Nested models flatten with dashes: ``langid.threshold`` is
``--langid-threshold``; booleans are ``--x/--no-x`` (and ``x.enabled`` is ``--x/--no-x``); lists are comma-separated.

Precedence, lowest first: the model's defaults < the preset < ``--config FILE.yaml`` <
flags given on the command line. Flags default to None in click, so only the ones the
user actually typed override anything.
"""

from __future__ import annotations

import copy
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
            desc = (info.description or "").rstrip(".")
            help_text = f"{desc}. [default: {_show(default)}]" if desc else f"[default: {_show(default)}]"
            base = _unwrap_optional(tp)
            if base is bool:
                fn = click.option(f"--{flag}/--no-{flag}", param, default=None, help=help_text)(fn)
            elif _is_list(tp):
                fn = click.option(f"--{flag}", param, default=None, metavar="A,B,...", help=help_text)(fn)
            else:
                fn = click.option(f"--{flag}", param, type=_click_type(tp), default=None, help=help_text)(fn)
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
    if config_file:
        file_data, yaml_lines = load_yaml_with_lines(config_file)
        data = deep_merge(data, file_data)
    types_by_path = {path: tp for path, tp, _ in leaf_fields(model)}
    flags: set[tuple[str, ...]] = set()
    for key, value in kwargs.items():
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
