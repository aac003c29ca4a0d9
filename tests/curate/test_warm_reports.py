"""curate imports what its reports need (matplotlib, pandas) while the workers filter, not after
them (issue 27), and never in a thread that a fork could catch mid-import."""

from __future__ import annotations

import json
import multiprocessing as mp
import threading
from pathlib import Path

import tagengo.curate.stage as stage
import tagengo.run.warm as warm


def test_the_warm_up_starts_once_the_pool_has_forked_its_workers(tmp_path: Path, monkeypatch) -> None:
    seen: list[tuple[int, bool]] = []

    def record() -> None:
        seen.append((len(mp.active_children()), threading.current_thread() is threading.main_thread()))

    monkeypatch.setattr(stage, "warm_reports", record)
    cfg = stage.preset_config("default", langid={"second_opinion": "none"})
    before = len(mp.active_children())  # what earlier tests in this process left running
    stage.curate(None, tmp_path / "out", cfg, workers=2, progress=False)
    # Once, from the pool's feeding thread, with both workers already forked.
    assert seen == [(before + 2, False)]


def test_no_warm_up_thread_outlives_the_call(tmp_path: Path) -> None:
    # Nothing kept: no chart to draw, so nothing at the end waited for the warm-up on its own.
    src = tmp_path / "one.jsonl"
    row = {
        "conversation_id": "a",
        "model": "m",
        "conversation": [{"role": "user", "content": "hello there"}],
        "turn": 1,
        "language": "unknown",
        "openai_moderation": [{"categories": {}, "category_scores": {}, "flagged": False}],
        "redacted": False,
    }
    src.write_text(json.dumps(row) + "\n")
    result = stage.curate(src, tmp_path / "out", stage.preset_config("default"), workers=1, progress=False)
    assert result.manifest["counts"]["kept"] == 0
    thread = warm._thread
    assert thread is not None  # started by this call or an earlier one in this process
    assert not thread.is_alive()
