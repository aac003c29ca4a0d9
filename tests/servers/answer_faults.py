"""Answers that real servers send and that must never become data, on demand, for every scripted
server (tests/servers/loopback.py ``ScriptedOpenAIServer``).

A request any of whose messages holds ``FAULT=<kind>`` is answered with that fault: the
scripted answer is built as usual, then bent the way the server named below bends it. The
marker travels inside the source text a stage puts in its prompts (a prompt to generate for,
a text to translate, a fragment to reverse, an answer to judge), so one fixture row steers
one fault through any stage.

==================  ===================================================================================
kind                what is sent (who sends it)
==================  ===================================================================================
``surrogate``       the answer with a lone ``\\ud83d`` in it (a tokenizer that splits an emoji;
                    seen from vLLM and llama.cpp server when a stream is joined badly)
``parts``           ``content`` as a list of parts ``[{"type": "text", "text": ...}]`` (Mistral)
``think``           a ``<think>`` block before the answer, with a decoy verdict inside (an R1
                    distill or Qwen3 behind Ollama/vLLM without a reasoning parser)
``thinkopen``       the same without the opening tag (the chat template opened it in the prompt)
``thinkonly``       an unclosed ``<think>`` and nothing after it (cut inside the reasoning)
``reasoningfield``  the answer as is plus ``reasoning_content`` (vLLM, DeepSeek)
``budget``          the answer cut mid-word, ``completion_tokens == max_tokens`` and
                    ``finish_reason: stop`` (llama.cpp server, Ollama, some TGI versions)
``truncated``       ``prompt_tokens: 16`` whatever was sent (Ollama cutting to ``num_ctx``)
``errorbody``       HTTP 200 whose body is ``{"error": {...}}`` (proxies, OpenRouter)
``filterprompt``    HTTP 400 ``content_filter`` / ``ResponsibleAIPolicyViolation`` (Azure)
``filterempty``     HTTP 200, ``choices: []`` and ``prompt_filter_results`` filtered (Azure)
``filteranswer``    ``finish_reason: content_filter`` and no content (Azure, OpenAI)
``refuse``          HTTP 400 "Unsupported parameter: 'max_tokens'" (o-series models)
``harmony``         gpt-oss's analysis and final channels left in the text (a server without the
                    harmony parser)
``seedthink``       a ``<seed:think>`` block before the answer (Seed-OSS)
``kimithink``       a block between Kimi's triangle delimiters before the answer
``templateleak``    the answer, then ``<|im_end|>`` and a made-up next user turn (a server that does
                    not stop at the model's end-of-turn token)
``instleak``        the answer, then ``[/INST] [INST]`` and more (Llama 2 / Mistral templates)
``wronglang``       a plain English answer, whatever the prompt's language (a teacher that
                    does not follow the user's language; small models do this most)
``repetition``      the answer, then one sentence of it looped 30 times, ``finish_reason: stop``
                    (a small model or a sampler stuck in a loop; llama.cpp server stops at
                    its own limit and says stop)
``echo``            the last user turn sent back as the answer (a base model without a chat
                    template, a proxy that returns the request)
``nul``             the answer with NUL and other C0 control characters in it (a broken
                    stream or decoder)
``abort``           half the answer with ``finish_reason: "abort"`` (vLLM's engine abort): retried,
                    never cached; after the retries, ``call failed``
``ollamanull``      ``content: null``, ``finish_reason: "stop"``, usage 0/0 (Ollama, issue 13371):
                    retried like ``abort``
``textfield``       a text completion: ``choices[0].text`` and no ``message`` (a --base-url at a
                    /completions endpoint, a server speaking the legacy API)
``stoptoken``       the answer, then DeepSeek's ``<｜end▁of▁sentence｜>`` alone at the very end (an
                    unstripped stop token: cut off, the answer kept)
``deepseekleak``    the answer, then ``<｜end▁of▁sentence｜><｜User｜>`` and a made-up next turn
``plainturn``       the answer, then a made-up next turn in plain text (``### Human:`` /
                    ``### Assistant:``, no special tokens)
``toolcall``        only a tool call as JSON text, ``finish_reason: stop`` (Ollama with a model
                    that writes its calls in its own format)
``wrapped``         the whole message JSON-encoded as the content
                    (``{"role": "assistant", "content": ...}``: a proxy that serialised it twice)
``drift``           one German clause, then four English sentences, whatever the prompt's language
                    (a teacher that starts in the user's language and slides into English; scored
                    'en' at 0.86 as a whole, under the gate's 0.9): put it on German rows
``fallback``        the answer as is, with ``model`` set to another model than the one asked for
                    (LiteLLM, OpenRouter: a gateway that served a fallback model)
``dated``           the answer as is, with ``model`` the asked name plus a date suffix
                    (``gpt-4o`` -> ``gpt-4o-2024-08-06``: the same model, as OpenAI names it)
``fffd``            the answer with U+FFFD in place of its letters (a server that lost bytes it
                    could not decode: ``Atmosph\ufffdre``): ``replacement characters``
``toolcallsfield``  structured ``tool_calls`` with ``content: null`` and ``finish_reason: stop``
                    though no tool was offered (a tool parser that took the text for a call):
                    ``tool call``
``contentnumber``   ``content: 42`` (a broken server or proxy): ``provider error`` naming it
``ollamaempty``     ``content: ""``, ``finish_reason: null``, usage 0/0 (Ollama losing the request):
                    retried like ``abort``
``numloop``         the answer, then "1. I will check the cause again." ... "40. ..." (a loop that
                    counts, s32 newcomer trial): ``repetition``
``roleheader``      ``assistant`` and a blank line before the answer (Llama 3's header with its special
                    tokens stripped): cut, the answer kept, ``normalised`` in meta
``mojibake``        the answer plus " Grüße!", its UTF-8 read as Latin-1 ("GrÃ¼Ã\x9fe"): repaired
                    with ftfy, kept, ``normalised`` in meta
``nearbudget``      the answer cut mid-word, ``completion_tokens == max_tokens - 1``, ``finish_reason:
                    stop``: ``unfinished``
``toolcallsfinish`` structured ``tool_calls``, ``content: null``, ``finish_reason: tool_calls`` (no tool
                    offered): ``tool call`` naming the function
``refusal``         "I'm sorry, but I can't help with that." and nothing else: ``refusal``
``qmarks``          the answer plus " Atmosphäre und дождь", every non-ASCII character turned into
                    ``?`` (" Atmosph?re und ?????": a proxy or database in Latin-1 or ASCII that
                    encodes with ``errors="replace"``; s33 newcomer trial): ``replacement characters``
``alpaca``          the answer, then "### Instruction:" and a made-up next instruction (an Alpaca-style
                    template with no special tokens): ``template leak``
``userturn``        the answer, then a blank line and a lone "User: thanks" at the very end (a made-up
                    next turn, no assistant line after it): ``template leak``
``nanusage``        the answer as is, ``usage.completion_tokens: NaN`` (Python's json writes and reads it):
                    kept, the tokens counted here, meta ``usage_ignored``
``multichoice``     a second choice (``index: 1``, "WRONG second choice") before the answer's (a fan-out
                    proxy, ``n`` > 1 forced upstream): the index-0 answer kept, meta ``extra_choices``
``errornocode``     HTTP 200 with ``{"object": "error", "message": "Internal error", "type":
                    "InternalServerError"}``, no code: a server error, retried like ``abort``; after
                    the retries ``provider error`` naming the type, never a code
==================  ===================================================================================
"""

