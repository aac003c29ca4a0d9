"""Conversation shape: what the readers make of a logged chat before any stage sees it.

Real chat logs do not all start with the user and alternate. ShareGPT exports open with the
bot's greeting ("Hi! How can I help?"), a failed call leaves an empty turn, and some logs hold
two turns of one role in a row. A stage fed such a row as it is would send a model a
conversation starting with an assistant turn, which many chat templates refuse. So the
converters of the source formats (io/formats.py: LMSYS, WildChat, ShareGPT, messages) apply
these rules, whichever stage reads the file (DESIGN: "Source formats are converted in readers
and writers, never inside a stage"), and record what they did in ``meta``:

1. a turn with no visible text is dropped (``meta.empty_turns_dropped``: how many), unless
   no user turn has text: such a row is left whole for the stage to reject with its reason
   (generate: "empty prompt");
2. a turn other than ``system`` before the first user turn is dropped
   (``meta.leading_turns_dropped``: how many; ``meta.leading_turns``: the turns themselves),
   as FastChat's training code skips a first turn that is not the human's;
3. two turns of one role in a row are not guessed at: the row is quarantined naming the field
   of the second (:func:`repeated_role`), as FastChat asserts alternation and export skips
   such rows. Joining them changes what the conversation says turn by turn, so it stays an
   explicit choice (``tagengo export --repair merge-consecutive``).

Rules 1 and 2 are idempotent, so a stage may apply them again (curate's first-prompt step
does). Rows of a tagengo dataset folder are records already and pass as they are.

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


def _has_text(text: str) -> bool:
    """Not :func:`is_blank`; a turn opening with a visible ASCII character (most) is decided
    without a look at the rest (the reader runs this on every turn of every row)."""
    return "!" <= text[:1] <= "~" or not is_blank(text)


def normalise_turns(messages: list[dict[str, str]], meta: dict[str, Any]) -> list[dict[str, str]]:
    """``messages`` after rules 1 and 2 above; what was dropped is added to ``meta``.

    Returns a new list of the same turn objects (the input list is not changed); counts
    already in ``meta`` from an earlier pass are added to, so applying it twice records each
    change once."""
    visible = [m for m in messages if _has_text(m["content"])]
    if len(visible) < len(messages):
        if any(m["role"] == "user" for m in visible):
            meta["empty_turns_dropped"] = meta.get("empty_turns_dropped", 0) + len(messages) - len(visible)
        else:
            # Every user turn is empty: the row stays whole, so that the stage rejects it with
            # its own countable reason (generate: "empty prompt"; curate: the length step).
            visible = list(messages)
    if visible and visible[0]["role"] == "user":  # most chats: nothing before the prompt
        return visible

    first_user = next((i for i, m in enumerate(visible) if m["role"] == "user"), len(visible))
    leading = [m for m in visible[:first_user] if m["role"] != "system"]
    if not leading:
        return visible
    meta["leading_turns_dropped"] = meta.get("leading_turns_dropped", 0) + len(leading)
    meta["leading_turns"] = [*meta.get("leading_turns", []), *(dict(m) for m in leading)]
    return [m for m in visible[:first_user] if m["role"] == "system"] + visible[first_user:]


def repeated_role(messages: list[dict[str, str]]) -> int | None:
    """The index of the first turn whose role is the one of the turn before it, else None."""
    return next((i for i in range(1, len(messages)) if messages[i]["role"] == messages[i - 1]["role"]), None)
