"""The answer contract: nothing a model server sends becomes data without passing it.

::

    raw response -> normalise -> ChatResponse(content, reasoning, finish, tokens, raw)
                 -> answer_problem(response, request) -> None (accepted) or a Problem

**normalise** runs in the client for every backend, before the answer is cached, and again
on every answer replayed from the cache (it is idempotent, so answers cached before it
existed are read the way a fresh one is):

* content sent as a list of parts (Mistral, the Responses-style ``output_text``) is joined;
  parts that hold reasoning (``thinking``, ``reasoning``) go to ``reasoning``;
* reasoning is split from the answer: the ``reasoning_content`` / ``reasoning`` fields that
  vLLM, DeepSeek, Ollama and OpenRouter send (read by the backend), and a ``<think>`` block at
  the start of the content (R1 distills, Qwen3 and others served without a reasoning parser),
  also the form whose opening tag was in the prompt's template so only ``</think>`` arrives;
* a message sent JSON-encoded inside ``content`` (``{"role": "assistant", "content": "..."}``,
  a proxy that serialised the message twice) is unwrapped to its content;
* one end-of-turn token left alone at the very end (``...answer.</s>``, ``<|im_end|>``,
  ``<eos>``: a server that did not strip its stop token) is cut off; a marker with more text
  after it stays, and is a ``template leak``. Both are listed in ``raw["normalised"]`` (the
  row's meta ``normalised``);
* a bare role header alone on the first line (``assistant`` and a blank line: Llama 3's header
  with its special tokens stripped; Gemma's ``model``; ``Assistant:``) is cut off and noted: the
  model wrote its own turn's header, the answer after it is whole;
* mojibake (UTF-8 read as Latin-1 or Windows-1252, "mÃ¶glichen") is repaired with ftfy and noted;
  clean text is never changed;
* text is made valid Unicode: a lone surrogate (JSON may carry ``"\\ud83d"`` alone, and
  ``json.loads`` accepts it) cannot be written to the cache, to Parquet or to a terminal; it
  becomes U+FFFD, and ``replaced_chars`` counts what was replaced.

**answer_problem** is the shared floor of checks, in this order; each returns a
:class:`Problem` whose ``kind`` is one word of :data:`PROBLEM_KINDS` (what the funnel, the
manifest and the report count):

=========================  =================================================================
``call failed``            no answer: retries used up, or the server refused this request
``filtered``               a content filter withheld the prompt or the answer (Azure, Gemini)
``provider error``         HTTP 200 whose body is an error object, not an answer
``unfinished``             cut at the token limit: ``finish_reason`` says length, or the
                           completion used the whole ``max_tokens`` budget whatever it says,
                           or ``stop`` within 2 tokens of it with the text ending mid-sentence
``unknown finish reason``  a finish reason no server in use means (tagengo.llm.finish)
``prompt truncated``       the server counted far fewer prompt tokens than were sent: it cut
                           the prompt to its context size (Ollama's default ``num_ctx``)
``empty answer``           nothing but white space or invisible characters, once reasoning
                           is removed
``template leak``          a chat-template marker outside code: the server ran past its turn; or
                           a made-up turn or section in plain text (``### Human:``, a last
                           ``User:`` line, Alpaca's ``### Instruction:`` / ``### Response:``)
``control characters``     NUL or another C0 control character (not tab, newline, carriage
                           return): a broken stream or decoder, never text a reader can see
``repetition``             the answer ends in one phrase repeated over and over (a small model's
                           or a sampler's loop, usually until the token limit), also one that
                           counts ("1. Check it." ... "40. Check it.": numbers set aside)
``echo``                   the answer is the last user turn again, or it with a few characters
                           added (a server that returns the prompt, a base model without a
                           chat template)
``tool call``              ``finish_reason: tool_calls``; or the answer is only a tool call written as text (JSON with ``name``
                           and ``arguments``, ``<tool_call>``, ``[TOOL_CALLS]``), or structured
                           ``tool_calls`` with no text, though the request offered no tools
                           (and, for the text form, the prompt asked for no JSON)
``replacement characters`` U+FFFD from the server (bytes it could not decode: letters lost),
                           unless a user turn holds U+FFFD itself; or letters a conversion to
                           Latin-1/ASCII turned into ``?`` ("abh?ngt", a word of ``?`` only)
``other model``            with --require-served-model: the server says another model than the
                           one asked for served the answer (a gateway's fallback; a dated
                           version of the name asked, ``gpt-4o-2024-08-06``, is the same model)
``refusal``                the whole answer is one short refusal ("I'm sorry, but I can't help
                           with that."; 15 languages), nothing answered after it
=========================  =================================================================

Stages add their own checks after these (language, protected spans, score parsing), always on
``content``, which no longer holds the reasoning. The language check is one for every stage
(:func:`language_problem`, kind ``wrong language``): the answer fails when lid.176 is confident
it is in another language than the row's, as bench's answer-language gate decides.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from tagengo.invisible import is_blank
from tagengo.llm.finish import CONTENT_FILTER, LENGTH, STOP, TOOL_CALLS, UNKNOWN
from tagengo.llm.types import ChatRequest, ChatResponse

CALL_FAILED = "call failed"
FILTERED = "filtered"
PROVIDER_ERROR = "provider error"
UNFINISHED = "unfinished"
UNKNOWN_FINISH = "unknown finish reason"
PROMPT_TRUNCATED = "prompt truncated"
EMPTY = "empty answer"
TEMPLATE_LEAK = "template leak"
CONTROL_CHARS = "control characters"
REPETITION = "repetition"
ECHO = "echo"
TOOL_CALL = "tool call"
OTHER_MODEL = "other model"
WRONG_LANGUAGE = "wrong language"
REPLACEMENT = "replacement characters"
REFUSAL = "refusal"
PROBLEM_KINDS = (
    CALL_FAILED,
    FILTERED,
    PROVIDER_ERROR,
    UNFINISHED,
    UNKNOWN_FINISH,
    PROMPT_TRUNCATED,
    EMPTY,
    TEMPLATE_LEAK,
    CONTROL_CHARS,
    REPETITION,
    ECHO,
    TOOL_CALL,
    OTHER_MODEL,
    WRONG_LANGUAGE,
    REPLACEMENT,
    REFUSAL,
)

#: The kinds that are the model's own failure, not the server's nor the run's: an evaluation
#: (bench answer) judges such an answer as the model gave it, where leaving it out would lift a
#: weak model's average; a dataset stage rejects it like any other. A tool call written as text
#: when no tool was offered is the model's choice, so it is judged too (a template leak is the
#: server's: its stop tokens or its template).
MODEL_OWN = (EMPTY, REPETITION, ECHO, TOOL_CALL, REFUSAL)

#: A prompt counts as cut by the server when the server reports fewer than this share of the
#: prompt tokens counted here (o200k) *and* at least ``TRUNCATED_MIN_GAP`` fewer. Measured with
#: scripts/calibrate_truncation.py on Debian's translated message catalogs (118 languages; docs/
#: llm.md, "Prompts the server truncated"): the thriftiest tokenizer we can run offline (Gemma 3's,
#: 262k entries) counts at least 0.72 of o200k's tokens on the tuning half of the languages, but
#: 0.48 on Dzongkha in the held-out half. So the line sits below both, at 0.4: a prompt cut to
#: 2,048 tokens is caught from about 5,100 tokens sent; a milder cut passes unnoticed.
TRUNCATED_RATIO = 0.4
TRUNCATED_MIN_GAP = 256
#: The second rule, for the cuts the ratio misses (Ollama's default num_ctx 2,048 with 3,000 to
#: 5,000 tokens sent): a server that cut the prompt reports its context size, or a few tokens
#: less (Ollama logs "truncating input prompt limit=4096 prompt=7268 keep=4 new=4096" and then
#: reports the 4,096 it kept). A reported count within ``CONTEXT_SIZE_MARGIN`` below a common
#: context size (2^k, k = 10..17) while the count made here is at least
#: ``CONTEXT_SIZE_MIN_RATIO`` times it (and ``TRUNCATED_MIN_GAP`` more) is a cut: a tokenizer that
#: much thriftier than o200k landing on exactly such a number by chance is the rare case, where a
#: ratio low enough for every tokenizer (Gemma 3 counts 0.48 of o200k on Dzongkha) misses most cuts.
CONTEXT_SIZES = tuple(2**k for k in range(10, 18))
CONTEXT_SIZE_MARGIN = 16
CONTEXT_SIZE_MIN_RATIO = 1.2

# -- normalise ------------------------------------------------------------------------------------

_REASONING_PART_TYPES = {"thinking", "reasoning", "reasoning_content", "redacted_thinking"}
_TEXT_PART_TYPES = {"text", "output_text", None}
_OPEN = re.compile(r"\A\s*<(think|thinking|reasoning|seed:think)>", re.IGNORECASE)
_CLOSE_LINE = re.compile(
    r"(?:^|\n)[ \t]*</(think|thinking|reasoning|seed:think)>[ \t]*(?=\n|$)", re.IGNORECASE
)
#: Kimi's reasoning delimiters (not tags: the triangles are part of its vocabulary).
_KIMI_OPEN, _KIMI_CLOSE = "\u25c1think\u25b7", "\u25c1/think\u25b7"
#: gpt-oss's "harmony" channels, when the server does not parse them: reasoning in the analysis
#: channel, the answer in the final one, each message ending at <|end|> or <|return|>.
_HARMONY_FINAL = re.compile(r"<\|channel\|>\s*final\s*(?:<\|constrain\|>\S*\s*)?<\|message\|>")
_HARMONY_ANALYSIS = re.compile(
    r"<\|channel\|>\s*(?:analysis|commentary)[^<]*<\|message\|>(.*?)(?=<\|end\|>|<\|start\|>|<\|channel\|>|\Z)",
    re.S,
)
_HARMONY_END = re.compile(r"(?:<\|end\|>|<\|return\|>|<\|call\|>)\s*\Z")
#: Chat-template markers that never belong in an answer: a server that does not stop at its own
#: end-of-turn token (or a template it does not know) sends them, often with a made-up next turn
#: after them. Special tokens of the ChatML, Llama 3, gpt-oss, Gemma, Phi, Mistral and Llama 2
#: templates; matched outside code spans, so an answer that explains a template in code is kept.
_TEMPLATE_MARKERS = re.compile(
    r"<\|(?:im_start|im_end|eot_id|start_header_id|end_header_id|begin_of_text|end_of_text|endoftext|"
    r"eom_id|start|end|channel|message|return|user|assistant|system|end_of_turn|file_separator|"
    r"start_of_turn_token|end_of_turn_token|user_token|chatbot_token|system_token)\|>"
    # DeepSeek's markers use fullwidth bars and U+2581 for spaces: <｜end▁of▁sentence｜>, <｜User｜>.
    r"|<\uff5c[^\uff5c<>\n]{1,40}\uff5c>"
    r"|<(?:start_of_turn|end_of_turn|eos)>|\[/?INST\]|\[/?ASSISTANT\]|</s>\s*(?:<s>|\[INST\]|\Z)"
    r"|\n\s*</?(?:think|thinking|reasoning|seed:think)>|\u25c1/?think\u25b7",
    re.IGNORECASE,
)
#: The reasoning tag at the very start of the text (with ``_TEMPLATE_MARKERS``' ``\n`` form, the
#: tag at the start of a line). Apart because an ``\A`` alternative keeps the regex engine from
#: skipping to the few characters every other marker begins with: 3-8x the search time on long
#: answers (benchmarks/answer_bench.py).
_REASONING_TAG_AT_START = re.compile(r"\A\s*</?(?:think|thinking|reasoning|seed:think)>", re.IGNORECASE)
_CODE = re.compile(r"```.*?(?:```|\Z)|~~~.*?(?:~~~|\Z)|`[^`\n]+`", re.S)


def _outside_code(text: str) -> str:
    """``text`` with its code blocks and inline code blanked (a text without a backtick or ~~~
    holds none: no regex run)."""
    return _CODE.sub(" ", text) if "`" in text or "~~~" in text else text


#: End-of-turn (stop) tokens of the templates above. One standing alone at the very end of an
#: answer is a stop token the server sent instead of stopping on it: the answer before it is
#: whole, so the token is cut off (normalise). With text after it, it is a template leak.
_END_TOKEN = (
    r"</s>|<\|(?:im_end|eot_id|eom_id|end|endoftext|end_of_text|return|end_of_turn_token)\|>"
    r"|<(?:eos|end_of_turn)>|<\uff5cend\u2581of\u2581sentence\uff5c>"
)
_TRAILING_END = re.compile(rf"(?:{_END_TOKEN})\s*\Z", re.IGNORECASE)
#: A next turn the model made up in plain text (no special tokens: a template with none, or one
#: whose tokens the server stripped): a ``Human:`` line (Anthropic's and many fine-tunes' label),
#: or a user line followed by an assistant line (``User:``/``Assistant:``, Vicuna's
#: ``USER:``/``ASSISTANT:``, ``### Human:``/``### Assistant:``, and Gemma's bare ``user`` /
#: ``model`` lines once ``<start_of_turn>`` is stripped). Never in an answer to a prompt that
#: asks for a dialogue (:data:`_ASKS_DIALOGUE`).
_HUMAN_LINE = re.compile(r"\n[ \t]*(?:#{2,4}[ \t]*)?Human[ \t]*:", re.IGNORECASE)
_USER_THEN_ASSISTANT = re.compile(
    r"\n[ \t]*(?:#{2,4}[ \t]*)?(?:user|human)[ \t]*:[^\n]*\n(?:.*\n)??[ \t]*(?:#{2,4}[ \t]*)?"
    r"(?:assistant|ai|bot|gpt)[ \t]*:"
    r"|\n[ \t]*user[ \t]*\n(?:.*\n)*?[ \t]*model[ \t]*\n",
    re.IGNORECASE,
)
#: The section headers of the plain-text instruction templates, at a line start with their colon:
#: Alpaca's ``### Instruction:`` / ``### Response:`` (a leak even where the prompt asks for a dialogue:
#: they are no speaker's label; only a prompt that holds the header itself may get it back) and
#: Vicuna v0's / many fine-tunes' ``### Human:`` / ``### Assistant:`` / ``### User:`` (role labels:
#: not where a dialogue was asked for). A model that runs past its answer writes the next section (a
#: made-up instruction, or another response). Alpaca's ``### Input:`` is left out: it only follows an
#: instruction, and "## Input:" heads a function's description in answers about code. A heading
#: that begins with one of these words ("### Response time", "### Instructions for setup") has no
#: colon after the word and is no header.
#: (At a line start: ``\n`` first, so the search jumps from line to line; the text's start is
#: matched apart, as ``_REASONING_TAG_AT_START`` is. One pattern for both kinds: one scan.)
_SECTION_HEADER = re.compile(
    r"\n[ \t]*#{2,4}[ \t]*(?:(?P<section>Instruction|Response)|Human|Assistant|User)[ \t]*:", re.IGNORECASE
)
#: A made-up next user turn as the answer's last line after a blank line ("...\n\nUser: thanks"), no
#: assistant line after it (with one, ``_USER_THEN_ASSISTANT`` finds it anywhere); the blank line
#: keeps a list of fields ("Password: x\nUser: admin") out. Looked for on the last line only.
_USER_LABEL = re.compile(r"[ \t]*(?:#{2,4}[ \t]*)?(?:user|human)[ \t]*:", re.IGNORECASE)
_ASKS_DIALOGUE = re.compile(
    r"dialog|conversation|transcript|script|interview|role-?play|chat\b|\b(?:human|user|assistant|model)s?\b|"
    r"gespräch|diálogo|conversa|對話|对话|対話|会話|대화|диалог|разговор|حوار",
    re.IGNORECASE,
)
#: An answer that is only a tool call written as text (Ollama and LM Studio with a model that
#: calls tools in its own format, when the server's parser does not take it out): a JSON object
#: with a name and arguments, Hermes/Qwen ``<tool_call>``, Llama's ``<function=...>`` and
#: ``<|python_tag|>``, Mistral's ``[TOOL_CALLS]``.
_TOOL_CALL_START = re.compile(r"\A\s*(?:<tool_call>|<function=|\[TOOL_CALLS\]|<\|python_tag\|>)")
_ASKS_JSON = re.compile(r"\bjson\b|\bfunctions?\b|function_call|\btool[ _-]calls?\b", re.IGNORECASE)
#: The keys of an assistant message: a ``content`` that parses as an object with only these (and
#: ``role: assistant``) is the message itself, serialised once too often.
_MESSAGE_KEYS = {"role", "content", "name", "refusal", "tool_calls", "function_call", "annotations", "audio"}


def content_parts(content: Any) -> tuple[str | None, str | None]:
    """(answer text, reasoning text) of a message's ``content`` as a server sends it: a string,
    or a list of parts (``{"type": "text", "text": ...}``; reasoning parts apart). None for
    anything else (null, a number)."""
    if isinstance(content, str):
        return content, None
    if not isinstance(content, list):
        return None, None
    text: list[str] = []
    reasoning: list[str] = []
    for part in content:
        if isinstance(part, str):
            text.append(part)
            continue
        if not isinstance(part, dict):
            continue
        kind = part.get("type")
        value = part.get("text")
        if kind in _REASONING_PART_TYPES:
            value = value if isinstance(value, str) else part.get(kind) or part.get("thinking")
            if isinstance(value, list):  # {"type": "thinking", "thinking": [{"type": "text", ...}]}
                value = content_parts(value)[0]
            if isinstance(value, str):
                reasoning.append(value)
        elif kind in _TEXT_PART_TYPES and isinstance(value, str):
            text.append(value)
    if not text and not reasoning:
        return ("" if content == [] else None), None
    return "".join(text), ("".join(reasoning) or None)


def split_reasoning(text: str) -> tuple[str, str | None]:
    """(answer, reasoning) of a content string. A reasoning block at the start (``<think>``,
    ``<thinking>``, ``<reasoning>``) is cut off; one that never closes is all reasoning (the
    answer was cut inside it: nothing is left). A closing tag with no opening one means the
    template opened the block in the prompt: everything before it is reasoning, when the tag stands
    on a line of its own (as such a leak does; a tag inside a sentence is text). Also Kimi's
    ``\u25c1think\u25b7`` block and gpt-oss's analysis/final channels sent unparsed."""
    if "<|channel|>" in text:
        return _split_harmony(text)
    stripped = text.lstrip()
    if stripped.startswith(_KIMI_OPEN):
        rest = stripped[len(_KIMI_OPEN) :]
        end = rest.find(_KIMI_CLOSE)
        if end < 0:
            return "", rest.strip() or None
        return rest[end + len(_KIMI_CLOSE) :], rest[:end].strip() or None
    m = _OPEN.match(text)
    if m:
        tag = m.group(1)
        close = re.search(rf"</{tag}>", text[m.end() :], re.IGNORECASE)
        if close is None:
            return "", text[m.end() :].strip() or None
        reasoning = text[m.end() : m.end() + close.start()]
        return text[m.end() + close.end() :], reasoning.strip() or None
    # Only a closing tag on a line of its own: an answer that mentions "</think>" in a sentence
    # ("the model writes </think> and then its answer") is an answer, not a leaked block.
    close = _CLOSE_LINE.search(text) if "</" in text else None
    if close is not None and not re.search(rf"<{close.group(1)}>", text[: close.start()], re.IGNORECASE):
        return text[close.end() :], text[: close.start()].strip() or None
    return text, None