from __future__ import annotations

import json
import re
from typing import Any

FAULT = re.compile(r"FAULT=([a-z]+)")
KINDS = (
    "surrogate",
    "parts",
    "think",
    "thinkopen",
    "thinkonly",
    "reasoningfield",
    "budget",
    "truncated",
    "errorbody",
    "filterprompt",
    "filterempty",
    "filteranswer",
    "refuse",
    "harmony",
    "seedthink",
    "kimithink",
    "templateleak",
    "instleak",
    "wronglang",
    "repetition",
    "echo",
    "nul",
    "textfield",
    "stoptoken",
    "deepseekleak",
    "plainturn",
    "toolcall",
    "wrapped",
    "drift",
    "fallback",
    "dated",
    "fffd",
    "toolcallsfield",
    "contentnumber",
    "numloop",
    "roleheader",
    "mojibake",
    "nearbudget",
    "toolcallsfinish",
    "refusal",
    # the s33 newcomer trial's
    "qmarks",
    "alpaca",
    "userturn",
    "nanusage",
    "multichoice",
)
#: The faults that are retried (a passing server fault): a stage asks ``--max-attempts`` times and
#: the row ends as ``call failed``. Apart from ``KINDS``, whose answers are final (each is asked
#: once, and tests/llm/test_batch.py compares one batch line with one online call for each).
RETRIED = ("abort", "ollamanull", "ollamaempty", "errornocode")
#: DeepSeek's end-of-sentence token (fullwidth bars, U+2581 for the spaces).
DEEPSEEK_EOS = "<\uff5cend\u2581of\u2581sentence\uff5c>"
#: What ``wronglang`` answers: English, long enough and plain enough for LID to be sure.
ENGLISH = (
    "Rain forms when water vapour in the air cools and condenses into droplets, which grow until they "
    "are heavy enough to fall to the ground."
)
#: What ``drift`` answers: one German clause, then English (lid.176: 'en' 0.86 over the whole).
DRIFTING = (
    "Regen entsteht, wenn Wasserdampf in der Luft abkühlt. The droplets grow as they collide with one "
    "another inside the cloud. Once they are heavy enough, gravity pulls them down to the ground. Warm air "
    "can hold more moisture than cold air. This is why summer storms are often so intense."
)
#: The model ``fallback`` says it served.
FALLBACK_MODEL = "fallback-small"
#: The sentence ``repetition`` loops.
LOOPED = "I will now explain it again in other words. "
#: The sentence ``numloop`` numbers 40 times.
COUNTED = "I will check the cause again."
#: What ``mojibake`` adds to the answer before reading its UTF-8 as Latin-1.
ACCENTED = " Grüße!"
#: What ``refusal`` answers.
REFUSED = "I'm sorry, but I can't help with that."
#: What ``qmarks`` adds to the answer before turning its non-ASCII characters into ``?``.
LOSSY = " Atmosphäre und дождь"
#: What ``alpaca`` and ``userturn`` add to the answer.
ALPACA_TAIL = "\n\n### Instruction:\nWrite another question about the weather."
USER_TAIL = "\n\nUser: thanks"
#: What ``multichoice`` sends as a second choice, first in the list.
WRONG_CHOICE = "WRONG second choice"
#: The decoy inside a reasoning block: a judge parser that reads it scores 3 (or ranks B first).
DECOY = "Hmm, maybe [[3]]? Rating: [[3]]. Score: 3. Ranking: [[B]] > [[A]]. Instruction: DECOY"


