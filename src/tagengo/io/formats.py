"""Source formats -> Record. One converter per format; each raises BadRow naming the field.

Converters are pure functions of one decoded JSON object (or Parquet row), so they run in
worker processes. They validate types strictly: a row with a wrong type is quarantined,
never half-read.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from tagengo.errors import BadRow
from tagengo.io.shape import ROLES, normalise_turns, repeated_role, role_problem
from tagengo.io.text import BOM_CHAR, strip_leading_bom
from tagengo.records import Record

#: Longest message we accept, in characters. Real prompts are far shorter; anything bigger is
#: almost certainly a dump (base64, a log file) and would only blow up memory downstream.
MAX_MESSAGE_CHARS = 200_000
#: Most messages one conversation may have.
MAX_MESSAGES = 1_000


def _kind(value: Any) -> str:
    """How a JSON value's type reads in an error message."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return {int: "an integer", float: "a number", str: "a string", list: "a list", dict: "an object"}.get(
        type(value), type(value).__name__
    )


def _require(obj: dict, key: str, kind: type | tuple[type, ...], what: str, *, optional: bool = False) -> Any:
    value = obj.get(key)
    if type(value) is kind:  # the usual case, decided at once (True is no int: type(True) is bool)
        return value
    if value is None:
        if optional:
            return None
        raise BadRow(f"missing field '{key}' ({what})", key)
    # bool is an int subclass: never accept True where a number or string is wanted.
    bool_ok = bool in (kind if isinstance(kind, tuple) else (kind,))
    if (isinstance(value, bool) and not bool_ok) or not isinstance(value, kind):
        raise BadRow(f"field '{key}' should be {what}, got {_kind(value)}", key)
    return value


def _check_text(text: Any, field: str) -> str:
    if not isinstance(text, str):
        raise BadRow(f"field '{field}' should be a string, got {_kind(text)}", field)
    if len(text) > MAX_MESSAGE_CHARS:
        raise BadRow(f"field '{field}' is {len(text):,} characters (limit {MAX_MESSAGE_CHARS:,})", field)
    if "\x00" in text:
        raise BadRow(f"field '{field}' contains a NUL character", field)
    return strip_leading_bom(text)  # a cell of a file saved with a BOM (io/text.py)


def _check_messages(messages: list[dict[str, str]], field: str) -> list[dict[str, str]]:
    if not messages:
        raise BadRow(f"field '{field}' is empty", field)
    if len(messages) > MAX_MESSAGES:
        raise BadRow(f"field '{field}' has {len(messages):,} messages (limit {MAX_MESSAGES:,})", field)
    if not any(m["role"] == "user" for m in messages):
        raise BadRow(f"field '{field}' has no user turn", field)
    return messages


def _content_text(message: dict, content_key: str, where: str) -> Any:
    """A message's text: a string, or OpenAI's list of content parts when every part is text.

    Parts of another type (``image_url``, ``input_audio``...) would be lost from a text-only
    dataset, so such a row is quarantined with the part named; so is a turn that only calls
    tools (``content: null`` with ``tool_calls``).
    """
    content = message.get(content_key)
    if type(content) is str:  # nearly every turn: nothing to check here
        return content
    field_name = f"{where}.{content_key}"
    if content is None and message.get("tool_calls"):
        raise BadRow(f"{where} is a tool call with no text (tool use is not supported)", field_name)
    if not isinstance(content, list):
        return content
    texts = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise BadRow(
                f"{field_name} should be a string or a list of content parts "
                f'({{"type": "text", "text": ...}}), got a list holding {_kind(part)}',
                field_name,
            )
        kind = part.get("type")
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
            continue
        what = f"a '{kind}' part" if isinstance(kind, str) else "a part without type 'text'"
        raise BadRow(f"{field_name}[{j}] is {what}; only text content is supported", f"{field_name}[{j}]")
    return "\n".join(texts)


def _role_content_list(obj: dict, key: str, role_key: str, content_key: str) -> list:
    """The turns of ``obj[key]`` as ``{role, content}``, roles read through one table
    (:data:`tagengo.io.shape.ROLES`) whatever the format: a ShareGPT file may say ``user`` and
    an OpenAI-messages dump ``human``."""
    raw = _require(obj, key, list, "a list of messages")
    out = []
    for i, m in enumerate(raw):
        # The field's name (``conversation[3].role``) is spelled out only for an error: this
        # loop runs for every turn of every row read.
        if not isinstance(m, dict):
            where = f"{key}[{i}]"
            raise BadRow(f"{where} should be an object, got {_kind(m)}", where)
        role = m.get(role_key)
        if not isinstance(role, str):
            where = f"{key}[{i}].{role_key}"
            raise BadRow(f"{where} should be a string, got {_kind(role)}", where)
        norm = ROLES.get(role) or ROLES.get(role.strip().lower())
        if norm is None:
            where = f"{key}[{i}].{role_key}"
            raise BadRow(f"{where} {role_problem(role)}", where)
        content = m.get(content_key)
        if (
            type(content) is not str
            or len(content) > MAX_MESSAGE_CHARS
            or "\x00" in content
            or content[:1] == BOM_CHAR
        ):
            where = f"{key}[{i}]"
            content = _check_text(_content_text(m, content_key, where), f"{where}.{content_key}")
        out.append({"role": norm, "content": content})
    return _check_messages(out, key)


