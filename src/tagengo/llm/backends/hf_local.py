"""Answering with a local transformers model folder (a fine-tuned checkpoint, say), in process.

It speaks the ``ChatClient`` protocol so ``answer_bench`` does not care where answers come
from. It is for the answering side only: one conversation at a time with the model's own
chat template, greedy at temperature 0 (as FastChat does below 1e-4) and sampling otherwise,
seeded per request (``request_seed``: each turn and each sample draws its own stream).
Answers go under the run's name for a model ``tagengo train`` saved (``out/sft/model`` ->
``sft``). There is no request cache here: a local model costs nothing per call,
and the answer file itself is the resume point (questions already answered are skipped).
A LoRA adapter folder (``adapter_config.json``, as ``tagengo train --adapter lora`` writes) loads
as its base model plus the adapter (PEFT); the base is a local folder or a ``.gguf`` file.
Needs the ``train`` extra (torch, transformers, peft).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from tagengo.errors import ConfigError
from tagengo.io.progress_lines import live_terminal
from tagengo.llm.types import ChatRequest, ChatResponse


def local_model_name(path: str | Path) -> str:
    """The name a local model's answers go under (``model_answer/<name>.jsonl``).

    ``tagengo train`` saves every model as ``OUT/model``, so the folder's own name would file
    every trained model's answers under ``model`` and each run would overwrite the last one's.
    A folder named ``model`` takes the name of the folder above it, the train run's
    (``out/sft/model`` -> ``sft``); ``--model-id`` overrides it."""
    p = Path(path).resolve()
    if p.name == "model" and p.parent.name:
        return p.parent.name
    return p.name


def request_seed(req: ChatRequest) -> int:
    """The sampling seed of one request: derived from everything that makes the request (its
    messages, so turn 2 differs from turn 1; its ``sample`` index, so a second sample or run
    differs from the first; the ``seed`` asked for), so no two turns or samples share a random
    stream, and the same request draws the same answer again."""
    import hashlib

    digest = hashlib.blake2b(req.canonical("").encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def _clean_cut(text: str) -> str:
    """An answer cut at the token limit can end inside a multi-byte character, which decodes to
    U+FFFD: drop such a tail (the character was never whole)."""
    return text.rstrip("\ufffd").rstrip() if text.endswith("\ufffd") else text


class TransformersChatClient:
    def __init__(self, path: str | Path, *, device: str | None = None, progress: bool = False) -> None:
        self.path = Path(path)
        self.adapter = (self.path / "adapter_config.json").exists()
        if not (self.path / "config.json").exists() and not self.adapter:
            raise ConfigError(
                f"{self.path}: not a transformers model folder (no config.json) nor a LoRA adapter "
                "(no adapter_config.json); give --local-model DIR"
            )
        self.model_name = local_model_name(self.path)
        self.model_id = f"transformers:{self.path.resolve()}"
        self.device = device
        self.progress = progress
        self._model: Any = None
        self._tok: Any = None

    def _load(self) -> None:
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise ConfigError(
                "--local-model needs torch and transformers: pip install 'tagengo[train]'"
            ) from e
        self._torch = torch
        self._tok = AutoTokenizer.from_pretrained(self.path)
        if getattr(self._tok, "chat_template", None) is None:
            raise ConfigError(f"{self.path}: the tokenizer has no chat template; MT-Bench answers need one")
        device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        if self.adapter:
            self._model = self._load_adapter().to(device)
        else:
            self._model = AutoModelForCausalLM.from_pretrained(self.path).to(device)
        self._model.eval()
        self.device = device

    def _load_adapter(self) -> Any:
        import json

        try:
            from peft import PeftModel
        except ImportError as e:
            raise ConfigError("a LoRA adapter folder needs peft: pip install 'tagengo[train]'") from e
        base = Path(
            json.loads((self.path / "adapter_config.json").read_text()).get("base_model_name_or_path") or ""
        )
        if (base.is_file() and base.suffix == ".gguf") or (base / "config.json").exists():
            from tagengo.llm.backends.hf_model import causal_lm_from_path

            model = causal_lm_from_path(base)
        else:
            raise ConfigError(
                f"{self.path / 'adapter_config.json'}: base_model_name_or_path {str(base)!r} is not a local "
                "model folder or .gguf file; set it to the base model's local path"
            )
        if len(self._tok) > model.get_input_embeddings().weight.shape[0]:
            model.resize_token_embeddings(len(self._tok))
        return PeftModel.from_pretrained(model, self.path)

    def _one(self, req: ChatRequest) -> ChatResponse:
        torch = self._torch
        start = time.monotonic()
        ids = self._tok.apply_chat_template(
            req.message_dicts(), add_generation_prompt=True, return_tensors="pt"
        )
        if not hasattr(ids, "shape"):  # newer tokenizers return a BatchEncoding
            ids = ids["input_ids"]
        ids = ids.to(self.device)
        sample = req.temperature >= 1e-4
        kw: dict[str, Any] = {"max_new_tokens": req.max_tokens, "do_sample": sample}
        if sample:
            kw["temperature"] = req.temperature
            if req.top_p is not None:
                kw["top_p"] = req.top_p
            torch.manual_seed(request_seed(req))
        pad = self._tok.pad_token_id if self._tok.pad_token_id is not None else self._tok.eos_token_id
        with torch.inference_mode():
            out = self._model.generate(ids, attention_mask=torch.ones_like(ids), pad_token_id=pad, **kw)
        new = out[0][ids.shape[1] :]
        text = self._tok.decode(new, skip_special_tokens=True).strip()
        n_new = int(new.shape[0])
        eos = self._tok.eos_token_id
        stopped = n_new > 0 and eos is not None and int(new[-1]) == eos
        finish = "stop" if stopped or n_new < req.max_tokens else "length"
        if finish == "length":
            text = _clean_cut(text)
        return ChatResponse(
            content=text,
            finish_reason=finish,
            model=self.model_name,
            input_tokens=int(ids.shape[1]),
            output_tokens=n_new,
            latency_s=time.monotonic() - start,
        )

    def chat_many(self, requests: list[ChatRequest], *, desc: str = "") -> list[ChatResponse]:
        if self._model is None:
            self._load()
        out: list[ChatResponse] = []
        if self.progress and not live_terminal():
            from tagengo.io.progress_lines import LineProgress

            line = LineProgress(desc or "answering", len(requests))
            try:
                for r in requests:
                    out.append(self._safe(r))
                    line.advance()
            finally:
                line.close()
            return out
        if self.progress:
            from rich.progress import Progress

            with Progress(transient=True) as bar:
                task = bar.add_task(desc or "answering", total=len(requests))
                for r in requests:
                    out.append(self._safe(r))
                    bar.advance(task)
            return out
        return [self._safe(r) for r in requests]

    def _safe(self, req: ChatRequest) -> ChatResponse:
        try:
            return self._one(req)
        except (RuntimeError, ValueError) as e:  # e.g. out of memory, sequence too long
            return ChatResponse(
                content=None, finish_reason=None, model=self.model_name, error=f"transformers: {e}"
            )

    def close(self) -> None:
        self._model = None
        self._tok = None