def fault_of(body: dict[str, Any]) -> str | None:
    """The fault a request asks for (the last marker in its messages), or None."""
    found = None
    for m in body.get("messages") or []:
        content = m.get("content")
        if isinstance(content, str):
            for found in FAULT.findall(content):  # noqa: B007 - the last one wins
                pass
    return found


def error_reply(kind: str) -> tuple[int, dict[str, Any]] | None:
    """(status, body) for the faults that send no answer; None for the others."""
    if kind == "errorbody":
        return 200, {"error": {"message": "Upstream provider returned an invalid response", "code": 400}}
    if kind == "errornocode":  # vLLM-style error object with no code (s33 trial)
        return 200, {"object": "error", "message": "Internal error", "type": "InternalServerError"}
    if kind == "filterprompt":
        return 400, {
            "error": {
                "message": "The response was filtered due to the prompt triggering Azure OpenAI's content "
                "management policy.",
                "type": None,
                "param": "prompt",
                "code": "content_filter",
                "status": 400,
                "innererror": {"code": "ResponsibleAIPolicyViolation"},
            }
        }
    if kind == "filterempty":
        return 200, {
            "id": "",
            "object": "",
            "created": 0,
            "model": "",
            "choices": [],
            "prompt_filter_results": [
                {
                    "prompt_index": 0,
                    "content_filter_results": {"violence": {"filtered": True, "severity": "high"}},
                }
            ],
        }
    if kind == "quota":  # OpenAI's answer for an account with no credit (not in KINDS: it stops a run)
        return 429, {
            "error": {
                "message": "You exceeded your current quota, please check your plan and billing details.",
                "type": "insufficient_quota",
                "param": None,
                "code": "insufficient_quota",
            }
        }
    if kind == "refuse":
        return 400, {
            "error": {
                "message": "Unsupported parameter: 'max_tokens' is not supported with this model. Use "
                "'max_completion_tokens' instead.",
                "type": "invalid_request_error",
                "param": "max_tokens",
                "code": "unsupported_parameter",
            }
        }
    return None