def _split_harmony(text: str) -> tuple[str, str | None]:
    """(answer, reasoning) of gpt-oss output whose channels the server left in the text: the
    final channel's message is the answer; the analysis (and commentary) messages are reasoning.
    With no final channel (cut while reasoning) there is no answer."""
    reasoning = "\n\n".join(m.strip() for m in _HARMONY_ANALYSIS.findall(text) if m.strip()) or None
    final = _HARMONY_FINAL.search(text)
    if final is None:
        return ("", reasoning) if reasoning is not None else (text, None)
    return _HARMONY_END.sub("", text[final.end() :]), reasoning


def template_leak(text: str, request: ChatRequest | None = None) -> str | None:
    """The first chat-template marker in ``text`` outside code spans and blocks (a reasoning
    block's tag at the start of a line counts: a second block after the answer began), or a
    next turn made up in plain text (unless ``request``'s user turns ask for a dialogue), or None."""
    bare = _outside_code(text)
    m = _REASONING_TAG_AT_START.match(bare) or _TEMPLATE_MARKERS.search(bare)
    if m:
        return m.group(0).strip()
    section = role = None
    if "##" in bare:
        for h in _line_starts(_SECTION_HEADER, bare):
            if h.group("section") is None:
                role = role or h
            elif not _asks_for_header(request, h.group()):
                section = h
                break
    if section is not None:
        return section.group(0).strip()
    if asks_for_dialogue(request):
        return None
    m = _HUMAN_LINE.search(bare) or _USER_THEN_ASSISTANT.search(bare) or _trailing_user(bare) or role
    if m is None:
        return None
    label = m.group(0).strip().split("\n")[0]  # the made-up turn's role label, not its text
    return label[: label.index(":") + 1] if ":" in label else label


