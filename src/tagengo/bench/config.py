"""Typed configs of ``tagengo bench answer | judge | show``. Every default shows in ``--help``
(through ``tagengo.run.options``) and in the run report under ``<bench>/tagengo/``.

The models being answered and the judge are both ``LLMConfig``s of the one client layer, so
every backend (OpenAI-compatible HTTP, Azure, in-process llama.cpp) and the request cache,
retries, concurrency and cost accounting work the same here as in generation.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from tagengo.bench.policy import ROBUST_REASK, JudgePolicy, PolicyName
from tagengo.bench.prompts import DEFAULT_WORDING, LanguageWording
from tagengo.errors import ConfigError
from tagengo.lang.gate import GateConfig
from tagengo.llm.config import LLMConfig, check_backend, infer_backend, local_llm

#: MT-Bench's sampling temperature per category (FastChat's temperature_config).
MT_BENCH_TEMPERATURES: dict[str, float] = {
    "writing": 0.7,
    "roleplay": 0.7,
    "extraction": 0.0,
    "math": 0.0,
    "coding": 0.0,
    "reasoning": 0.0,
    "stem": 0.1,
    "humanities": 0.1,
}


def model_names(names: list[str]) -> list[str]:
    """A ``--models`` list as given, checked: every name non-blank (stripped) and named once
    (a model judged or shown twice would count its verdicts twice). Raises ``ValueError``."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            raise ValueError("a model name is empty")
        if name in out:
            raise ValueError(f"the model {name!r} is named twice")
        out.append(name)
    return out