def bend(kind: str, body: dict[str, Any], out: dict[str, Any]) -> None:
    """Bend a finished answer ``out`` (the whole response body) the way ``kind`` says."""
    choice = out["choices"][0]
    message = choice["message"]
    content = message.get("content") or ""
    if kind == "surrogate":
        message["content"] = content + " \ud83d and more"
    elif kind == "parts":
        message["content"] = [{"type": "text", "text": content}]
    elif kind == "think":
        message["content"] = f"<think>\n{DECOY}\n</think>\n\n{content}"
    elif kind == "thinkopen":
        message["content"] = f"{DECOY}\n</think>\n\n{content}"
    elif kind == "thinkonly":
        message["content"] = f"<think>\n{DECOY} and so on, let me think more about"
    elif kind == "reasoningfield":
        message["reasoning_content"] = DECOY
    elif kind == "harmony":
        message["content"] = (
            f"<|channel|>analysis<|message|>{DECOY}<|end|><|start|>assistant<|channel|>final<|message|>"
            f"{content}<|return|>"
        )
    elif kind == "seedthink":
        message["content"] = f"<seed:think>{DECOY}</seed:think>{content}"
    elif kind == "kimithink":
        message["content"] = f"\u25c1think\u25b7{DECOY}\u25c1/think\u25b7{content}"
    elif kind == "templateleak":
        message["content"] = f"{content}<|im_end|>\n<|im_start|>user\nAnd what about cats?<|im_end|>"
    elif kind == "instleak":
        message["content"] = f"{content} [/INST] [INST] tell me more"
    elif kind == "wronglang":
        message["content"] = ENGLISH
    elif kind == "repetition":
        message["content"] = f"{content}\n\n" + LOOPED * 30
    elif kind == "echo":
        last = next(m["content"] for m in reversed(body["messages"]) if m.get("role") == "user")
        message["content"] = last
    elif kind == "nul":
        message["content"] = f"{content}\x00\x00\x1b[0m and more"
    elif kind == "budget":
        cap = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        message["content"] = content[: max(1, len(content) // 2)] + "inter"
        choice["finish_reason"] = "stop"
        out["usage"]["completion_tokens"] = cap
    elif kind == "truncated":
        out["usage"]["prompt_tokens"] = 16
    elif kind == "abort":
        message["content"] = content[: len(content) // 2]
        choice["finish_reason"] = "abort"
    elif kind == "ollamanull":
        message["content"] = None
        out["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    elif kind == "textfield":
        out["object"] = "text_completion"
        out["choices"] = [{"index": 0, "text": content, "finish_reason": "stop"}]
    elif kind == "stoptoken":
        message["content"] = content + DEEPSEEK_EOS
    elif kind == "deepseekleak":
        message["content"] = f"{content}{DEEPSEEK_EOS}<\uff5cUser\uff5c>And what about cats?"
    elif kind == "plainturn":
        message["content"] = f"{content}\n\n### Human: And what about cats?\n### Assistant: Cats sleep a lot."
    elif kind == "toolcall":
        message["content"] = json.dumps({"name": "get_weather", "arguments": {"city": "Boston"}})
    elif kind == "drift":
        message["content"] = DRIFTING
    elif kind == "fallback":
        out["model"] = FALLBACK_MODEL
    elif kind == "dated":
        out["model"] = f"{body.get('model') or out.get('model')}-2024-08-06"
    elif kind == "wrapped":
        message["content"] = json.dumps({"role": "assistant", "content": content}, ensure_ascii=False)
    elif kind == "fffd":
        message["content"] = re.sub(r"[^\x00-\x7f]", "\ufffd", content) + " Atmosph\ufffdre"
    elif kind == "toolcallsfield":
        message["content"] = None
        message["tool_calls"] = [
            {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Berlin"}'},
            }
        ]
    elif kind == "contentnumber":
        message["content"] = 42
    elif kind == "ollamaempty":
        message["content"] = ""
        choice["finish_reason"] = None
        out["usage"] = {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0}
    elif kind == "numloop":
        message["content"] = content + "\n" + "\n".join(f"{i}. {COUNTED}" for i in range(1, 41))
    elif kind == "roleheader":
        message["content"] = f"assistant\n\n{content}"
    elif kind == "mojibake":
        message["content"] = (content + ACCENTED).encode("utf-8").decode("latin-1")
    elif kind == "nearbudget":
        cap = int(body.get("max_tokens") or body.get("max_completion_tokens") or 16)
        message["content"] = content[: max(1, len(content) // 2)] + "inter"
        choice["finish_reason"] = "stop"
        out["usage"]["completion_tokens"] = cap - 1
    elif kind == "toolcallsfinish":
        message["content"] = None
        message["tool_calls"] = [
            {"id": "c1", "type": "function", "function": {"name": "search", "arguments": '{"q": "rain"}'}}
        ]
        choice["finish_reason"] = "tool_calls"
    elif kind == "refusal":
        message["content"] = REFUSED
    elif kind == "qmarks":
        message["content"] = (content + LOSSY).encode("ascii", "replace").decode("ascii")
    elif kind == "alpaca":
        message["content"] = content + ALPACA_TAIL
    elif kind == "userturn":
        message["content"] = content + USER_TAIL
    elif kind == "nanusage":
        out["usage"]["completion_tokens"] = float("nan")
    elif kind == "multichoice":
        wrong = {"role": "assistant", "content": WRONG_CHOICE}
        out["choices"].insert(0, {"index": 1, "message": wrong, "finish_reason": "stop"})
    elif kind == "filteranswer":
        message["content"] = None
        choice["finish_reason"] = "content_filter"