def _user_turns(request: ChatRequest | None) -> list[str]:
    return [c for role, c in getattr(request, "messages", ()) if role == "user" and isinstance(c, str)]


def _line_starts(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """The matches of a ``\n``-led line pattern in ``text``, its first line's included."""
    if (first := pattern.match("\n" + text[:200])) is not None:
        yield first
    yield from pattern.finditer(text)


def _trailing_user(text: str) -> re.Match[str] | None:
    """A ``User:`` / ``Human:`` label opening the last line of ``text``, after a blank line."""
    body = text.rstrip()
    i = body.rfind("\n")
    if i < 0 or (m := _USER_LABEL.match(body, i + 1)) is None:
        return None
    j = i - 1
    while j >= 0 and body[j] in " \t\r":
        j -= 1
    return m if j >= 0 and body[j] == "\n" else None


def _asks_for_header(request: ChatRequest | None, header: str) -> bool:
    """Whether a user turn of ``request`` holds the section header itself (a prompt that asks for
    Alpaca-format examples, or quotes one): then the answer may write it."""
    word = header.strip().lstrip("#").strip().rstrip(":").strip().lower()
    return any(re.search(rf"#{{2,4}}[ \t]*{word}[ \t]*:", t, re.IGNORECASE) for t in _user_turns(request))


def asks_for_dialogue(request: ChatRequest | None) -> bool:
    """Whether a user turn of ``request`` asks for (or holds) a dialogue, a transcript, or names a
    role: then ``User:`` / ``Assistant:`` lines in the answer are what was asked for."""
    return any(_ASKS_DIALOGUE.search(t) for t in _user_turns(request))


_FENCE_OPEN = re.compile(r"```\w*\s*")


def tool_call_text(text: str, request: ChatRequest | None = None) -> str | None:
    """What shows ``text`` to be only a tool call written as text, or None; never when the
    request offered tools or a user turn asks for JSON, a function or a tool."""
    if request is not None:
        extra = dict(getattr(request, "extra", ()) or ())
        if extra.get("tools") or extra.get("functions"):
            return None
    if any(_ASKS_JSON.search(t) for t in _user_turns(request)):
        return None
    if (m := _TOOL_CALL_START.match(text)) is not None:
        return m.group(0).strip()
    body = text.strip()
    if body.startswith("```"):
        # The fence and its info string off the start, then the closing fence off the end: one
        # pattern for both ends ran its \s*``` at every space of a long answer (0.6 ms on 22k
        # characters, benchmarks/answer_bench.py).
        body = body[_FENCE_OPEN.match(body).end() :]
        if body.endswith("```"):
            body = body[:-3].rstrip()
    if not body.startswith(("{", "[")):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    calls = value if isinstance(value, list) and value else [value]
    if all(
        isinstance(c, dict)
        and isinstance(c.get("name"), str)
        and isinstance(c.get("parameters", c.get("arguments")), dict | str)
        for c in calls
    ):
        return f"a JSON call of {calls[0]['name']!r}"
    return None


def unwrap_message(text: str) -> str | None:
    """The content of an assistant message sent JSON-encoded as the content, or None."""
    body = text.strip()
    if not (body.startswith("{") and body.endswith("}") and '"role"' in body):
        return None
    try:
        value = json.loads(body)
    except ValueError:
        return None
    if (
        isinstance(value, dict)
        and value.get("role") == "assistant"
        and isinstance(value.get("content"), str)
        and set(value) <= _MESSAGE_KEYS
    ):
        return value["content"]
    return None


def strip_end_token(text: str) -> tuple[str, str | None]:
    """(``text`` without the end-of-turn token(s) standing alone at its very end, the tokens cut or
    None). A ``</s>`` after an HTML ``<s>`` is the strikethrough's end, not a stop token."""
    cut: list[str] = []
    while (m := _TRAILING_END.search(text)) is not None:
        token = m.group(0).strip()
        if token == "</s>" and "<s>" in text[: m.start()]:
            break
        cut.insert(0, token)
        text = text[: m.start()].rstrip()
    return text, ("".join(cut) or None)


#: A role label alone on the answer's first line: Llama 3's ``<|start_header_id|>assistant<|end_header_id|>``
#: with its special tokens stripped ("assistant\n\n..."), Gemma's "model", the plain-text labels
#: of templates without special tokens ("Assistant:", "### Assistant:", "ASSISTANT:"). The model
#: wrote the header of its own turn (a template without the generation prompt): the answer after
#: it is whole. Only at the very start and only on a line of its own: "Assistant: Hello" in a
#: dialogue the prompt asked for is text.
_ROLE_HEADER = re.compile(
    r"\A[ \t]*(?:assistant|model|(?:#{2,4}[ \t]*)?assistant[ \t]*:|(?:#{2,4}[ \t]*)?gpt[ \t]*:)[ \t]*\n\s*(?=\S)",
    re.IGNORECASE,
)


def strip_role_header(text: str) -> tuple[str, str | None]:
    """(``text`` without a bare role header on its first line, the header cut or None)."""
    m = _ROLE_HEADER.match(text)
    header = m.group(0).strip() if m is not None else ""
    if m is None or (header.lower() == "model" and header != "model"):
        return text, None  # Gemma writes "model" in lower case; "Model" may be a heading
    return text[m.end() :], header


#: Two characters that UTF-8 read as Latin-1 or Windows-1252 makes of one letter: a lead byte
#: (Ã for ä ö ü é ñ, Â, Ð and Ñ for Cyrillic, â for curly quotes and dashes ...) then a
#: continuation byte (U+0080-U+00BF, or what cp1252 puts at 0x80-0x9F). Clean text almost never
#: holds such a pair, so ftfy (slow: ~1 ms per 10k characters, 0.2 s to import) runs only
#: on text that does.
_MOJIBAKE_PAIR = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192\u02c6\u02dc"
    "\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039\u203a\u20ac\u2122]"
)


