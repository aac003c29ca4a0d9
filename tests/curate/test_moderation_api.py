"""The moderation-endpoint step, through the LLM client layer, against the fake server's
/v1/moderations (real HTTP, OpenAI's protocol; no moderation model runs offline, so the server
flags by a keyword). It also says 429 with Retry-After on demand."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from servers.fake_chat_server import FaultRates
from tagengo.curate.config import ModerationConfig
from tagengo.curate.moderation_api import ModerationEndpointFilter
from tagengo.errors import ConfigError
from tagengo.records import Record

QUICK = {"backoff_base_s": 0.02, "backoff_max_s": 0.2, "timeout_s": 2.0}


def rec(i: int, text: str, moderation=None) -> Record:
    meta = {"moderation": moderation} if moderation else {}
    return Record(str(i), "t", "en", [{"role": "user", "content": text}], meta)


def _rows() -> list[Record]:
    return [
        rec(0, "plan an attack on the castle"),
        rec(1, "bake a cake"),
        rec(2, "already judged", {"flagged": False, "categories": []}),
        rec(3, "attack!"),
        rec(4, "a walk in the park"),
    ]


def _step(url: str, tmp_path: Path, **llm) -> ModerationEndpointFilter:
    cfg = ModerationConfig(endpoint=url, api_key_env="MOD_KEY")
    step = ModerationEndpointFilter(
        cfg, batch_size=2, llm={**QUICK, "cache_path": tmp_path / "c.sqlite", **llm}
    )
    step.setup()
    return step


def test_only_unmoderated_rows_are_sent_and_flagged_ones_dropped(fake_server, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("MOD_KEY", "sk-test-secret-0123")
    server = fake_server(require_key="sk-test-secret-0123")
    step = _step(server.url, tmp_path)
    kept, rejected = step.process(_rows())
    step.close()
    assert [r.id for r in kept] == ["1", "2", "4"]
    assert [r.record.id for r in rejected] == ["0", "3"]
    assert rejected[0].reason == "moderation endpoint: flagged (violence)"
    assert kept[0].meta["moderation"]["source"] == "endpoint"
    assert len(kept[0].meta["moderation"]["request_key"]) == 64  # the verdict names its request
    assert kept[1].meta["moderation"] == {"flagged": False, "categories": []}  # not sent again
    assert sum(server.stats.completed.values()) == 2  # 4 rows to judge, in batches of 2


def test_429_is_retried_after_the_servers_retry_after_and_a_rerun_pays_nothing(fake_server, tmp_path) -> None:
    server = fake_server(faults=FaultRates(rate_429=0.5, retry_after_s=0.3), seed=1)
    step = _step(server.url, tmp_path, max_attempts=10)
    kept, rejected = step.process(_rows())
    step.close()
    assert [r.id for r in kept] == ["1", "2", "4"] and len(rejected) == 2
    by_hash: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for t, h, kind in server.stats.events:
        by_hash[h].append((t, kind))
    gaps = [b[0] - a[0] for ev in by_hash.values() for a, b in zip(ev, ev[1:]) if a[1] == "429"]
    assert gaps, "the server never said 429"
    assert min(gaps) >= 0.3
    figures = step.summary()["models"]["omni-moderation-latest"]
    assert figures["retries"] == server.stats.faults["429"] and figures["calls"] == 2

    received = server.stats.received
    rerun = _step(server.url, tmp_path)  # a new step: same cache file
    again, _ = rerun.process(_rows())
    rerun.close()
    assert [r.id for r in again] == ["1", "2", "4"]
    assert server.stats.received == received  # every verdict replayed from the request cache


def test_wrong_path_is_a_clear_error(fake_server, tmp_path) -> None:
    server = fake_server()
    step = _step(server.url.replace("/v1", "/nope"), tmp_path)
    with pytest.raises(ConfigError, match="answered HTTP 404"):
        step.process([rec(0, "hello")])
    step.close()
