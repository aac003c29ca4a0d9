"""Rendering a conversation with its chat template and encoding it so that message text never
becomes a control token.

A chat template joins its own markers (``<|im_start|>``, ``<|im_end|>`` ...) and the messages'
text into one string. Encoding that string whole, as ``apply_chat_template(tokenize=True)``
does, turns every marker the *text* spells into the real special token: an answer quoting
``<|im_end|>\\n<|im_start|>user`` (chat logs quote templates, people paste them) would teach the
model to end its turn mid-answer and open a fake user turn. Here:

1. a text that spells no special token of the tokenizer is encoded whole, exactly as before;
2. otherwise the conversation is rendered once more with each message's content replaced by a
   placeholder of private-use characters. The placeholders cut that skeleton into the
   template's own pieces, and walking the real rendering with those pieces finds each
   message's text in it (as given, or trimmed, for templates that ``| trim``);
3. the real rendering is cut at the special tokens that lie outside every message's text (the
   template's markers, which keep their ids), and each stretch between them is encoded with
   ``split_special_tokens=True``, so a spelled marker becomes ordinary tokens. HF tokenizers
   cut at special tokens before anything else, so a stretch encodes as it would inside the
   whole: on a clean conversation this path gives the very ids of step 1 (tested);
4. checked: the result holds exactly as many special tokens as the skeleton (the template
   alone). A template whose rendering of a message's text cannot be found (it rewrites the
   text) raises :class:`MarkerTextError` for a row that spells a marker; clean rows never
   need the layout.

"Special" is what the tokenizer declares: ``all_special_ids`` (bos, eos, pad, unk ...) and every
added token marked special (the chat markers among them).
"""

from __future__ import annotations

import contextlib
import re
import weakref
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


class MarkerTextError(ValueError):
    """A message spells a special token and the template's layout around it cannot be found."""


@dataclass(frozen=True)
class Specials:
    """The tokenizer's special tokens: ids and the strings that spell them (longest first)."""

    ids: frozenset[int]
    strings: tuple[str, ...]
    pattern: re.Pattern[str] | None  # any of ``strings``

    @classmethod
    def of(cls, tokenizer: Any) -> Specials:
        """Built once per tokenizer and vocabulary size (Llama 3 declares 256 special tokens)."""
        key = len(tokenizer)
        try:
            cached = _SPECIALS.get(tokenizer)
        except TypeError:  # not weakly referenceable
            cached = None
        if cached is not None and cached[0] == key:
            return cached[1]
        ids = set(tokenizer.all_special_ids)
        strings = set(tokenizer.all_special_tokens)
        for i, tok in getattr(tokenizer, "added_tokens_decoder", {}).items():
            if getattr(tok, "special", False):
                ids.add(i)
                strings.add(tok.content)
        ordered = tuple(sorted((s for s in strings if s), key=len, reverse=True))
        out = cls(frozenset(ids), ordered, re.compile("|".join(map(re.escape, ordered))) if ordered else None)
        with contextlib.suppress(TypeError):  # not weakly referenceable: built again next time
            _SPECIALS[tokenizer] = (key, out)
        return out

    def spelled_in(self, text: str) -> bool:
        """Whether ``text`` spells one of the special tokens."""
        return self.pattern is not None and self.pattern.search(text) is not None


_SPECIALS: weakref.WeakKeyDictionary[Any, tuple[int, Specials]] = weakref.WeakKeyDictionary()


def spells_marker(tokenizer: Any, messages: list[dict[str, str]]) -> bool:
    """Whether any message's text spells a special token of ``tokenizer``."""
    specials = Specials.of(tokenizer)
    return any(specials.spelled_in(m["content"]) for m in messages)


@dataclass
class Encoded:
    """``ids`` of ``text`` with each token's character span ``offsets[k] = (start, end)``;
    ``marker_text``: a message spelled a special token (encoded as plain text)."""

    text: str
    ids: list[int]
    offsets: list[tuple[int, int]]
    marker_text: bool


