"""`tagengo extend` end to end against the scripted server (real HTTP, OpenAI's protocol): turns
grow in the conversation's language and alternate; drifts, echoes, empty follow-ups and cut-off
answers are rejected with their reason and turn; re-runs replay from the cache; the output goes
through mix and export unchanged; the fault-injecting server's transient faults are retried."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from folder_checks import assert_complete_folder
from servers.scripted_extend import ANSWERS, FOLLOW_UPS, QUESTIONS, answer_text, conversation, prompt
from tagengo.extend.config import ExtendConfig
from tagengo.extend.prompts import TASK_IDS
from tagengo.extend.stage import extend


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def _cfg(server, tmp_path: Path, **kw) -> ExtendConfig:
    base = {
        "model": "teacher",
        "base_url": server.url,
        "timeout_s": 10.0,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "concurrency": 8,
        "cache_path": tmp_path / "cache.sqlite",
    }
    return ExtendConfig(**{**base, **kw})


def _grown(lang: str, item: int, turns: int, *controls: str) -> list[dict[str, str]]:
    """The conversation the scripted server makes of the row ``conversation(.., lang, item, *controls)``."""
    msgs = [
        {"role": "user", "content": prompt(lang, item, *controls)},
        {"role": "assistant", "content": ANSWERS[lang]},
    ]
    for k in range(turns - 1):
        msgs += [
            {"role": "user", "content": FOLLOW_UPS[lang][k]},
            {"role": "assistant", "content": answer_text(lang, k + 2)},
        ]
    return msgs


def test_every_conversation_grows_to_the_asked_turns_in_its_own_language(extend_server, write_rows, tmp_path):
    server = extend_server()
    langs = sorted(QUESTIONS)
    rows = [conversation(f"c-{lang}", lang, i) for i, lang in enumerate(langs)]
    src = write_rows(rows)
    res = extend(src, tmp_path / "out", _cfg(server, tmp_path, turns=3), progress=False)
    assert_complete_folder(res.out, kept=5, rejected=0, quarantined=0)
    kept = {r["id"]: r for r in _rows(tmp_path / "out" / "data")}
    for i, lang in enumerate(langs):
        row = kept[f"c-{lang}"]
        # Exact turns, in order: a swapped role, a lost turn or an answer in the wrong place fails.
        assert row["messages"] == _grown(lang, i, 3), lang
        assert row["language"] == lang
        meta = json.loads(row["meta"])["extend"]
        assert meta["turns"] == 3 and meta["language"] == lang and meta["language_from"] == "label"
        added = meta["added"]
        assert [(a["turn"], a["role"]) for a in added] == [
            (2, "user"),
            (2, "assistant"),
            (3, "user"),
            (3, "assistant"),
        ]
        assert all(a["lid"] == lang and a["lid_score"] >= 0.5 for a in added)
        assert {a["task_type"] for a in added if a["role"] == "user"} <= set(TASK_IDS)
        assert all(a["call"]["finish_reason"] == "stop" and len(a["call"]["key"]) == 64 for a in added)
    # 2 × (turns − 1) calls per conversation, and the writer was asked in each conversation's language.
    assert server.received == 5 * 4
    summary = res.manifest["steps"][0]["summary"]
    assert summary["follow_ups"] == 10 and summary["answers"] == 10
    assert sum(summary["task_types"].values()) == 10 and summary["kept_turns"] == {"3": 5}
    assert res.manifest["llm"]["writer_model_id"] == res.manifest["llm"]["model_id"]


def test_a_final_user_turn_is_answered_first_and_long_conversations_are_left_alone(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    long = conversation("long", "de", 1)
    long["messages"] += [
        {"role": "user", "content": FOLLOW_UPS["de"][0]},
        {"role": "assistant", "content": ANSWERS["de"]},
    ]
    rows = [
        conversation("open", "fr", 0, answered=False),
        long,
        {"id": "sys", "language": "es", "messages": [{"role": "system", "content": "Sé breve."}, *conversation("x", "es", 2)["messages"]]},
        {"id": "bad", "language": "de", "messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}]},
    ]  # fmt: skip
    res = extend(write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=2), progress=False)
    assert_complete_folder(res.out, kept=3, rejected=0, quarantined=1)
    kept = {r["id"]: r for r in _rows(tmp_path / "out" / "data")}
    assert kept["open"]["messages"] == _grown("fr", 0, 2)
    assert [a["turn"] for a in json.loads(kept["open"]["meta"])["extend"]["added"]] == [1, 2, 2]
    assert kept["long"]["messages"] == long["messages"]
    assert json.loads(kept["long"]["meta"])["extend"]["added"] == []
    assert kept["sys"]["messages"] == [{"role": "system", "content": "Sé breve."}, *_grown("es", 2, 2)]
    # Two user turns in a row: the reader quarantines the row, naming the field (io/shape.py).
    (bad,) = _rows(tmp_path / "out" / "quarantine")
    assert (bad["line"], bad["field"]) == (4, "messages[1].role")
    assert bad["reason"].startswith("two user turns in a row (messages[0] and messages[1])")
    assert server.received == 3 + 2  # open: answer, follow-up, answer; sys: follow-up, answer


def test_drifts_echoes_empty_follow_ups_and_cut_answers_are_rejected_with_turn_and_reason(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    rows = [
        conversation("drift2", "de", 0, "DRIFT2"),
        conversation("drift3", "fr", 1, "DRIFT3"),
        conversation("answerdrift", "es", 2, "ANSWERDRIFT"),
        conversation("echo", "de", 3, "ECHO"),
        conversation("empty", "ja", 4, "EMPTYFU"),
        conversation("cut", "en", 5, "CUTOFF"),
        conversation("labelled", "de", 6, "LABELLED"),
        conversation("fine", "ja", 7),
    ]
    res = extend(write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=3), progress=False)
    assert_complete_folder(res.out, kept=2, rejected=6, quarantined=0)
    rej = {r["id"]: r for r in _rows(tmp_path / "out" / "rejected")}
    assert all(r["stage"] == "extend" and r["step"] == "extend" for r in rej.values())

    def failed(row_id: str) -> dict:
        return json.loads(rej[row_id]["meta"])["extend"]["failed"]

    assert rej["drift2"]["reason"].startswith("language drift at turn 2 (follow-up): language ID says en (p=")
    assert rej["drift2"]["reason"].endswith("), the conversation is de")
    assert failed("drift2") | {"prob": None} == {
        "phase": "follow-up", "turn": 2, "message": 2, "text": FOLLOW_UPS["en"][0], "detected": "en", "prob": None,
    }  # fmt: skip
    # The turns that passed stay: a drift at turn 3 keeps turns 1 and 2.
    assert rej["drift3"]["reason"].startswith("language drift at turn 3 (follow-up): language ID says en")
    assert rej["drift3"]["messages"] == _grown("fr", 1, 2, "DRIFT3")
    assert failed("drift3")["turn"] == 3 and failed("drift3")["message"] == 4
    assert rej["answerdrift"]["reason"].startswith("language drift at turn 2 (answer): language ID says en")
    assert rej["answerdrift"]["reason"].endswith("the conversation is es")
    assert rej["answerdrift"]["messages"][-1] == {"role": "user", "content": FOLLOW_UPS["es"][0]}
    assert rej["echo"]["reason"] == "echo follow-up at turn 2: repeats user turn 1 (similarity 1.00)"
    assert rej["empty"]["reason"] == "empty follow-up at turn 2"
    assert rej["cut"]["reason"] == "unfinished answer at turn 2: finish_reason=length"
    cut = json.loads(rej["cut"]["meta"])["extend"]
    assert cut["added"][-1]["partial"] == answer_text("en", 2)[: len(answer_text("en", 2)) // 2].strip()
    assert len(rej["cut"]["messages"]) == 3

    kept = {r["id"]: r for r in _rows(tmp_path / "out" / "data")}
    assert kept["labelled"]["messages"][2]["content"] == FOLLOW_UPS["de"][0]  # label and quotes removed
    assert kept["fine"]["messages"] == _grown("ja", 7, 3)
    summary = res.manifest["steps"][0]["summary"]
    assert summary["drift"] == {"follow-up": 2, "answer": 1}
    assert summary["rejected"] == {
        "language drift": 3, "echo follow-up": 1, "empty follow-up": 1, "unfinished answer": 1,
    }  # fmt: skip


def test_the_language_checked_is_the_rows_label_or_lid_of_its_first_turn(extend_server, write_rows, tmp_path):
    server = extend_server()
    mislabelled = conversation("mislabelled", "de", 0)
    # A German conversation labelled French: the writer is asked for French (and writes it), the
    # teacher answers the German chat in German, which the check calls a drift from French.
    mislabelled["language"] = "fr"
    unlabelled = conversation("unlabelled", "ja", 1)
    unlabelled["language"] = None
    res = extend(
        write_rows([mislabelled, unlabelled]),
        tmp_path / "out",
        _cfg(server, tmp_path, turns=2),
        progress=False,
    )
    assert_complete_folder(res.out, kept=1, rejected=1, quarantined=0)
    (rej,) = _rows(tmp_path / "out" / "rejected")
    assert rej["id"] == "mislabelled"
    assert rej["reason"].startswith("language drift at turn 2 (answer): language ID says de")
    assert rej["reason"].endswith("the conversation is fr")
    assert rej["messages"][-1] == {"role": "user", "content": FOLLOW_UPS["fr"][0]}
    (kept,) = _rows(tmp_path / "out" / "data")
    meta = json.loads(kept["meta"])["extend"]
    assert (meta["language"], meta["language_from"]) == ("ja", "lid")
    assert kept["language"] == "ja"
    assert kept["messages"] == _grown("ja", 1, 2)
    # Without the check, the mislabelled conversation is kept.
    off = extend(
        write_rows([mislabelled], "one.jsonl"), tmp_path / "off", _cfg(server, tmp_path, turns=2, check_language=False),
        progress=False,
    )  # fmt: skip
    assert off.manifest["counts"]["kept"] == 1


def test_a_rerun_replays_every_call_from_the_cache_and_is_the_same_dataset(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    src = write_rows([conversation(f"r{i}", lang, i) for i, lang in enumerate(["de", "fr", "ja", "es"] * 3)])
    cfg = _cfg(server, tmp_path, turns=3)
    first = extend(src, tmp_path / "out", cfg, progress=False)
    paid = server.received
    assert paid == 12 * 4 and all(n == 1 for n in server.completed.values())
    again = extend(src, tmp_path / "out", cfg, progress=False)
    assert again.up_to_date and server.received == paid
    forced = extend(src, tmp_path / "out2", cfg.model_copy(update={"concurrency": 2}), progress=False)
    assert server.received == paid  # every follow-up and answer replayed: the conversations grow the same

    def stable(rows: list[dict]) -> list[dict]:
        out = []
        for r in rows:
            meta = json.loads(r["meta"])
            for a in meta["extend"]["added"]:
                a["call"].pop("cached"), a["call"].pop("attempts")
            out.append({**r, "meta": meta})
        return out

    assert stable(_rows(first.out / "data")) == stable(_rows(forced.out / "data"))
    added = [a for r in _rows(forced.out / "data") for a in json.loads(r["meta"])["extend"]["added"]]
    assert added and all(a["call"]["cached"] for a in added)


def test_a_separate_writer_model_writes_the_follow_ups(extend_server, write_rows, tmp_path):
    server = extend_server()
    src = write_rows([conversation(f"w{i}", "de", i) for i in range(3)])
    res = extend(
        src, tmp_path / "out", _cfg(server, tmp_path, turns=3, writer_model="writer"), progress=False
    )
    assert res.manifest["counts"]["kept"] == 3
    assert server.models == {"writer": 6, "teacher": 6}
    llm = res.manifest["llm"]
    assert llm["writer_model_id"].startswith("openai:writer@") and llm["model_id"].startswith(
        "openai:teacher@"
    )
    models = res.manifest["steps"][0]["summary"]["models"]
    assert models["writer"]["calls"] == 6 and models["teacher"]["calls"] == 6


def test_the_output_goes_through_mix_and_export_with_every_turn(extend_server, write_rows, tmp_path):
    from tagengo.mix.config import ExportConfig, MixConfig
    from tagengo.mix.export import export
    from tagengo.mix.stage import mix

    server = extend_server()
    langs = ["de", "fr", "ja", "es", "en"]
    src = write_rows([conversation(f"m{i}", lang, i) for i, lang in enumerate(langs)])
    ext = extend(src, tmp_path / "ext", _cfg(server, tmp_path, turns=3), progress=False)
    grown = {r["id"]: r["messages"] for r in _rows(ext.out / "data")}
    assert len(grown) == 5
    mixed = mix(ext.out, tmp_path / "mix", MixConfig(recipe="multilingual"), progress=False)
    assert mixed.manifest["counts"]["kept"] == 5
    speaker = {"human": "user", "gpt": "assistant", "system": "system"}
    for fmt in ("sharegpt", "messages"):
        res = export(mixed.out, tmp_path / f"export-{fmt}", ExportConfig(output_format=fmt), progress=False)
        assert res.manifest["counts"]["exported"] == 5 and res.manifest["counts"]["skipped"] == 0
        lines = [json.loads(line) for line in (res.out / "train.jsonl").read_text().splitlines()]
        assert len(lines) == 5
        for line in lines:
            if fmt == "sharegpt":
                turns = [{"role": speaker[t["from"]], "content": t["value"]} for t in line["conversations"]]
            else:
                turns = line["messages"]
            assert turns == grown[line["id"]] and len(turns) == 6


def test_a_run_where_every_conversation_is_rejected_writes_a_complete_folder(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    src = write_rows([conversation(f"e{i}", "de", i, "ECHO") for i in range(4)])
    res = extend(src, tmp_path / "out", _cfg(server, tmp_path), progress=False)
    assert_complete_folder(res.out, kept=0, rejected=4, quarantined=0)
    funnel = (res.out / "funnel.md").read_text()
    assert "extend" in funnel


def test_transient_faults_of_a_real_http_server_are_retried_and_nothing_is_paid_twice(
    fake_server, write_rows, tmp_path
):
    from servers.fake_chat_server import FaultRates

    # The fault-injecting OpenAI-compatible server answers in English ("Answer …: you said …"),
    # quoting the request's last user turn; 429/500/503/dropped connections are retried by the
    # client. Each conversation starts with its question alone: the teacher answers it, then the
    # writer's follow-up quotes the writer's own prompt ("The chat so far: ===== ..."), which the
    # leak check rejects. Both kinds of call went through the faults, each paid once.
    server = fake_server(
        faults=FaultRates(rate_429=0.1, rate_500=0.1, rate_503=0.05, rate_drop=0.05, retry_after_s=0.01)
    )
    rows = [
        {"id": f"f{i}", "language": "en", "messages": [
            {"role": "user", "content": f"Question number {i}: how should I water a basil plant in summer?"},
        ]}
        for i in range(10)
    ]  # fmt: skip
    cfg = ExtendConfig(
        model="teacher", base_url=server.url, timeout_s=2.0, max_attempts=12, backoff_base_s=0.01,
        backoff_max_s=0.05, concurrency=4, cache_path=tmp_path / "c.sqlite", turns=2, max_tokens=200,
    )  # fmt: skip
    res = extend(write_rows(rows), tmp_path / "out", cfg, progress=False)
    assert_complete_folder(res.out, kept=0, rejected=10, quarantined=0)
    assert server.stats.faults  # faults happened, and were retried away
    assert all(n == 1 for n in server.stats.completed.values())
    assert sum(server.stats.completed.values()) == 10 * 2
    for row in _rows(res.out / "rejected"):
        assert row["reason"] == "prompt leak at turn 2 (follow-up): the writer's transcript markup '====='"
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"]
        assert row["messages"][1]["content"].startswith("Answer ")  # the fake server's answer


@pytest.mark.parametrize("turns", [2, 4])
def test_calls_per_conversation_are_two_per_added_turn(extend_server, write_rows, tmp_path, turns):
    server = extend_server()
    src = write_rows([conversation(f"n{i}", "fr", i) for i in range(6)])
    res = extend(src, tmp_path / "out", _cfg(server, tmp_path, turns=turns), progress=False)
    assert res.manifest["counts"]["kept"] == 6
    assert server.received == 6 * 2 * (turns - 1)
    for row in _rows(res.out / "data"):
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"] * turns


@pytest.mark.llm
def test_a_real_openai_compatible_server_extends_conversations_and_a_rerun_replays_them(write_rows, tmp_path):
    from servers.llama_cpp_server import llama_server

    rows = [
        {"id": "bsearch", "language": "en", "messages": [
            {"role": "user", "content": "What's the time complexity of binary search and why?"},
            {"role": "assistant", "content": "O(log n): each comparison halves the part of the sorted array "
             "that can still hold the target, so about log2 n steps remain after the first."},
        ]},
    ]  # fmt: skip
    src = write_rows(rows)
    with llama_server(tmp_path) as url:
        cfg = ExtendConfig(
            model="smollm2", base_url=url, turns=2, max_tokens=128, writer_max_tokens=96, writer_temperature=0,
            system_prompt="Answer briefly, in two or three sentences.", sampling_extra={"repeat_penalty": 1.3},
            cache_path=tmp_path / "c.sqlite", concurrency=2, timeout_s=300,
        )  # fmt: skip
        res = extend(src, tmp_path / "out", cfg, progress=False)
        again = extend(src, tmp_path / "again", cfg, progress=False)
    counts = res.manifest["counts"]
    assert counts["read"] == 1 and counts["kept"] + counts["rejected"] == 1
    assert res.manifest["llm"]["model_id"] == f"openai:smollm2@{url}"
    (row,) = _rows(res.out / "data") or _rows(res.out / "rejected")
    added = json.loads(row["meta"])["extend"]["added"]
    assert added and added[0]["role"] == "user" and added[0]["call"]["model"] == "smollm2"
    assert all(
        a["call"]["finish_reason"] in ("stop", "length") and a["call"]["output_tokens"] > 0 for a in added
    )
    if counts["kept"]:
        assert [m["role"] for m in row["messages"]] == ["user", "assistant"] * 2
    # The second run asked the server nothing: the same conversation, from the cache.
    (row2,) = _rows(again.out / "data") or _rows(again.out / "rejected")
    assert row2["messages"] == row["messages"]
    assert all(a["call"]["cached"] for a in json.loads(row2["meta"])["extend"]["added"])


def test_off_a_terminal_progress_comes_as_lines_per_interval_and_phase(
    extend_server, write_rows, tmp_path, capsys, log_progress
):
    from progress_checks import assert_progress_lines

    # 60 conversations to 2 turns: 60 follow-ups then 60 answers, 4 calls at a time, each at least
    # 20 ms: each phase lasts at least 0.3 s, past the 0.1 s interval.
    log_progress(0.1)
    server = extend_server(latency_s=0.02)
    rows = [conversation(f"c{i}", "de", i) for i in range(60)]
    res = extend(write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=2, concurrency=4))
    assert res.manifest["counts"]["kept"] == 60
    err = capsys.readouterr().err
    assert_progress_lines(err, "extend: follow-ups", 60)
    assert_progress_lines(err, "extend: answers", 60)


def test_repeated_answers_and_follow_ups_that_leak_the_writers_prompt_are_rejected(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    rows = [
        conversation("repeat", "de", 0, "REPEAT"),
        conversation("nearrepeat", "fr", 1, "NEARREPEAT"),
        conversation("nearrepeat-ja", "ja", 2, "NEARREPEAT"),
        conversation("leakrole", "es", 3, "LEAKROLE"),
        conversation("leakrole-labelled", "de", 4, "LEAKROLE", "LABELLED"),
        conversation("leakspan", "en", 5, "LEAKSPAN"),
        conversation("fine", "fr", 6),
    ]
    res = extend(write_rows(rows), tmp_path / "out", _cfg(server, tmp_path, turns=3), progress=False)
    assert_complete_folder(res.out, kept=1, rejected=6, quarantined=0)
    rej = {r["id"]: r for r in _rows(tmp_path / "out" / "rejected")}
    # Same text in other case and spacing: similarity 1; the turns that passed stay.
    assert (
        rej["repeat"]["reason"] == "repeated answer at turn 2: repeats the answer of turn 1 (similarity 1.00)"
    )
    assert rej["repeat"]["messages"] == _grown("de", 0, 1, "REPEAT") + [
        {"role": "user", "content": FOLLOW_UPS["de"][0]}
    ]
    for row_id in ("nearrepeat", "nearrepeat-ja"):  # the answer before with two words more
        reason = rej[row_id]["reason"]
        assert reason.startswith("repeated answer at turn 2: repeats the answer of turn 1 (similarity 0."), (
            reason
        )
        meta = json.loads(rej[row_id]["meta"])["extend"]
        assert meta["failed"]["phase"] == "answer"
        assert 0.8 <= meta["added"][-1]["repeat_of"]["similarity"] < 1
    for row_id in ("leakrole", "leakrole-labelled"):
        assert (
            rej[row_id]["reason"]
            == "prompt leak at turn 2 (follow-up): the writer's transcript markup 'Assistant:'"
        )
        assert json.loads(rej[row_id]["meta"])["extend"]["failed"]["phase"] == "follow-up"
    assert rej["leakspan"]["reason"] == (
        "prompt leak at turn 2 (follow-up): the writer's instructions word for word "
        "('reply with the message only without ...')"
    )
    (kept,) = _rows(tmp_path / "out" / "data")
    assert kept["messages"] == _grown("fr", 6, 3)
    assert res.manifest["steps"][0]["summary"]["rejected"] == {"repeated answer": 3, "prompt leak": 3}


def test_unlabelled_conversations_get_the_language_lid_finds_or_are_rejected(
    extend_server, write_rows, tmp_path
):
    server = extend_server()
    langs = sorted(QUESTIONS)
    rows = [{**conversation(f"u-{lang}", lang, i), "language": None} for i, lang in enumerate(langs)]
    rows += [
        {**conversation("u-drift", "de", 10, "DRIFT2"), "language": None},
        {"id": "u-digits", "messages": [{"role": "user", "content": "1234 5678 ITEM11"}, {"role": "assistant", "content": "?"}]},
        {"id": "u-blank", "messages": [{"role": "user", "content": " \u200b "}, {"role": "assistant", "content": "?"}]},
    ]  # fmt: skip
    src = write_rows(rows)
    res = extend(src, tmp_path / "out", _cfg(server, tmp_path, turns=2), progress=False)
    assert_complete_folder(res.out, kept=5, rejected=3, quarantined=0)
    kept = {r["id"]: r for r in _rows(tmp_path / "out" / "data")}
    for i, lang in enumerate(langs):
        row = kept[f"u-{lang}"]
        assert row["language"] == lang  # the output is labelled, as curate labels what it identifies
        meta = json.loads(row["meta"])["extend"]
        assert (meta["language"], meta["language_from"]) == (lang, "lid") and meta["language_score"] >= 0.5
        assert row["messages"] == _grown(lang, i, 2)  # the writer was asked for that language
    rej = {r["id"]: r for r in _rows(tmp_path / "out" / "rejected")}
    # The language found is what the new turns are checked against.
    assert rej["u-drift"]["reason"].startswith("language drift at turn 2 (follow-up): language ID says en")
    assert rej["u-drift"]["reason"].endswith("the conversation is de") and rej["u-drift"]["language"] == "de"
    assert rej["u-digits"]["reason"].startswith(
        "unknown language: no label, and language ID is not sure: en (p=0."
    )
    assert (
        rej["u-digits"]["reason"].endswith(") < --min-lid-score 0.5") and rej["u-digits"]["language"] is None
    )
    assert rej["u-blank"]["reason"] == "unknown language: no label, and no text in the user turns to identify"
    assert server.received == 2 * 5 + 1  # u-drift: its follow-up only; nothing for unknown languages
    assert res.manifest["steps"][0]["summary"]["unknown_language"] == 2

    # Without the language check they are kept, unlabelled (the writer is asked for "the original language").
    off = extend(src, tmp_path / "off", _cfg(server, tmp_path, turns=2, check_language=False), progress=False)
    assert off.manifest["counts"]["kept"] == 8
    off_rows = {r["id"]: r for r in _rows(tmp_path / "off" / "data")}
    assert off_rows["u-digits"]["language"] is None and off_rows["u-de"]["language"] == "de"


def _digests(folder: Path) -> dict[str, str]:
    import hashlib

    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for sub in ("data", "rejected", "quarantine")
        for p in sorted((folder / sub).glob("*.parquet"))
    }


@pytest.mark.slow  # starts a local Ray instance
def test_ray_executor_writes_the_same_folder(extend_server, write_rows, tmp_path):
    """``executor="ray"`` with 2 actors and chunks of 2 conversations writes the bytes the local
    run writes: grown turns, rejections (drift, echo, repeat, leak, unknown language) and the
    language lid.176 gave an unlabelled row. Each run has its own request cache, so the actors
    really call."""
    server = extend_server()
    rows = [conversation(f"c{i}", lang, i) for i, lang in enumerate(["de", "fr", "ja", "es"])]
    rows += [
        conversation("drift", "de", 4, "DRIFT3"),
        conversation("echo", "fr", 5, "ECHO"),
        conversation("repeat", "es", 6, "REPEAT"),
        conversation("leak", "ja", 7, "LEAKROLE"),
        {**conversation("unlabelled", "fr", 8), "language": None},
        {"id": "unknown", "messages": [{"role": "user", "content": "1234 5678"}, {"role": "assistant", "content": "?"}]},
    ]  # fmt: skip
    src = write_rows(rows)

    def run(executor: str) -> dict:
        cfg = _cfg(server, tmp_path, turns=3, cache_path=tmp_path / f"{executor}.sqlite")
        kw = {"executor": "ray", "workers": 2} if executor == "ray" else {}
        return extend(src, tmp_path / executor, cfg, chunk_rows=2, progress=False, **kw).manifest

    local = run("local")
    paid = server.answers
    ray = run("ray")
    assert server.answers == 2 * paid  # every call again, from the actors
    assert ray["executor"] == "ray" and ray["workers"] == 2
    assert ray["counts"] == local["counts"] and local["counts"]["rejected"] == 5
    assert _digests(tmp_path / "ray") == _digests(tmp_path / "local")
    assert ray["steps"][0]["summary"]["rejected"] == local["steps"][0]["summary"]["rejected"]