def repair_mojibake(text: str) -> tuple[str, str | None]:
    """(``text`` with UTF-8 that was decoded as Latin-1 / Windows-1252 decoded right, what was done
    or None). ftfy's ``fix_encoding`` decides (it undoes only what its badness measure shows to be
    mojibake, and only what re-encodes to valid UTF-8), so clean text, in any script, is returned
    as it is. The repair is exact: the server's bytes were right, its decoding was not (the s32
    newcomer trial's "mÃ¶glichen" is "möglichen" again). An answer that quotes such pairs in code
    (`` `Ã¶` is ö read as Latin-1 ``) is about encodings: left as it is."""
    if _MOJIBAKE_PAIR.search(text) is None:
        return text, None
    if any(_MOJIBAKE_PAIR.search(m.group(0)) for m in _CODE.finditer(text)):
        return text, None  # it quotes mojibake in code: an answer about encodings, kept as written
    from ftfy import fix_encoding_and_explain

    fixed = fix_encoding_and_explain(text)
    if fixed.text == text or not fixed.explanation:
        return text, None
    steps = " then ".join(f"{op} {arg}" for op, arg in fixed.explanation)
    return fixed.text, f"repaired mojibake with ftfy ({steps}): UTF-8 read in another charset"


def valid_unicode(text: str) -> tuple[str, int]:
    """``text`` with every lone surrogate replaced by U+FFFD, and how many were replaced.
    A pair of surrogates that stand for one character is joined into it."""
    try:
        text.encode("utf-8")
        return text, 0
    except UnicodeEncodeError:
        pass
    fixed = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    # What the UTF-16 round trip could not pair is one U+FFFD per lone surrogate.
    return fixed, fixed.count("\ufffd") - text.count("\ufffd")


def normalise(resp: ChatResponse) -> ChatResponse:
    """The response with its content split from reasoning and made valid Unicode (in place,
    returned for convenience). Idempotent; errors are made valid Unicode too."""
    replaced = 0
    if resp.content is not None and (inner := unwrap_message(resp.content)) is not None:
        resp.content = inner
        _note(resp, "unwrapped a JSON-encoded assistant message")
    if resp.content is not None:
        answer, reasoning = split_reasoning(resp.content)
        if reasoning is not None:
            resp.reasoning = f"{resp.reasoning}\n\n{reasoning}" if resp.reasoning else reasoning
            resp.content = answer.lstrip()
        resp.content, n = valid_unicode(resp.content)
        replaced += n
        resp.content, cut = strip_end_token(resp.content)
        if cut is not None:
            _note(resp, f"cut the end-of-turn token {cut!r} at the end")
        resp.content, header = strip_role_header(resp.content)
        if header is not None:
            _note(resp, f"cut the role header {header!r} at the start")
        resp.content, how = repair_mojibake(resp.content)
        if how is not None:
            _note(resp, how)
    if resp.reasoning is not None:
        resp.reasoning, n = valid_unicode(resp.reasoning)
        replaced += n
    if resp.error is not None:
        resp.error, _ = valid_unicode(resp.error)
    resp.replaced_chars += replaced
    return resp


def _note(resp: ChatResponse, what: str) -> None:
    """Record what normalise changed in the answer (kept with it in the cache: ``raw`` is)."""
    done = resp.raw.setdefault("normalised", [])
    if what not in done:
        done.append(what)


# -- checks ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Problem:
    """Why an answer cannot be used: ``kind`` (one of ``PROBLEM_KINDS``, what is counted) and
    the details a person needs."""

    kind: str
    detail: str

    def reason(self, what: str | None = None) -> str:
        """The rejection reason: ``kind: detail``, or ``kind (what): detail`` naming which call
        of a row failed (``translation of message 2``)."""
        head = f"{self.kind} ({what})" if what else self.kind
        return f"{head}: {self.detail}" if self.detail else head

    def __str__(self) -> str:
        return self.reason()


def answer_problem(
    resp: ChatResponse, request: ChatRequest | None = None, *, require_stop: bool = True
) -> Problem | None:
    """Why ``resp`` (normalised) cannot become data, or None when it can.

    ``request`` is the request that was sent: it gives the token budget (an answer that used
    all of it was cut, whatever the finish reason says) and the prompt (a server that counted
    far fewer prompt tokens cut it). ``require_stop=False`` accepts an answer whatever its
    finish reason (a stage option for users who want cut answers)."""
    if resp.error is not None:
        kind = resp.error_kind if resp.error_kind in (FILTERED, PROVIDER_ERROR) else CALL_FAILED
        return Problem(kind, resp.error)
    if resp.raw.get("require_served_model"):
        return Problem(
            OTHER_MODEL,
            f"asked for {resp.raw.get('requested_model')!r}, the server says {resp.model!r} answered "
            "(a gateway's fallback model; --no-require-served-model keeps such answers)",
        )
    raw = resp.raw.get("finish_reason", resp.finish_reason)
    said = f" (the server said {raw!r})" if raw != resp.finish_reason else ""
    if resp.finish_reason == CONTENT_FILTER:
        return Problem(
            FILTERED,
            f"the server's content filter withheld the answer: finish_reason={resp.finish_reason}{said}",
        )
    if request is not None and (cut := prompt_cut(resp, request)) is not None:
        return Problem(PROMPT_TRUNCATED, cut)
    if resp.finish_reason == TOOL_CALLS:
        # The model stopped to call a tool: no stage runs one, so the turn has no answer. Named
        # for what it is (not "unfinished": more tokens would not have finished it).
        calls = resp.raw.get("tool_calls") or []
        what = f"a structured tool call ({', '.join(map(repr, calls))})" if calls else "a tool call"
        offered = "" if _offers_tools(request) else " though the request offered no tools"
        return Problem(
            TOOL_CALL,
            f"the answer is only {what}{offered}: finish_reason={raw!r} (the server's tool parser took "
            "the model's text for a call, or the model called a tool nobody runs)",
        )
    if require_stop and (unfinished := _unfinished(resp, request, raw, said)) is not None:
        return unfinished
    if is_blank(resp.content or ""):
        if (calls := resp.raw.get("tool_calls")) and not _offers_tools(request):
            return Problem(
                TOOL_CALL,
                f"the answer is only a structured tool call ({', '.join(map(repr, calls))}) though the "
                "request offered no tools: the server's tool parser took the model's text for a call",
            )
        return Problem(EMPTY, "only reasoning, no answer after it" if resp.reasoning else "")
    if (marker := template_leak(resp.content or "", request)) is not None:
        return Problem(
            TEMPLATE_LEAK,
            f"the answer holds the chat-template marker {marker!r}: the server did not stop at the end of "
            "its turn (or its template is not the model's); check the server's chat template and stop tokens",
        )
    if (call := tool_call_text(resp.content or "", request)) is not None:
        return Problem(
            TOOL_CALL,
            f"the answer is only a tool call written as text ({call}) though the request offered no "
            "tools: the model's tool format leaked (check the server's chat template / tool parser)",
        )
    if (bad := replacement_chars(resp, request)) is not None:
        return Problem(REPLACEMENT, bad)
    if (lost := lost_letters(resp.content or "", request)) is not None:
        return Problem(REPLACEMENT, lost)
    return degenerate(resp.content or "", request) or refusal(resp.content or "", request)


def _unfinished(resp: ChatResponse, request: ChatRequest | None, raw: Any, said: str) -> Problem | None:
    """The finish checks of :func:`answer_problem` (``require_stop``): cut by the finish reason,
    by the whole token budget or near it, or an unknown finish reason. ``raw``: the server's own
    finish word; ``said``: it, quoted, where it differs from the normalised one."""
    if resp.finish_reason == LENGTH:
        return Problem(UNFINISHED, f"finish_reason={LENGTH}{said}")
    if request is not None and used_whole_budget(resp, request):
        return Problem(
            UNFINISHED,
            f"the answer used all {request.max_tokens:,} tokens of max_tokens although the server "
            f"said finish_reason={raw!r}: it was cut at the limit",
        )
    if request is not None and (near := cut_near_budget(resp, request)) is not None:
        return Problem(UNFINISHED, near)
    if resp.finish_reason == UNKNOWN:
        return Problem(
            UNKNOWN_FINISH,
            f"finish_reason={raw!r} is none of stop, length, content_filter, tool_calls (docs/llm.md)",
        )
    if resp.finish_reason != STOP:
        return Problem(UNFINISHED, f"finish_reason={resp.finish_reason}{said}")
    return None


def replacement_chars(resp: ChatResponse, request: ChatRequest | None = None) -> str | None:
    """Why the U+FFFD in ``resp.content`` shows text lost on the server, or None. The server
    replaced bytes it could not decode (a tokenizer that split a character, a proxy that read
    UTF-8 as another charset and back): the letters are gone ("Atmosph\ufffdre"). Not counted:
    those normalise made of lone surrogates (``replaced_chars``, kept and noted in meta), and
    any when a user turn holds U+FFFD itself (the answer may quote it)."""
    n = (resp.content or "").count("\ufffd") - resp.replaced_chars
    if n <= 0 or any("\ufffd" in t for t in _user_turns(request)):
        return None
    at = (resp.content or "").index("\ufffd")
    around = (resp.content or "")[max(0, at - 20) : at + 20]
    return (
        f"{n:,} U+FFFD replacement {'character' if n == 1 else 'characters'} from the server (the first in "
        f"{around!r}): it lost bytes it could not decode; check its tokenizer or charset"
    )