def render(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """The chat template's text for ``messages``."""
    return tokenizer.apply_chat_template(
        messages, tokenize=False, add_generation_prompt=add_generation_prompt
    )


def skeleton(tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """The rendering of ``messages`` with message ``i``'s text replaced by ``\\ue000i\\ue001``."""
    marked = [{**m, "content": f"\ue000{i}\ue001"} for i, m in enumerate(messages)]
    return render(tokenizer, marked, add_generation_prompt)


def content_spans(text: str, skeleton_text: str, messages: list[dict[str, str]]) -> list[tuple[int, int]]:
    """The character spans ``[start, end)`` of the messages' text in ``text``, their rendering,
    found by walking it with the template's pieces of ``skeleton_text``.

    Raises :class:`MarkerTextError` when those pieces do not tile ``text`` (the template rewrites
    message text in a way other than trimming it)."""
    parts = _PLACEHOLDER.split(skeleton_text)  # template piece, message index, template piece, ...
    spans: list[tuple[int, int]] = []
    pos = 0
    for k in range(0, len(parts) - 1, 2):
        piece, idx, after = parts[k], int(parts[k + 1]), parts[k + 2]
        if not text.startswith(piece, pos):
            raise MarkerTextError(
                "the chat template renders its own text differently around this row's messages"
            )
        pos += len(piece)
        content = messages[idx]["content"]
        for form in dict.fromkeys((content, content.strip())):
            if text.startswith(form, pos) and text.startswith(after, pos + len(form)):
                spans.append((pos, pos + len(form)))
                pos += len(form)
                break
        else:
            raise MarkerTextError(f"the chat template rewrites the text of message {idx}; it cannot be found")
    if text[pos:] != parts[-1]:
        raise MarkerTextError("the chat template renders its own text differently around this row's messages")
    return spans


def _encode(tokenizer: Any, text: str, split: bool) -> tuple[list[int], list[tuple[int, int]]]:
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True, split_special_tokens=split)
    return list(enc["input_ids"]), [tuple(o) for o in enc["offset_mapping"]]


def encode_rendered(
    tokenizer: Any, messages: list[dict[str, str]], text: str, add_generation_prompt: bool = False
) -> Encoded:
    """Encode ``text``, the rendering of ``messages``, with the messages' text as plain text
    (see the module doc). Raises :class:`MarkerTextError` (see :func:`content_spans`)."""
    specials = Specials.of(tokenizer)
    if not any(specials.spelled_in(m["content"]) for m in messages):
        return Encoded(text, *_encode(tokenizer, text, split=False), marker_text=False)
    return Encoded(text, *split_encode(tokenizer, messages, text, add_generation_prompt), marker_text=True)


def split_encode(
    tokenizer: Any, messages: list[dict[str, str]], text: str, add_generation_prompt: bool = False
) -> tuple[list[int], list[tuple[int, int]]]:
    """Steps 2-4 of the module doc: ``(ids, offsets)`` of ``text`` in which only the template's
    markers are special tokens. On a row that spells no marker this gives the ids of a whole
    encoding (it is what the tests compare)."""
    specials = Specials.of(tokenizer)
    frame = skeleton(tokenizer, messages, add_generation_prompt)
    spans = content_spans(text, frame, messages)
    whole_ids, whole_offsets = _encode(tokenizer, text, split=False)
    # The template's markers: special tokens of the whole encoding that touch no message text.
    markers = [
        (i, a, b)
        for i, (a, b) in zip(whole_ids, whole_offsets, strict=True)
        if i in specials.ids and not any(a < e and s < b for s, e in spans)
    ]
    ids: list[int] = []
    offsets: list[tuple[int, int]] = []
    pos = 0
    for i, a, b in [*markers, (None, len(text), len(text))]:
        if a > pos:
            seg_ids, seg_offsets = _encode(tokenizer, text[pos:a], split=True)
            ids += seg_ids
            offsets += [(pos + s, pos + e) for s, e in seg_offsets]
        if i is not None:
            ids.append(i)
            offsets.append((a, b))
            pos = b
    expected = sum(1 for i in _encode(tokenizer, frame, split=False)[0] if i in specials.ids)
    found = sum(1 for i in ids if i in specials.ids)
    if found != expected:
        raise MarkerTextError(
            f"a special token spelled in the text runs into the template's markers ({found} special "
            f"tokens where the template has {expected})"
        )
    return ids, offsets


def encode_chat(
    tokenizer: Any, messages: list[dict[str, str]], add_generation_prompt: bool = False
) -> Encoded:
    """Render ``messages`` with the tokenizer's chat template and encode them (module doc)."""
    return encode_rendered(
        tokenizer, messages, render(tokenizer, messages, add_generation_prompt), add_generation_prompt
    )


def encode_plain(tokenizer: Any, text: str) -> list[int]:
    """Ids of ``text`` that is all content (no template): every special token it spells is
    plain text. The tokenizer's own framing (``add_special_tokens``, e.g. a bos) is added."""
    return list(tokenizer(text, split_special_tokens=True)["input_ids"])