def _shaped(
    turns: list[dict[str, str]], meta: dict[str, Any], key: str, role_key: str
) -> list[dict[str, str]]:
    """``turns`` in the shape every stage expects (io/shape.py), what was dropped counted in
    ``meta``; two turns of one role in a row raise ``BadRow`` naming the second one's field."""
    out = normalise_turns(turns, meta)
    k = repeated_role(out)
    if k is None:
        return out
    index = {id(m): i for i, m in enumerate(turns)}  # the turns kept are the same objects
    a, b = index[id(out[k - 1])], index[id(out[k])]
    between = "" if b == a + 1 else ", once the empty turns between them are dropped"
    raise BadRow(
        f"two {out[k]['role']} turns in a row ({key}[{a}] and {key}[{b}]{between}); user and assistant must alternate",
        f"{key}[{b}].{role_key}",
    )


def _stable_id(obj: Any) -> str:
    """An id for rows whose source has none: a hash of the content, stable across runs."""
    import orjson

    return hashlib.sha1(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)).hexdigest()[:24]


def _id(obj: dict, key: str) -> str:
    value = obj.get(key)
    if value is None:
        return _stable_id(obj)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadRow(f"field '{key}' should be a string, got {_kind(value)}", key)
    return str(value)


def _language_label(obj: dict, key: str = "language", *, required: bool = False) -> str | None:
    """The row's language label. In formats that always label rows (LMSYS, WildChat) a null
    or missing label means "no label" and becomes "" (the unknown-language step drops it); in
    formats where labels are optional, it means none was given (language ID assigns one)."""
    value = obj.get(key)
    if value is None:
        return "" if required else None
    if not isinstance(value, str):
        raise BadRow(f"field '{key}' should be a string, got {_kind(value)}", key)
    return value


def _moderation(obj: dict, messages: list[dict[str, str]], field: str = "openai_moderation") -> dict | None:
    """The moderation entry of the first user turn, reduced to what the filter needs.
    WildChat's ``detoxify_moderation`` has the same per-turn shape (flagged, categories,
    category_scores), so one reader serves both fields."""
    mods = obj.get(field)
    if mods is None:
        return None
    if not isinstance(mods, list):
        raise BadRow(f"field '{field}' should be a list, got {_kind(mods)}", field)
    first_user = (
        0 if messages[0]["role"] == "user" else next(i for i, m in enumerate(messages) if m["role"] == "user")
    )
    if first_user >= len(mods):
        return None
    entry = mods[first_user]
    if not isinstance(entry, dict):
        where = f"{field}[{first_user}]"
        raise BadRow(f"{where} should be an object, got {_kind(entry)}", where)
    flagged = entry.get("flagged", False)
    if not isinstance(flagged, bool):
        where = f"{field}[{first_user}].flagged"
        raise BadRow(f"{where} should be a boolean, got {_kind(flagged)}", where)
    cats = entry.get("categories") or {}
    if not isinstance(cats, dict):
        where = f"{field}[{first_user}].categories"
        raise BadRow(f"{where} should be an object", where)
    scores = entry.get("category_scores") or {}
    if not isinstance(scores, dict):
        where = f"{field}[{first_user}].category_scores"
        raise BadRow(f"{where} should be an object", where)
    # Most entries set no category: no list to sort then (the reader runs this on every row).
    true_cats = sorted(k for k, v in cats.items() if v is True) if True in cats.values() else []
    numeric = [
        v
        for v in scores.values()
        if type(v) is float or (isinstance(v, int | float) and not isinstance(v, bool))
    ]
    return {"flagged": flagged, "categories": true_cats, "max_score": max(numeric) if numeric else None}


_LOG_FIELDS = (("model", str, "a string"), ("turn", int, "an integer"), ("redacted", bool, "a boolean"))


def _chat_log(obj: dict, source: str, id_key: str, fields: tuple[tuple[str, type, str], ...]) -> Record:
    """LMSYS-Chat-1M and WildChat share a shape: a labelled conversation with per-message
    moderation; they differ in the id's name and a few extra fields."""
    messages = _role_content_list(obj, "conversation", "role", "content")
    meta: dict[str, Any] = {"language_label": _language_label(obj, required=True)}
    for key, kind, what in fields:
        value = obj.get(key)
        if type(value) is kind:  # the usual case: no call, no try
            meta[key] = value
            continue
        try:
            value = _require(obj, key, kind, what, optional=True)
        except BadRow:
            value = _digits(obj.get(key)) if kind is int else None
            if value is None:
                raise
        if value is not None:
            meta[key] = value
    mod = _moderation(obj, messages)  # its entries follow the logged turns: before shaping
    if mod is not None:
        meta["moderation"] = mod
    return Record(_id(obj, id_key), source, None, _shaped(messages, meta, "conversation", "role"), meta)