#: Letters a lossy charset conversion turned into ``?`` (a proxy, a database column or a terminal
#: in Latin-1 or ASCII: ``encode(..., errors="replace")``): a ``?`` run between two letters of one
#: word ("abh?ngt", "r?ponse"), or a word that is only ``?`` (two or more: "??????. ????? ???", a
#: Japanese answer that is one long run). Looked for outside code spans and blocks, URLs and words
#: that hold ``/``, ``=`` or ``&`` (a query string's ``search?q=``); a ``?`` after a word
#: ("What????") is punctuation, and so is one ``?`` or ``???`` standing alone once.
#: A ``?`` that may stand for a lost letter: one of a run, or one between two letters. Starts with
#: the literal, so the search skips to each ``?`` (a pattern that starts with a lookbehind is tried
#: at every position: 20x slower on a long answer).
_LOST_CANDIDATE = re.compile(r"\?(?:\?|(?<=[^\W\d_]\?)(?=[^\W\d_]))")
_QRUN = re.compile(r"\?+")
_WORD_EDGE = re.compile(r"\s")
#: What may stand before and after a word of ``?`` only: quotes, brackets, punctuation.
_LOST_WORD_BEFORE = frozenset("\"'([{<\u00ab\u201e\u201c\u2018")
_LOST_WORD_AFTER = frozenset(".,:;!)]}>\u00bb\u201c\u201d\"'")
#: How many ``?``-only words (or ``?`` in words between two lone letters) an answer may hold before
#: they count as lost letters (a reader's "???" once is punctuation; a sentence of them is not);
#: one ``?``-only word of at least ``LOST_WORD_LONG`` counts alone.
LOST_WORDS_MIN = 2
LOST_WORD_LONG = 6


