"""Conversation shape: what every reader makes of a logged chat before any stage sees it.

Real chat logs do not all start with the user and alternate. ShareGPT exports open with the
bot's greeting ("Hi! How can I help?"), people send two messages before the answer, and a
failed call leaves an empty turn. A stage that received such a row as it is would send a model
a conversation starting with an assistant turn, or two user turns in a row, which many chat
templates refuse. So the reader (:func:`tagengo.io.source.parse_chunk`) applies these rules to
every record, whatever the format and whichever stage reads it (DESIGN: "Source formats are
converted in readers and writers, never inside a stage"), and records what it did in ``meta``:

1. a turn with no visible text is dropped (``meta.empty_turns_dropped``: how many), unless
   no user turn has text: such a row is left whole for the stage to reject with its reason;
2. a turn other than ``system`` before the first user turn is dropped
   (``meta.leading_turns_dropped``: how many; ``meta.leading_turns``: the turns themselves);
3. consecutive turns of one role become one, their texts joined by a blank line
   (``meta.turns_merged``: how many turns were joined into the one before them).

The rules are idempotent, so a stage may apply them again (curate's first-prompt step does).

Role names: :data:`ROLES` maps the names of the OpenAI messages format, FastChat/ShareGPT's
(``human``, ``gpt`` and the exporters' ``chatgpt``, ``bard``, ``bing``) and Gemini's ``model``
to ``system``/``user``/``assistant``, in every format alike. Any other name (``bot``,
``prompter``, ``tool``) is quarantined with the file, line and field, and the names it could be.
"""

from __future__ import annotations

from typing import Any

from tagengo.invisible import is_blank

#: Role names read in chat logs -> the record's roles. One table for every format.
ROLES = {
    "system": "system",
    "developer": "system",  # OpenAI's name for the system turn of its reasoning models
    "user": "user",
    "human": "user",  # FastChat / ShareGPT
    "assistant": "assistant",
    "gpt": "assistant",  # FastChat / ShareGPT
    "chatgpt": "assistant",  # ShareGPT exports
    "bard": "assistant",
    "bing": "assistant",
    "model": "assistant",  # Gemini
}

#: Roles of tool use: named in their own reason, since the fix differs (drop tool turns first).
TOOL_ROLES = ("tool", "function", "ipython")


def role_problem(name: str) -> str:
    """Why a role name is not read, for the quarantine reason (the field is named beside it)."""
    if name.lower() in TOOL_ROLES:
        return f"is a '{name[:40]}' turn; tool use is not supported (drop tool turns from the input)"
    return f"has unknown role '{name[:40]}' (known: {', '.join(ROLES)})"


def normalise_turns(messages: list[dict[str, str]], meta: dict[str, Any]) -> list[dict[str, str]]:
    """``messages`` in the shape above; what was dropped or joined is added to ``meta``.

    Returns a new list (the input list is not changed); counts already in ``meta`` from an
    earlier pass are added to, so applying it twice records each change once."""
    visible = [m for m in messages if not is_blank(m["content"])]
    if not any(m["role"] == "user" for m in visible):
        # Every user turn is empty: the row stays whole, so that the stage rejects it with its
        # own countable reason (generate: "empty prompt"; curate: the length step).
        visible = list(messages)
    elif len(visible) < len(messages):
        meta["empty_turns_dropped"] = meta.get("empty_turns_dropped", 0) + len(messages) - len(visible)

    first_user = next((i for i, m in enumerate(visible) if m["role"] == "user"), len(visible))
    leading = [m for m in visible[:first_user] if m["role"] != "system"]
    if leading:
        meta["leading_turns_dropped"] = meta.get("leading_turns_dropped", 0) + len(leading)
        meta["leading_turns"] = [*meta.get("leading_turns", []), *(dict(m) for m in leading)]
        visible = [m for m in visible[:first_user] if m["role"] == "system"] + visible[first_user:]

    out: list[dict[str, str]] = []
    merged = 0
    for m in visible:
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {"role": m["role"], "content": f"{out[-1]['content']}\n\n{m['content']}"}
            merged += 1
        else:
            out.append(dict(m))
    if merged:
        meta["turns_merged"] = meta.get("turns_merged", 0) + merged
    return out