def _digits(value: object) -> int | None:
    """The number a string of ASCII digits such as ``"1"`` spells, else None. A log re-saved
    through a CSV or a dataframe tool carries ``"turn": "1"``; the number is all that is read,
    so such a row is kept rather than quarantined."""
    if isinstance(value, str):
        text = value.strip()
        if text.isascii() and text.isdigit():
            return int(text)
    return None


def from_lmsys(obj: dict, source: str) -> Record:
    return _chat_log(obj, source, "conversation_id", _LOG_FIELDS)


def from_wildchat(obj: dict, source: str) -> Record:
    """WildChat-1M: LMSYS's shape plus its own moderation - a conversation-level ``toxic``
    flag (kept in meta as read) and per-turn ``detoxify_moderation`` entries; the curate
    moderation step drops on either as it does on ``openai_moderation``."""
    rec = _chat_log(obj, source, "conversation_hash", (*_LOG_FIELDS, ("toxic", bool, "a boolean")))
    messages = _role_content_list(obj, "conversation", "role", "content")
    detox = _moderation(obj, messages, "detoxify_moderation")  # its entries follow the logged turns
    if detox is not None:
        rec.meta["detoxify_moderation"] = detox
    return rec


def from_sharegpt(obj: dict, source: str) -> Record:
    messages = _role_content_list(obj, "conversations", "from", "value")
    meta: dict[str, Any] = {"language_label": _language_label(obj)}
    return Record(_id(obj, "id"), source, None, _shaped(messages, meta, "conversations", "from"), meta)


def from_messages(obj: dict, source: str) -> Record:
    messages = _role_content_list(obj, "messages", "role", "content")
    meta = obj.get("meta") if isinstance(obj.get("meta"), dict) else {}
    meta = {**meta, "language_label": _language_label(obj)}
    return Record(_id(obj, "id"), source, None, _shaped(messages, meta, "messages", "role"), meta)


def from_prompts(obj: dict, source: str) -> Record:
    key = "prompt" if "prompt" in obj else "text"
    if key not in obj:
        raise BadRow("missing field 'prompt' (or 'text'): the prompt as a string", key)
    text = _check_text(obj.get(key), key)
    if not text.strip():
        raise BadRow(f"field '{key}' is empty", key)
    meta: dict[str, Any] = {"language_label": _language_label(obj)}
    return Record(_id(obj, "id"), source, None, [{"role": "user", "content": text}], meta)


def from_tagengo(obj: dict, source: str) -> Record:
    """A row of a tagengo dataset folder (already a record).

    Rows from our own Parquet parts are well-typed, so the fast path trusts them; a row that
    does not fit (hand-written JSONL) is checked field by field for an error naming the field.
    """
    try:
        rec = Record.from_row(obj)
        ok = (
            isinstance(rec.id, str)
            and isinstance(rec.source, str)
            and isinstance(rec.meta, dict)
            and (rec.language is None or isinstance(rec.language, str))
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        ok = False
    if not ok:
        _require(obj, "id", str, "a string")
        _require(obj, "source", str, "a string")
        _require(obj, "language", str, "a language code", optional=True)
        _role_content_list(obj, "messages", "role", "content")
        meta = obj.get("meta")
        if meta is not None and not isinstance(meta, (dict, str)):
            raise BadRow(f"field 'meta' should be an object or a JSON string, got {_kind(meta)}", "meta")
        if isinstance(meta, str):
            raise BadRow("field 'meta' is a string but not a JSON object", "meta")
        raise BadRow("row does not fit the tagengo record (id, source, language, messages, meta)")
    _check_messages(rec.messages, "messages")
    return rec


CONVERTERS: dict[str, Callable[[dict, str], Record]] = {
    "lmsys": from_lmsys,
    "wildchat": from_wildchat,
    "sharegpt": from_sharegpt,
    "messages": from_messages,
    "prompts": from_prompts,
    "tagengo": from_tagengo,
}

#: Default `source` value per format (the file name is used for the generic formats).
DATASET_NAMES = {"lmsys": "lmsys-chat-1m", "wildchat": "wildchat"}


def sniff_format(obj: dict) -> str | None:
    """Guess the format from one decoded row's keys."""
    if "conversation_id" in obj and "conversation" in obj:
        return "lmsys"
    if "conversation_hash" in obj and "conversation" in obj:
        return "wildchat"
    if "conversation" in obj:
        return "lmsys"
    if "conversations" in obj:
        return "sharegpt"
    if "messages" in obj and "meta" in obj and "source" in obj:
        return "tagengo"
    if "messages" in obj:
        return "messages"
    if "prompt" in obj or "text" in obj:
        return "prompts"
    return None