def _letter(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isalpha()


def lost_letters(text: str, request: ChatRequest | None = None) -> str | None:
    """Why ``text`` shows letters a lossy charset conversion turned into ``?``, or None: a ``?``
    inside a word (not between two lone letters, "a?b", unless another lost letter is beside it), or
    ``LOST_WORDS_MIN`` words of ``?`` only (one when it is ``LOST_WORD_LONG`` long), outside code
    and URLs. Never when a user turn shows the same (the answer may quote it)."""
    if "?" not in text or _LOST_CANDIDATE.search(text) is None:
        return None
    bare = _outside_code(text)
    inside: list[int] = []
    words: list[int] = []
    strong = long_word = False
    urlish = "/" in bare or "=" in bare or "&" in bare
    for m in _QRUN.finditer(bare):
        a, b = m.span()
        before = bare[a - 1] if a else " "
        after = bare[b] if b < len(bare) else " "
        in_word = before.isalpha() and after.isalpha()
        alone = (before.isspace() or before in _LOST_WORD_BEFORE) and (
            after.isspace() or after in _LOST_WORD_AFTER
        )
        if not in_word and not (alone and b - a >= 2):
            continue
        if urlish:
            start = max(bare.rfind(c, max(0, a - 300), a) for c in " \n\t") + 1
            end = _WORD_EDGE.search(bare, b, b + 300)
            token = bare[start : end.start() if end else b + 300]
            if "/" in token or "=" in token or "&" in token:
                continue  # a URL or a query string: "search?q=rain", "www.x.de/?id=3"
        if in_word:
            inside.append(a)
            strong = strong or _letter(bare, a - 2) or _letter(bare, b + 1)
        else:
            words.append(a)
            long_word = long_word or b - a >= LOST_WORD_LONG
    strong = strong or len(inside) > 1
    if not strong and len(inside) + len(words) < LOST_WORDS_MIN and not long_word:
        return None
    if any(lost_letters(t) is not None for t in _user_turns(request)):
        return None
    at = min(inside + words)
    around = bare[max(0, at - 20) : at + 20]
    what = []
    if inside:
        what.append(f"{len(inside):,} inside {'a word' if len(inside) == 1 else 'words'}")
    if words:
        what.append(f"{len(words):,} {'word' if len(words) == 1 else 'words'} of '?' only")
    return (
        f"letters lost to '?' ({', '.join(what)}; the first in {around!r}): a proxy, database or server "
        "on the way converted the text to Latin-1 or ASCII; check its charset"
    )


def _offers_tools(request: ChatRequest | None) -> bool:
    extra = dict(getattr(request, "extra", ()) or ())
    return bool(extra.get("tools") or extra.get("functions"))


def degenerate(text: str, request: ChatRequest | None = None) -> Problem | None:
    """Why ``text`` (an answer, reasoning removed) is no answer although the server finished it:
    control characters, a loop, the prompt sent back (with ``request``); None when it is not."""
    if (bad := _CONTROL.search(text)) is not None:
        n = len(_CONTROL.findall(text))
        return Problem(
            CONTROL_CHARS,
            f"{n:,} C0 control {'character' if n == 1 else 'characters'} (the first U+{ord(bad.group()):04X} "
            f"at character {bad.start():,}): a broken stream or decoder on the server",
        )
    loop, counted = repeated_tail(text), ""
    if loop is None and (loop := counted_loop(text)) is not None:
        counted = ", each with its own number"
    if loop is not None:
        unit, times = loop
        shown = unit if len(unit) <= 60 else unit[:57] + "..."
        return Problem(
            REPETITION, f"the answer ends in {shown!r} repeated {times:,} times{counted}: the model looped"
        )
    if request is not None and (added := echo_of_prompt(text, request)) is not None:
        return Problem(
            ECHO,
            "the answer is the last user turn sent back"
            + (f" with {added} {'character' if added == 1 else 'characters'} added" if added else ""),
        )
    return None


#: C0 control characters but tab, newline and carriage return (text has no other use for them;
#: a NUL also ends a C string in every tool downstream).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

#: A loop is a tail of the answer that repeats one unit (a word, a phrase, a sentence, a
#: paragraph of up to ``LOOP_MAX_UNIT`` characters, spacing folded) at least ``LOOP_MIN_REPEATS``
#: times and spans at least ``LOOP_MIN_CHARS`` characters (``LOOP_MIN_CHARS_NO_LETTER`` for a
#: unit without a letter: a row of zeros in a matrix, a rule of dashes). Only the tail: a model
#: that loops does not stop looping, while a list, a table, code with repeated lines or a poem
#: with a refrain ends in something else (a closing fence, a last verse, a sentence) or repeats
#: too little; tests/llm/test_answer.py holds such answers that must pass.
LOOP_MIN_REPEATS = 8
LOOP_MIN_CHARS = 160
LOOP_MIN_CHARS_NO_LETTER = 1000
LOOP_MAX_UNIT = 1000
_LETTER = re.compile(r"[^\W\d_]")


#: Characters of an answer's end that ``repeated_tail`` folds first; and how many of its last
#: characters ``_twice`` looks for again to find the periods worth comparing.
_TAIL_CHARS = 4 * LOOP_MAX_UNIT
_PROBE = 8


def _twice(rev: str, top: int) -> Iterator[int]:
    """The periods p <= ``top``, ascending, at which the reversed text ``rev`` starts with the same
    p characters twice (``rev[:p] == rev[p:2p]``: the text's end repeats with period p). Only the
    places where its first ``_PROBE`` characters come again are compared (``str.find``, C speed),
    not every p: a period p >= _PROBE has them at p."""
    for p in range(1, min(_PROBE, top + 1)):
        if rev[:p] == rev[p : 2 * p]:
            yield p
    head = rev[:_PROBE]
    p = rev.find(head, _PROBE, top + _PROBE)
    while p >= 0:
        if rev.startswith(rev[:p], p):
            yield p
        p = rev.find(head, p + 1, top + _PROBE)


def repeated_tail(text: str) -> tuple[str, int] | None:
    """(unit, times) of the loop ``text`` ends in, or None (see ``LOOP_MIN_REPEATS``)."""
    if len(text) > _TAIL_CHARS:
        # Only the end can loop. Spacing folded, the end of the text's last characters is the end
        # of the whole folded; when no unit repeats even twice there (most answers), the whole
        # need not be folded (2.5 ms for 4,000 words; benchmarks/answer_bench.py).
        tail = " ".join(text[-_TAIL_CHARS:].split())[::-1]
        if len(tail) >= 2 * LOOP_MAX_UNIT + _PROBE and next(_twice(tail, LOOP_MAX_UNIT), None) is None:
            return None
    flat = " ".join(text.split())  # spacing folded: what re.sub(r"\s+", " ") and strip() give, 2x faster
    n = len(flat)
    if n < LOOP_MIN_CHARS:
        return None
    rev = flat[::-1]
    for p in _twice(rev, min(LOOP_MAX_UNIT, n // LOOP_MIN_REPEATS)):
        # The longest m with rev[:m] == rev[p:p + m] (the text repeats with period p over m + p
        # characters at its end), by bisection on slice comparisons (C speed, a 30k answer too).
        lo, hi = p, n - p
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if rev[:mid] == rev[p : p + mid]:
                lo = mid
            else:
                hi = mid - 1
        span = lo + p
        times = span // p
        unit = flat[n - p :]
        least = LOOP_MIN_CHARS if _LETTER.search(unit) else LOOP_MIN_CHARS_NO_LETTER
        if times >= LOOP_MIN_REPEATS and span >= least:
            return unit.strip() or unit, times
    return None


#: What numbers a list item or a step, where a loop that counts puts it ("1. Check the cause." 40
#: times, "Schritt 3: ...", "(c) ...", "iv) ...", "第3步：..."): at the start of a line (after an
#: optional bullet), or a "Step N" / "第N步" word anywhere. Replaced by one mark, so the repetition
#: check compares the items themselves; items that differ (a real 40-item list) still differ.
_STEP_WORD = (
    r"(?:step|schritt|paso|[\u00e9e]tape|passo|stap|krok|ad\u0131m|\u0448\u0430\u0433|punkt|point|item)"
    r"[ \t]*#?\d{1,4}[ \t]*[:.)\-\u2013\u2014]?[ \t]*"
    r"|\u7b2c[ \t]*[0-9\u96f6\u4e00\u4e8c\u4e09\u56db\u4e94\u516d\u4e03\u516b\u4e5d\u5341\u767e\u5343]{1,6}"
    r"[ \t]*[\u6b65\u6761\u689d\u9879\u9805\u70b9\u7ae0][ \t]*[:\uff1a\u3001.\uff0e]?[ \t]*"
)
_LINE_ENUMERATOR = re.compile(
    r"[ \t]*(?:[-*\u2022][ \t]*)?(?:\d{1,4}[.):\u3001\uff0e]|\(?[a-zA-Z][.)]|\([a-zA-Z]{1,2}\)"
    rf"|\(?(?:[ivxlcdm]{{1,7}}|[IVXLCDM]{{1,7}})[.)])[ \t]*|[ \t]*(?:{_STEP_WORD})",
    re.IGNORECASE,
)
#: The same words inside a line ("Step 1: Check it. Step 2: Check it. ..."): searched for only in
#: the answer's last line, and only when it holds enough colons and digits, or "第" (a search at
#: every position costs ~1.7 ms per 8,000 characters on a loaded core; the line-start match and
#: these counts, microseconds).
_WORD_ENUMERATOR = re.compile(rf"\b(?:{_STEP_WORD})", re.IGNORECASE)


def _may_count_inline(line: str) -> bool:
    """Whether ``line`` can hold ``LOOP_MIN_REPEATS`` inline steps ("Step 3:", "第3步：")."""
    if line.count("\u7b2c") >= LOOP_MIN_REPEATS:
        return True
    colons = line.count(":") + line.count("\uff1a")
    return colons >= LOOP_MIN_REPEATS and sum(line.count(d) for d in "0123456789") >= LOOP_MIN_REPEATS


_ENUM_MARK = "\u00a7 "
#: Characters of an answer's end a counted loop is looked for in: 8 repeats of the longest unit.
_COUNTED_TAIL = LOOP_MIN_REPEATS * LOOP_MAX_UNIT


def counted_loop(text: str) -> tuple[str, int] | None:
    """(unit, times) of a loop whose repeats differ only in their number ("1. Prüfe die Ursache.",
    "2. Prüfe die Ursache.", ... "Step 7: ..."), or None: :func:`repeated_tail` on the answer's
    end with each enumerator replaced by one mark (times counted in that end). The unit is shown
    without the mark."""
    if len(text) < LOOP_MIN_CHARS:
        return None
    lines = text[-_COUNTED_TAIL:].split("\n")
    n = 0
    last = lines[-1]
    if _may_count_inline(last):
        lines[-1], n = _WORD_ENUMERATOR.subn(_ENUM_MARK, last)
    if n + len(lines) < LOOP_MIN_REPEATS:
        return None  # neither enough steps in the last line nor enough lines to number
    for i, line in enumerate(lines):
        if (m := _LINE_ENUMERATOR.match(line)) is not None:
            lines[i] = _ENUM_MARK + line[m.end() :]
            n += 1
    if n < LOOP_MIN_REPEATS:
        return None
    loop = repeated_tail("\n".join(lines))
    if loop is None:
        return None
    unit, times = loop
    return (" ".join(unit.replace(_ENUM_MARK.strip(), " ").split()) or unit), times


#: An echo is the last user turn with at most this many letters and digits added (a "Sure" or
#: quotes around it), compared with case, punctuation and spacing folded; only for a turn of at
#: least ``ECHO_MIN_CHARS`` folded characters, since a short greeting may well be answered by the
#: same greeting.
ECHO_MAX_ADDED = 5
ECHO_MIN_CHARS = 16
_FOLD = re.compile(r"[\W_]+")


def _fold(text: str) -> str:
    return _FOLD.sub(" ", text.casefold()).strip()


def echo_of_prompt(text: str, request: ChatRequest) -> int | None:
    """How many characters (folded) ``text`` adds to the last user turn of ``request`` when it is
    that turn sent back (0: the same), else None."""
    turns = [c for role, c in getattr(request, "messages", ()) if role == "user" and isinstance(c, str)]
    if not turns:
        return None
    prompt = _fold(turns[-1])
    most = len(prompt) + ECHO_MAX_ADDED + 2
    # A prefix never folds longer than the whole: an answer whose start already folds past the
    # longest echo is none, decided without folding all of a long answer.
    if len(prompt) < ECHO_MIN_CHARS or (len(text) > 4 * most and len(_fold(text[: 4 * most])) > most):
        return None
    answer = _fold(text)
    if len(answer) > most:
        return None
    if prompt not in answer:
        return None
    added = len(answer.replace(prompt, "", 1).replace(" ", ""))
    return added if added <= ECHO_MAX_ADDED else None


# -- the answer's language -------------------------------------------------------------------------


class AnswerLanguageConfig(BaseModel):
    """The answer-language check of a stage (its ``gate`` options: --gate/--no-gate,
    --gate-min-prob, --gate-min-chars, the names bench's and prefer's gate use): bench's gate
    (tagengo.lang.gate), on by default."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True,
        description="Check that each answer is in the row's language: lid.176 must not say, with at least "
        "--gate-min-prob, that it is in another (rows without a language, and languages lid.176 cannot "
        "name, are not checked)",
    )
    min_prob: float = Field(0.9, ge=0.0, le=1.0, description="LID probability above which a mismatch counts")
    min_chars: int = Field(
        20, ge=0, description="Answers with fewer letters (code removed) are never checked: LID is unreliable"
    )

    def as_gate_config(self) -> Any:
        """The same settings as bench's ``GateConfig``."""
        from tagengo.lang.gate import GateConfig

        return GateConfig(enabled=self.enabled, min_prob=self.min_prob, min_chars=self.min_chars)


class AnswerLanguage:
    """:func:`language_problem` with one config and one gate (lid.176 loaded once per process,
    on the first answer checked)."""

    def __init__(self, config: AnswerLanguageConfig) -> None:
        from tagengo.lang.gate import LanguageGate

        self.config = config
        self.gate = LanguageGate(config.as_gate_config())

    def warm(self) -> None:
        """Load lid.176 now (thread-safe: ``LanguageDetector.shared``), not on the first answer."""
        _ = self.gate.detector

    def problem(
        self, text: str, language: str | None, what: str = "answer", prompt: str | None = None
    ) -> tuple[Problem | None, dict]:
        """(the problem, or None; what LID found, for the row's meta: ``{}`` when not checked)."""
        return language_problem(text, language, self.gate, what, prompt)


#: The stem of "translate" in the languages most asked in: a prompt that asks for a translation
#: ("Traduci in inglese: ...", "请帮我翻译成英文") is rightly answered in another language than
#: its own, which the language check would reject (7 of the 470 answers of the bundled LMSYS
#: sample it checks were such answers; docs/generate.md).
_ASKS_TRANSLATION = re.compile(
    r"translat|tradu[czsiş]|übersetz|uebersetz|vertaal|översätt|oversæt|overs[ae]tt|käännä|przetłumacz|"
    r"přelož|prelož|prevedi|преведи|переве[дс]|переклад|çevir|terjemah|dịch|μετάφρασ|μετέφρασ|תרגמ|תרגם|"
    r"ترجم|अनुवाद|แปล|翻译|翻譯|翻訳|訳して|번역",
    re.IGNORECASE,
)


def asks_for_translation(prompt: str | None) -> bool:
    """Whether ``prompt`` (a user turn) asks for a translation: then its answer may be in another
    language, and the answer-language check does not apply."""
    return bool(prompt) and _ASKS_TRANSLATION.search(prompt) is not None


def language_problem(
    text: str, language: str | None, gate: Any, what: str = "answer", prompt: str | None = None
) -> tuple[Problem | None, dict]:
    """Whether ``text`` is in ``language`` (a record code) as ``gate`` (a
    :class:`tagengo.lang.gate.LanguageGate`, bench's) decides: (a ``wrong language`` Problem naming
    the language found and its probability, or None; ``{detected, prob, expected}`` for the row's
    meta, ``{}`` when the text was not checked). Not checked: a row without a language
    (``NO_LANGUAGE``), a language lid.176 cannot name, a text with too few letters, the gate off,
    an answer to a ``prompt`` that asks for a translation (:func:`asks_for_translation`)."""
    from tagengo.lang.verdict import knows
    from tagengo.records import NO_LANGUAGE

    if not language or language == NO_LANGUAGE or not knows(language) or asks_for_translation(prompt):
        return None, {}
    verdict = gate.check(text, language)
    if verdict is None:
        return None, {}
    found = verdict.to_dict()
    if not verdict.failed:
        return None, found
    if verdict.drift is not None:  # the answer as a whole passed; its runs did not (lang.gate)
        return Problem(WRONG_LANGUAGE, verdict.drift.reason(what, language, gate.config.min_prob)), found
    return (
        Problem(
            WRONG_LANGUAGE,
            f"lid.176 says the {what} is '{verdict.detected}' (p={verdict.prob:.2f}), the row's language is "
            f"'{language}' (--gate-min-prob {gate.config.min_prob:g}; --no-gate turns the check off)",
        ),
        found,
    )


def used_whole_budget(resp: ChatResponse, request: ChatRequest) -> bool:
    """True when the server reported as many completion tokens as ``max_tokens`` allowed (or
    more). Several servers say ``stop`` for an answer cut there. Counts made here (no usage
    from the server) are estimates and decide nothing."""
    return not resp.tokens_estimated and request.max_tokens > 0 and resp.output_tokens >= request.max_tokens


#: An answer that says ``stop`` with at most this many tokens of ``max_tokens`` left, and whose
#: text ends mid-word or mid-sentence, was cut at the limit (the s32 newcomer trial's 2,047 of
#: 2,048 tokens, "... dann die mögli"): a server that counts its stop token, or the template's,
#: in the completion, or one that stops a token early, reports one or two short of the budget.
NEAR_BUDGET_TOKENS = 2
#: The last character of an answer that ends cleanly: sentence punctuation in the scripts the
#: stages serve, closing quotes and brackets, a code fence's backtick, an emoji or symbol. A letter,
#: a digit, a combining mark or a comma/colon/dash (a clause left open) is mid-sentence.
_OPEN_END = re.compile(r"[\w\u0300-\u036f\u0900-\u0dff,;:\-\u2013\u2014\u3001\uff0c(\[{/]\Z")


def cut_near_budget(resp: ChatResponse, request: ChatRequest) -> str | None:
    """Why an answer that says ``stop`` was cut at the token limit though it did not use all of
    it, or None: within ``NEAR_BUDGET_TOKENS`` of ``max_tokens`` (the server's own count) and
    ending mid-word or mid-sentence. One that ends cleanly that near the limit is kept."""
    if resp.tokens_estimated or request.max_tokens <= 0 or resp.finish_reason != STOP:
        return None
    if resp.output_tokens < request.max_tokens - NEAR_BUDGET_TOKENS:
        return None
    text = (resp.content or "").rstrip()
    if not text or _OPEN_END.search(text) is None:
        return None
    return (
        f"the answer used {resp.output_tokens:,} of the {request.max_tokens:,} tokens of max_tokens and ends "
        f"mid-sentence ({text[-20:]!r}) although the server said finish_reason={resp.raw.get('finish_reason', STOP)!r}: "
        "it was cut at the limit"
    )


def prompt_cut(resp: ChatResponse, request: ChatRequest) -> str | None:
    """Why the server must have cut the prompt, or None. Needs the server's own usage."""
    reported = resp.input_tokens
    if resp.tokens_estimated or reported <= 0:
        return None
    texts = request.prompt_texts()
    # A BPE token holds at least one byte: with fewer bytes than this, no count can be far enough
    # above the server's, and most calls are decided without tokenizing anything.
    if sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) < reported + TRUNCATED_MIN_GAP:
        return None
    counted = count_prompt_tokens(texts)
    if counted - reported < TRUNCATED_MIN_GAP:
        return None
    at_size = next((n for n in CONTEXT_SIZES if n - CONTEXT_SIZE_MARGIN <= reported <= n), None)
    by_size = at_size is not None and counted >= CONTEXT_SIZE_MIN_RATIO * reported
    if not by_size and reported >= TRUNCATED_RATIO * counted:
        return None
    size = f" (at the context size {at_size:,})" if by_size else ""
    return (
        f"the server counted {reported:,} prompt {'token' if reported == 1 else 'tokens'}{size} of about {counted:,} sent, so it cut the prompt "
        "to its context size; raise it (Ollama: num_ctx or OLLAMA_CONTEXT_LENGTH; llama.cpp server: "
        "--ctx-size; vLLM: --max-model-len; TGI: --max-input-tokens)"
    )


def count_prompt_tokens(texts: list[str]) -> int:
    """Prompt tokens as o200k counts them (the most multilingual of the BPEs that run offline
    here), without any chat-template overhead: a number the server's count should not fall far
    below. UTF-8 bytes / 4 where bpe-openai is missing."""
    enc = _o200k()
    if enc is None:
        return sum(len(t.encode("utf-8", "surrogatepass")) for t in texts) // 4
    return sum(len(enc.encode_ordinary(t)) for t in texts)


@functools.cache
def _o200k() -> Any:
    try:
        import bpe_openai

        return bpe_openai.get_encoding("o200k_base")
    except Exception:  # not installed, or its data missing
        return None


def call_meta(resp: ChatResponse, key: str) -> dict[str, Any]:
    """What a row keeps of one call (translate, reverse and extend list their calls in meta):
    the request's cache key, model, finish reason, tokens, cost (USD by the client's price table,
    0 without one; a cached answer keeps what it cost when made: what `tagengo report` sums per
    model and language), whether it was replayed, attempts."""
    return {
        "key": key,
        "model": resp.model,
        "finish_reason": resp.finish_reason,
        "input_tokens": resp.input_tokens,
        "output_tokens": resp.output_tokens,
        "cost": resp.cost,
        "cached": resp.cached,
        "attempts": resp.attempts,
    }


def answer_meta(resp: ChatResponse) -> dict[str, Any]:
    """What the contract found, for a row's ``meta``: the reasoning, how many characters were
    replaced, the server's own finish word where it differs, usage counts that were no counts
    (``usage_ignored``: ``completion_tokens=nan``). Empty for a clean answer, so clean
    runs write what they always wrote."""
    out: dict[str, Any] = {}
    if resp.reasoning:
        out["reasoning"] = resp.reasoning
    if resp.replaced_chars:
        out["replaced_chars"] = resp.replaced_chars
    if resp.raw.get("normalised"):
        out["normalised"] = list(resp.raw["normalised"])
    if resp.raw.get("requested_model"):  # another model served it (tagengo.llm.client._served)
        out["requested_model"] = resp.raw["requested_model"]
    if resp.raw.get("extra_choices"):  # choices besides index 0 the server sent: ignored
        out["extra_choices"] = resp.raw["extra_choices"]
    if resp.raw.get("usage_ignored"):  # NaN, negative... usage counts: tokens counted here
        out["usage_ignored"] = resp.raw["usage_ignored"]
    if ends_mid_sentence(resp):
        out["ends_mid_sentence"] = True
    return out


def ends_mid_sentence(resp: ChatResponse) -> bool:
    """True for an answer that says ``stop``, came with no token usage, and ends on a letter: the
    shape of one cut off by a server that still says stop and sends no usage to tell (LocalAI,
    LiteLLM reports; the s31 newcomer trial's "... Diese Tröpfchen"). Only a flag in meta
    (``ends_mid_sentence``), never a rejection: lists, headings, code and titles end on a letter
    too, so punctuation cannot decide."""
    if not resp.tokens_estimated or resp.finish_reason != STOP or resp.error is not None:
        return False
    text = (resp.content or "").rstrip()
    return bool(text) and not text.endswith("```") and _LETTER.fullmatch(text[-1]) is not None


#: What may follow a model's name in the name the server answers with and still be that model: a
#: date (OpenAI's ``gpt-4o-2024-08-06``, Anthropic's ``-20241022``, ``-0613``), Ollama's
#: ``:latest``, a ``-latest`` alias.
_VERSION_SUFFIX = re.compile(r"(?:[-@:_](?:\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|\d{6}|latest|v\d+(?:\.\d+)*))+")


def same_model(asked: str, served: str) -> bool:
    """Whether the model a server says answered (``served``) is the one ``asked`` for: equal
    once case, a provider prefix (``openai/``) and a version suffix (a date, ``:latest``) are set
    aside. ``gpt-4o`` and ``gpt-4o-2024-08-06`` are one model; ``gpt-4o`` and ``gpt-4o-mini``,
    or ``claude-3-opus`` served for ``gpt-4o``, are not."""
    if asked == served:
        return True
    a, s = asked.strip().lower().rsplit("/", 1)[-1], served.strip().lower().rsplit("/", 1)[-1]
    if a == s:
        return True
    # The served name is the asked one plus a version suffix, or both are one name with two
    # suffixes (``gpt-4o-2024-05-13`` asked, ``gpt-4o-2024-08-06`` served: versions differ, and
    # that is a change worth telling: not the same).
    return (
        s.startswith(a)
        and _VERSION_SUFFIX.fullmatch(s[len(a) :]) is not None
        or (a.startswith(s) and _VERSION_SUFFIX.fullmatch(a[len(s) :]) is not None)
    )


# -- refusals --------------------------------------------------------------------------------------

#: The refusal sentences of 14 languages: "I can't help with that", "I cannot answer", each
#: language's own turns of phrase (written for tagengo from how the languages say it; no list
#: was copied). Matched against one sentence of an answer that has nothing else in it.
_REFUSE = (
    # en
    r"\bI(?:'m|\u2019m| am)? ?(?:can(?:'|\u2019)?t|cannot|can not|won(?:'|\u2019)t|will not|not able to|unable to|"
    r"not allowed to|not permitted to|must decline|have to decline)\b[^.!?]{0,20}?\b(?:help|assist|answer|comply|"
    r"provide|do|fulfil|fulfill|respond|support|engage|create|write|generate|give|share|offer|discuss|tell|"
    r"complete|continue|process|produce|make|decline)",
    # de
    r"\b(?:ich kann|kann ich)\b[^.!?]{0,40}?\bnicht\b[^.!?]{0,30}?\b(?:helfen|beantworten|antworten|erf\u00fcllen|"
    r"unterst\u00fctzen|nachkommen|tun|machen|behilflich sein|geben|liefern)",
    r"\bich bin (?:leider )?nicht in der lage\b",
    # fr
    r"\bje ne (?:peux|pourrai|suis pas en mesure d[e']|saurais)\b[^.!?]{0,25}?\b(?:aider|r\u00e9pondre|fournir|"
    r"faire|satisfaire|donner|traiter|accomplir|assister)",
    # es
    r"\bno (?:puedo|podr\u00e9|estoy en condiciones de)\b[^.!?]{0,25}?\b(?:ayudar|responder|proporcionar|hacer|"
    r"cumplir|dar|ofrecer|asistir|atender|contestar)",
    # it
    r"\bnon (?:posso|sono in grado di|riesco a)\b[^.!?]{0,25}?\b(?:aiutar|rispondere|fornire|fare|soddisfare|dare|"
    r"assister|esaudire)",
    # pt
    r"\bn\u00e3o (?:posso|consigo|sou capaz de|estou em condi\u00e7\u00f5es de)\b[^.!?]{0,25}?\b(?:ajudar|"
    r"responder|fornecer|fazer|atender|dar|cumprir|auxiliar)",
    # nl
    r"\bik kan\b[^.!?]{0,30}?\bniet\b[^.!?]{0,20}?\b(?:helpen|beantwoorden|antwoorden|doen|geven|leveren)",
    # pl
    r"\bnie (?:mog\u0119|jestem w stanie)\b[^.!?]{0,25}?(?:pom\u00f3c|pomaga\u0107|odpowiedzie\u0107|udzieli\u0107|"
    r"spe\u0142ni\u0107|zrobi\u0107)",
    # tr
    r"(?:yard\u0131mc\u0131 olamam|cevap veremem|yan\u0131t veremem|bunu yapamam)",
    # ru
    r"\b\u043d\u0435 \u043c\u043e\u0433\u0443\b[^.!?]{0,25}?(?:\u043f\u043e\u043c\u043e\u0447\u044c|"
    r"\u043f\u043e\u043c\u043e\u0433\u0430\u0442\u044c|\u043e\u0442\u0432\u0435\u0442\u0438\u0442\u044c|"
    r"\u043f\u0440\u0435\u0434\u043e\u0441\u0442\u0430\u0432\u0438\u0442\u044c|\u0432\u044b\u043f\u043e\u043b"
    r"\u043d\u0438\u0442\u044c|\u0441\u0434\u0435\u043b\u0430\u0442\u044c)",
    # ja: お答え / 回答 / お手伝い / 対応 / 提供 (する) ことはできません
    r"(?:\u304a\u7b54\u3048|\u56de\u7b54|\u304a\u624b\u4f1d\u3044|\u5bfe\u5fdc|\u63d0\u4f9b)"
    r"(?:\u3059\u308b\u3053\u3068|\u3059\u308b\u306e)?(?:\u306f|\u304c)?\u3067\u304d\u307e\u305b\u3093",
    # zh: 无法 / 不能 + 回答 / 帮助 / 提供 / 协助 / 帮忙 / 满足 / 处理 (simplified and traditional)
    r"(?:\u65e0\u6cd5|\u4e0d\u80fd|\u7121\u6cd5)(?:\u56de\u7b54|\u5e2e\u52a9|\u5e6b\u52a9|\u63d0\u4f9b|"
    r"\u534f\u52a9|\u5354\u52a9|\u5e2e\u5fd9|\u5e6b\u5fd9|\u6ee1\u8db3|\u6eff\u8db3|\u5904\u7406|\u8655\u7406)",
    # ko: 도와드릴 / 답변해 드릴 / 답변할 수 없습니다
    r"(?:\ub3c4\uc640\ub4dc\ub9b4|\ub2f5\ubcc0(?:\ud574 \ub4dc\ub9b4|\ud560|\ub4dc\ub9b4)) \uc218 \uc5c6\uc2b5\ub2c8\ub2e4",
    # ar: لا أستطيع / لا يمكنني + المساعدة / الإجابة / تقديم
    r"(?:\u0644\u0627 (?:\u0623\u0633\u062a\u0637\u064a\u0639|\u064a\u0645\u0643\u0646\u0646\u064a)) "
    r"(?:\u0627\u0644\u0645\u0633\u0627\u0639\u062f\u0629|\u0627\u0644\u0625\u062c\u0627\u0628\u0629|"
    r"\u062a\u0642\u062f\u064a\u0645|\u0645\u0633\u0627\u0639\u062f\u062a\u0643)",
    # he: אינני יכול / אני לא יכול(ה) לעזור / לענות
    r"(?:\u05d0\u05d9\u05e0\u05e0\u05d9|\u05d0\u05e0\u05d9 \u05dc\u05d0) \u05d9\u05db\u05d5\u05dc\u05d4? "
    r"(?:\u05dc\u05e2\u05d6\u05d5\u05e8|\u05dc\u05e2\u05e0\u05d5\u05ea)",
)
_REFUSAL = re.compile("|".join(f"(?:{p})" for p in _REFUSE), re.IGNORECASE)
#: A sentence that only apologises ("I'm sorry.", "Es tut mir leid.", "申し訳ありません。"): it may
#: stand before the refusal in an answer that is only a refusal.
_APOLOGY = re.compile(
    r"(?:i(?:'m| am) (?:very |so |truly )?sorry|sorry|i apologi[sz]e|my apologies|unfortunately|es tut mir "
    r"(?:sehr )?leid|entschuldigung|leider|je suis (?:d\u00e9sol\u00e9e?|navr\u00e9e?)|d\u00e9sol\u00e9e?|lo siento|"
    r"lo lamento|mi dispiace|desculpe|sinto muito|lamento|het spijt me|przepraszam|\u00fczg\u00fcn\u00fcm|"
    r"\u0438\u0437\u0432\u0438\u043d\u0438\u0442\u0435|\u043a \u0441\u043e\u0436\u0430\u043b\u0435\u043d\u0438\u044e|"
    r"\u7533\u3057\u8a33\u3042\u308a\u307e\u305b\u3093|\u3059\u307f\u307e\u305b\u3093|\u62b1\u6b49|\u5bf9\u4e0d\u8d77|"
    r"\u5c0d\u4e0d\u8d77|\uc8c4\uc1a1\ud569\ub2c8\ub2e4|\u0639\u0630\u0631\u0627\u064b?|\u0622\u0633\u0641|\u05e1\u05dc\u05d9\u05d7\u05d4)"
    r"[\s,.!\u3002\uff01\u060c]*",
    re.IGNORECASE,
)
#: An answer longer than this is more than a refusal, whatever its first sentence says.
REFUSAL_MAX_CHARS = 200
#: One refusal sentence holds no number, colon or list: "Sorry, I can't browse, but 5 miles is
#: 8.05 km" answers. Nor a contrast ("..., but here is ..."; aber, mais, pero, ma, mas, maar).
_ANSWERS_TOO = re.compile(
    r"[\d:;\n\uff1a]|\b(?:but here|however|here is|here are|instead|aber hier|stattdessen|mais voici|cependant|"
    r"pero aqu\u00ed|sin embargo|en cambio|per\u00f2|invece|por\u00e9m|mas aqui|maar hier|zamiast)\b|\u4f46\u662f|\u305f\u3060\u3057|\u305f\u3060\u3001",
    re.IGNORECASE,
)
_SENTENCE_END = re.compile(r"(?<=[.!?\u3002\uff01\uff1f\u061f])\s*")


def refusal(text: str, request: ChatRequest | None = None) -> Problem | None:
    """A ``refusal`` Problem when ``text`` is only a refusal ("I'm sorry, but I can't help with
    that.", "Ich kann diese Frage nicht beantworten.", "申し訳ありませんが、お答えできません。"):
    short (``REFUSAL_MAX_CHARS``), every sentence an apology or a refusal (``_REFUSE``, 14
    languages) and no number, list or "but here is" after it. An answer that apologises and then
    answers is kept; so is any answer to a prompt that asks for a translation (the refusal may be
    the text translated)."""
    if len(text) > 4 * REFUSAL_MAX_CHARS:
        return None  # decided before folding the spacing of a long answer
    body = " ".join(text.split())
    if not body or len(body) > REFUSAL_MAX_CHARS or _ANSWERS_TOO.search(body) is not None:
        return None
    if request is not None and asks_for_translation(" ".join(map(str, request.prompt_texts()))):
        return None
    refused = False
    for sentence in filter(None, _SENTENCE_END.split(body)):
        if _REFUSAL.search(sentence) is not None:
            refused = True
        elif _APOLOGY.fullmatch(sentence) is None:
            return None  # a sentence that is neither: the answer says something
    if not refused:
        return None
    return Problem(
        REFUSAL, f"the answer is only a refusal ({body[:80]!r}): the model declined an ordinary request"
    )
