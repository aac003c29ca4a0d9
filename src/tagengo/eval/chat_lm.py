"""An lm-eval model over tagengo's client layer: any OpenAI-compatible server, Azure, or a GGUF
through in-process llama.cpp (the bundled SmolLM2-135M by default), with tagengo's request
cache, retries, limits, accounting and answer contract.

lm-eval hands ``generate_until`` all requests of a task at once; they go to the client as one
``chat_many`` batch, so a server sees ``--llm-concurrency`` calls in flight and a re-run replays
every answer from the cache. With a chat template (always on for these models) lm-eval gives
the conversation as JSON (:meth:`TagengoChatLM.apply_chat_template`), few-shot examples as
earlier turns.

Chat endpoints give no token log-probabilities, so the ``loglikelihood`` tasks (multiple choice
scored by likelihood) stop with one sentence: run them on a local model (``--local-model``);
tagengo's knowledge group asks these models for the letter instead.

Stop sequences are applied here, not sent: a chat model that opens with an empty line would
otherwise stop before its first word. The answer is cut at the first stop sequence after its
leading blank space.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from lm_eval.api.model import LM

from tagengo.errors import ConfigError
from tagengo.llm.answer import answer_problem
from tagengo.llm.types import ChatClient, ChatRequest


class ChatJson(str):
    """A conversation as lm-eval passes it around: JSON text, marked as such."""


def messages_of(context: str) -> list[dict[str, str]]:
    """The messages of one request: the conversation lm-eval built with the chat template, or
    the plain prompt as one user message."""
    if isinstance(context, ChatJson) or context.startswith('[{"role"'):
        try:
            msgs = json.loads(context)
        except ValueError:
            msgs = None
        if isinstance(msgs, list) and all(isinstance(m, dict) and "role" in m for m in msgs):
            return [{"role": m["role"], "content": m.get("content") or ""} for m in msgs]
    return [{"role": "user", "content": context}]


def cut_at_stops(text: str, until: list[str]) -> str:
    """``text`` from its first non-blank character up to the first of ``until`` (lm-eval's
    stop sequences), without trailing blanks."""
    text = text.lstrip()
    cut = len(text)
    for s in until:
        if s:
            i = text.find(s)
            if i != -1:
                cut = min(cut, i)
    return text[:cut].rstrip()


class TagengoChatLM(LM):
    """``generate_until`` through a tagengo ``ChatClient``. ``max_new_tokens`` caps what a task
    asks (its ``max_gen_toks``); ``temperature`` is 0 unless a task samples."""

    def __init__(self, client: ChatClient, *, max_new_tokens: int | None = None, seed: int | None = None):
        super().__init__()
        self.client = client
        self.max_new_tokens = max_new_tokens
        self.seed = seed
        #: Answers the answer contract flagged, by kind (tagengo.llm.answer). They are scored
        #: as they are, as lm-eval scores any model's output (an answer cut at the token
        #: limit is still an answer); a failed call is scored as an empty answer.
        self.problems: Counter[str] = Counter()
        self.calls = 0

    @property
    def tokenizer_name(self) -> str:
        return f"tagengo-chat:{self.client.model_id}"

    def chat_template(self, chat_template: bool | str = False) -> str:
        return "openai-messages"

    def apply_chat_template(
        self, chat_history: list[dict[str, str]], add_generation_prompt: bool = True
    ) -> str:
        return ChatJson(json.dumps(chat_history, ensure_ascii=False))

    def generate_until(self, requests: list[Any], disable_tqdm: bool = False) -> list[str]:
        reqs: list[ChatRequest] = []
        untils: list[list[str]] = []
        for inst in requests:
            context, gen = inst.args[0], dict(inst.args[1] or {})
            until = gen.get("until") or []
            until = [until] if isinstance(until, str) else list(until)
            max_toks = int(gen.get("max_gen_toks") or self.max_new_tokens or 256)
            if self.max_new_tokens:
                max_toks = min(max_toks, self.max_new_tokens)
            temperature = float(gen.get("temperature") or 0.0) if gen.get("do_sample") else 0.0
            reqs.append(
                ChatRequest.from_messages(
                    messages_of(context), temperature=temperature, max_tokens=max_toks, seed=self.seed
                )
            )
            untils.append(until)
        task = requests[0].task_name if requests else ""
        responses = self.client.chat_many(reqs, desc=f"eval {task}".strip())
        self.calls += len(responses)
        out = []
        for resp, req, until in zip(responses, reqs, untils, strict=True):
            problem = answer_problem(resp, req)
            if problem is not None:
                self.problems[problem.kind] += 1
            out.append(cut_at_stops(resp.content or "", until) if resp.ok else "")
        return out

    def loglikelihood(self, requests: list[Any], disable_tqdm: bool = False) -> list[tuple[float, bool]]:
        raise ConfigError(self._no_logprobs(requests))

    def loglikelihood_rolling(self, requests: list[Any], disable_tqdm: bool = False) -> list[float]:
        raise ConfigError(self._no_logprobs(requests))

    def _no_logprobs(self, requests: list[Any]) -> str:
        task = requests[0].task_name if requests else "this task"
        return (
            f"{task} scores answers by token log-probabilities, which {self.client.model_id} (a chat "
            "endpoint or llama.cpp through tagengo's client) does not give: run it on a local model "
            "folder with --local-model, or pick a generative task (tagengo's knowledge group asks "
            "chat models for the letter)."
        )
