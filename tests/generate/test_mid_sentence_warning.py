"""Answers that say stop, come without token usage and end mid-word are kept with
meta ``ends_mid_sentence`` (a title or a list item ends on a letter too), and the run says how
many there are in the manifest's warnings (printed after the run, and at the head of the
stage's section of the report) (a newcomer's trial: five truncated
answers went to train.jsonl with nothing said)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from servers.loopback import ScriptedOpenAIServer, started_servers
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate
from tagengo.run.dataset import read_records


class NoUsageServer(ScriptedOpenAIServer):
    """Answers 'cut' prompts mid-word and the others with a full sentence; never sends usage."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        prompt = body["messages"][-1]["content"]
        if "cut" in prompt:
            return "The short answer is that it depends on the details, but here is a cle", "stop"
        return "The short answer is that it depends on the details of your setup.", "stop"

    def usage(self, body: dict[str, Any], content: str) -> dict[str, int]:
        return {}


@pytest.fixture
def no_usage_server() -> Iterator[Callable[..., NoUsageServer]]:
    yield from started_servers(NoUsageServer)


def test_kept_answers_that_end_mid_word_without_usage_are_counted_and_said(no_usage_server, tmp_path) -> None:
    server = no_usage_server()
    src = tmp_path / "in.jsonl"
    prompts = ["Explain caching, cut one.", "Explain queues, cut two.", "Explain threads in full."]
    src.write_text(
        "".join(
            json.dumps({"id": f"p{i}", "language": "en", "prompt": p}) + "\n" for i, p in enumerate(prompts)
        )
    )
    cfg = GenerateConfig(base_url=server.url, model="m", api_key_env=None)
    result = generate(src, tmp_path / "out", cfg)
    rows = {r.id: r for r in read_records(tmp_path / "out")}
    assert set(rows) == {"p0", "p1", "p2"}  # kept: a letter at the end decides nothing alone
    flagged = {i for i, r in rows.items() if r.meta["generation"].get("ends_mid_sentence")}
    assert flagged == {"p0", "p1"}
    (warning,) = [w for w in result.manifest.get("warnings", []) if "mid-word" in w]
    assert warning.startswith("2 kept answers from 'm' said finish_reason=stop without token usage")
