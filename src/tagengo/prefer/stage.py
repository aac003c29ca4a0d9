"""`tagengo prefer` as a library call: prompt -> per-language sample -> answers -> ranking ->
pairs, run by the stage runner, then the pairs written in TRL's formats (``pairs.py``).

Locally everything runs in one process: the calls' concurrency comes from the clients (one per
model and one for the judge), and every call goes through the request cache, so a re-run or a
run after a crash pays for no answer or ranking twice. With ``executor="ray"`` the answers and
the judge's rankings are called from ``workers`` Ray Data actors (each with its own clients,
``--concurrency`` calls in flight each; tagengo.llm.mapped) while the sample, the language check,
the parsing and the pairs stay in the driver: the output is the same.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tagengo.errors import ConfigError
from tagengo.io.source import open_source
from tagengo.llm import ChatClient
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.step import AnswerStep, PairStep, PromptStep, RankStep
from tagengo.run.llm_stage import LLMStage
from tagengo.run.pairs import PAIRS_DIR, write_pairs
from tagengo.run.runner import StageResult
from tagengo.run.sampling import CapConfig, PerLanguageCap


def prefer(
    input_path: str | os.PathLike[str],
    out: str | os.PathLike[str],
    config: PreferConfig,
    *,
    input_format: str | None = None,
    answer_clients: dict[str, ChatClient] | None = None,
    judge_client: ChatClient | None = None,
    force: bool = False,
    progress: bool | None = None,
    **run_kw: Any,
) -> StageResult:
    """Preference pairs for the prompts of ``input_path``; writes a dataset folder at ``out``
    (one row per prompt with ``meta.preference``) and ``out/pairs/`` (TRL's formats).

    ``answer_clients`` (model name -> client) and ``judge_client`` replace the clients built
    from ``config`` (tests, or a caller sharing clients); they are left open. Raises
    ``ConfigError`` with fewer than two models, ``BudgetExhausted`` / ``RunAborted`` (resumable)
    when a budget or a server stops the run. ``run_kw``: ``executor="ray"``, ``ray_address``,
    ``workers`` (Ray actors making the calls; ignored locally), see tagengo.run.ray_executor."""
    if len(config.models) < 2:
        raise ConfigError(
            f"tagengo prefer needs two or more answering models (--model SPEC, repeated); got {len(config.models)}."
        )
    source = open_source(input_path, input_format)
    with LLMStage(progress, run_kw) as llm:
        # The steps build their clients in setup() unless given (tagengo.prefer.step); the run
        # closes the ones they built.
        answer = llm.own(AnswerStep(config, clients=answer_clients, progress=llm.progress))
        rank = llm.own(RankStep(config, client=judge_client, progress=llm.progress))
        # Built now (cheap: connections open and weights load on the first call), so that a bad
        # model spec fails before any output is touched and the manifest names every model.
        answer.setup()
        rank.setup()
        steps = [
            PromptStep(),
            PerLanguageCap(CapConfig(max_per_language=config.per_language, seed=config.seed)),
            answer,
            rank,
            PairStep(config),
        ]
        result = llm.run(
            stage="prefer",
            config=config,
            source=source,
            steps=steps,
            out=out,
            force=force,
            extra_manifest=_identities(answer, rank),
        )
    counts_file = result.out / PAIRS_DIR / "pairs.json"
    if result.up_to_date and counts_file.exists():
        result.manifest["pairs"] = json.loads(counts_file.read_text())
        return result
    result.manifest["pairs"] = write_pairs(result.out)
    return result


def _identities(answer: AnswerStep, rank: RankStep) -> dict[str, Any]:
    # Model identities (endpoint included): two local servers both serving "default" differ here.
    assert rank.client is not None
    return {
        "llm": {
            "answer_models": {n: c.model_id for n, c in answer.clients.items()},
            "judge_model": rank.client.model_id,
        }
    }