class AnswerConfig(BaseModel):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"first_n": "limit", "max_new_tokens": "max_tokens"}
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    llm: LLMConfig = Field(default_factory=local_llm, description="The model that answers.")
    model_id: str | None = Field(
        None,
        description="Name written into the answers and used as the file name model_answer/<model_id>.jsonl "
        "(default: the model's name as the backend reports it).",
    )
    local_model: Path | None = Field(
        None,
        description="A local transformers model folder to answer with instead of --llm-backend "
        "(needs the train extra: torch and transformers).",
    )
    max_tokens: int = Field(1024, ge=1, description="Most tokens per answer turn (MT-Bench: 1024).")
    temperatures: dict[str, float] = Field(
        default_factory=lambda: dict(MT_BENCH_TEMPERATURES),
        description="Sampling temperature per category (MT-Bench's table).",
    )
    default_temperature: float = Field(0.7, ge=0, description="Temperature of categories not in the table.")
    num_choices: int = Field(1, ge=1, description="Answers per question (FastChat's --num-choices).")
    seed: int | None = Field(None, description="Sampling seed; choice i uses seed + i.")
    system_prompt: str | None = Field(None, description="A system message sent before the first turn.")
    limit: int | None = Field(None, ge=1, description="Answer only the first N questions (a quick check).")
    redo: bool = Field(
        False,
        description="Answer again questions the answer file already has, as a new sample: the requests "
        "carry the next sample index, so the request cache does not replay the old answer.",
    )
    runs: int = Field(
        1,
        ge=1,
        description="Answer everything this many times as independent samples (sample index r-1 in the "
        "request key); run r > 1 writes model_answer/<model_id>.runR.jsonl, which `judge --runs` judges "
        "in its run r.",
    )

    @field_validator("llm", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    @model_validator(mode="after")
    def _check(self) -> AnswerConfig:
        check_backend(self.llm, "llm")
        return self

    def temperature(self, category: str) -> float:
        return self.temperatures.get(category, self.default_temperature)


JudgeMode = Literal["single", "pairwise-all", "pairwise-baseline"]

#: The fields of a model config that say which model it is; run settings (--judge-concurrency,
#: --judge-cache-path ...) alone name none.
_MODEL_FIELDS = ("backend", "model", "base_url", "model_path", "azure_deployment")


def names_a_model(value: object) -> bool:
    """Whether a model config as given (flags, YAML, Python) says which model: an ``LLMConfig``,
    or a mapping with a backend, model, server, GGUF file or Azure deployment."""
    if isinstance(value, LLMConfig):
        return True
    return isinstance(value, dict) and any(value.get(k) is not None for k in _MODEL_FIELDS)


#: What `bench judge` says when no judge was named (docs/bench.md).
NO_JUDGE = (
    "bench judge needs a judge: name one with --judge-model (an API model such as gpt-4o, or a model "
    "behind --judge-base-url), or give --judge-backend llamacpp for the bundled SmolLM2-135M, which "
    "checks the plumbing only (its verdicts are unreadable, every score -1)"
)


def check_api_key(llm: LLMConfig, prefix: str) -> None:
    """Stop before the first call when ``llm`` goes to OpenAI's own API (the openai backend
    without a base URL, or with OpenAI's) and its key variable is unset: the API refuses every
    call without a key, and where it cannot be reached the client would first retry for
    half a minute. ``prefix`` is the config's flag prefix (``judge`` for ``--judge-*``).
    Raises ``ConfigError`` naming the variable."""
    if llm.needs_missing_key():
        env = llm.key_env()
        raise ConfigError(
            f"--{prefix}-model {llm.model} is served by OpenAI's API, which needs a key: set ${env} "
            f"(or name the variable that holds it with --{prefix}-api-key-env, or give --{prefix}-base-url "
            "for a server that needs none)"
        )


class JudgeConfig(BaseModel):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {
        "first_n": "limit",
        "temperature": "judge_temperature",
        "max_tokens": "judge_max_tokens",
    }
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    mode: JudgeMode = Field(
        "single",
        description="single: grade each answer 1-10; pairwise-all: every pair of models; "
        "pairwise-baseline: every model against --baseline-model. Pairs are judged in both orders.",
    )
    judge: LLMConfig = Field(default_factory=local_llm, description="The judge model.")
    judge_name: str | None = Field(
        None,
        description="The judge's name in judgment files (<judge_name>_single.jsonl, the 'judge' field). "
        "Default: the judge model's name.",
    )
    models: list[str] = Field(
        default_factory=list, description="Models to judge (default: every model with an answer file)."
    )
    baseline_model: str | None = Field(None, description="The baseline of pairwise-baseline mode.")
    prompts: Path | None = Field(
        None,
        description="A judge_prompts.jsonl (FastChat's, a translated one...). Default: the one beside the "
        "questions if the bench has one, else tagengo's own prompts.",
    )
    prompt_names: dict[str, str] = Field(
        default_factory=dict,
        description="Role -> prompt name, where a prompts file has several prompts for one role.",
    )
    language_check: bool = Field(
        True,
        description="Add the language-fidelity sentence (answer in the question's language, fluent and "
        "natural) to prompts that carry one (tagengo's own do; FastChat's do not).",
    )
    language_wording: LanguageWording = Field(
        DEFAULT_WORDING,
        description="Wording of the language sentence (prompts that carry one). strict: a reply not in the "
        "question's language, or not fluent and natural in it, has failed whatever its content (grade it low; "
        "it loses a pair). consider: weigh the language and its fluency and naturalness as one more factor "
        "(the sense of the Tagengo fork's prompts). Recorded in every judgment row (language_wording) and "
        "the run manifest.",
    )
    gate: GateConfig = Field(default_factory=GateConfig, description="The language gate.")
    judge_policy: PolicyName = Field(
        "fastchat",
        description="fastchat: FastChat's rules exactly (one call per verdict; the first [[n]], else [n], is "
        "the grade whatever its value; no number: -1). robust: ask again (--reask) when no verdict can be "
        "read or a grade lies outside 1-10, and record -1 for a grade still outside 1-10. Recorded in "
        "every judgment row and the run manifest.",
    )
    reask: int | None = Field(
        None,
        ge=0,
        description=f"Robust policy only: follow-up calls per unreadable or out-of-range verdict "
        f"(default {ROBUST_REASK}). The fastchat policy makes none.",
    )
    constrain_verdict: bool = Field(
        False,
        description="Force the judge's reply to be only the verdict ([[1]]..[[10]], or [[A]]/[[B]]/[[C]]) "
        "with a grammar: for small llama.cpp judges (in-process or server) that cannot keep the format",
    )
    judge_temperature: float = Field(0.0, ge=0, description="Judge sampling temperature (MT-Bench: 0).")
    judge_max_tokens: int = Field(2048, ge=1, description="Most tokens per judge reply (MT-Bench: 2048).")
    runs: int = Field(
        1,
        ge=1,
        description="Judge everything this many times as independent samples (sample index r-1 in the "
        "request key; run r > 1 also sends seed r and writes <judge>_single.runR.jsonl, judging the answers "
        "of answer run r where there are some), for medians and intervals in `show`.",
    )
    reference_model: str | None = Field(
        None,
        description="Use reference_answer/<name>.jsonl (default: the judge's, else gpt-4's, else the "
        "questions' inline references).",
    )
    limit: int | None = Field(None, ge=1, description="Judge only the first N questions.")
    rejudge: bool = Field(
        False,
        description="Judge again verdicts the judgment file already has, even when their request key "
        "matches (the request cache still replays finished calls; new samples come from --runs).",
    )
    chunk_size: int = Field(
        512, ge=1, description="Judgments written to disk after every this many matches (resume points)."
    )

    #: Whether the judge was named (see :attr:`judge_named`).
    _judge_named: bool = PrivateAttr(False)

    @model_validator(mode="wrap")
    @classmethod
    def _remember_judge(cls, data: Any, handler: Any) -> JudgeConfig:
        named = names_a_model(data.get("judge")) if isinstance(data, dict) else None
        cfg = handler(data)
        if named is not None:
            cfg._judge_named = named
        return cfg

    @property
    def judge_named(self) -> bool:
        """Whether the config says which model judges (``--judge-model``, ``--judge-backend``,
        a server, a GGUF file, an Azure deployment; flags, YAML or Python), rather than falling
        back to the default, the bundled 135M model that cannot judge. `bench judge` requires it."""
        return self._judge_named

    @field_validator("judge", mode="before")
    @classmethod
    def _pick_backend(cls, v: object) -> object:
        return infer_backend(v)

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        return model_names(v)

    @model_validator(mode="after")
    def _check(self) -> JudgeConfig:
        if self.mode == "pairwise-baseline" and not self.baseline_model:
            raise ValueError("mode pairwise-baseline needs --baseline-model")
        if self.judge_policy == "fastchat" and self.reask:
            raise ValueError("--reask belongs to the robust policy: add --judge-policy robust")
        check_backend(self.judge, "judge")
        return self

    def policy(self) -> JudgePolicy:
        """The judge policy with its effective re-ask count."""
        if self.judge_policy == "fastchat":
            return JudgePolicy("fastchat", 0)
        return JudgePolicy("robust", ROBUST_REASK if self.reask is None else self.reask)


class ShowConfig(BaseModel):
    #: Old names, accepted with a note until the next release (tagengo.run.options, docs/options.md).
    RENAMED: ClassVar[dict[str, str]] = {"judge_name": "judge_model", "bootstrap": "bootstrap_iters"}
    model_config = ConfigDict(extra="forbid", protected_namespaces=())

    judge_model: str | None = Field(
        None,
        description="The judge whose verdicts to show: read <judge>_single.jsonl / _pair.jsonl, as "
        "`bench judge --judge-model` (or its --judge-name) wrote them (default: the only judge found).",
    )
    mode: Literal["single", "pairwise"] = Field("single", description="Which judgments to show.")
    runs: int | None = Field(
        None,
        ge=1,
        description="Use runs 1..N (<judge>_single.jsonl, .run2 ...). Default: every run file found. "
        "Several runs give the median of the run averages and a bootstrap interval.",
    )
    duplicates: Literal["refuse", "fastchat"] = Field(
        "refuse",
        description="A file with two verdicts for one (question, model, turn, judge): refuse (stop, name "
        "the file; re-running `tagengo bench judge` replaces them), or fastchat (average them all, as "
        "FastChat's show_result does, and say so).",
    )
    baseline_model: str | None = Field(
        None,
        description="The baseline: pairwise.md counts only games against it, and arena.md's win rates are "
        "against it (default for arena.md: the model_2 every pair judgment shares, as pairwise-baseline writes).",
    )
    models: list[str] = Field(default_factory=list, description="Show only these models (default: all).")
    bootstrap_iters: int = Field(
        1000, ge=0, description="Bootstrap resamples for the 95% intervals (0: none)."
    )
    seed: int = Field(0, description="Seed of the bootstrap.")
    human: Path | None = Field(
        None,
        description="Human ratings to measure agreement with, and between annotators where a match has "
        "several: a CSV of votes or scores, or FastChat's human judgments (.json or .jsonl); see docs/bench.md.",
    )
    plots: bool = Field(True, description="Draw the radar charts and the heatmap (PNG).")

    @field_validator("models")
    @classmethod
    def _models(cls, v: list[str]) -> list[str]:
        return model_names(v)
