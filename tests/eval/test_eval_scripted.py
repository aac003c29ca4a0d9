"""`tagengo eval` end to end against a scripted OpenAI-compatible server whose every answer the
test knows, so every number of the table is asserted exactly (lm-eval computes them; sacrebleu
and our ROUGE-L recompute them here)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sacrebleu

from servers.scripted_eval import ScriptedEvalServer
from tagengo.errors import ConfigError, InputError
from tagengo.eval.config import EvalConfig
from tagengo.eval.metrics import rougeL
from tagengo.eval.stage import run_eval

DATA = Path(__file__).parent / "fixtures" / "data"
NAMES = {"de": "German", "fr": "French", "ja": "Japanese"}


def _rows(kind: str, lang: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (DATA / kind / f"{lang}.jsonl").read_text().splitlines()]


def _script() -> dict[str, str]:
    """Right answers for the first item of every task, wrong ones for the second."""
    s: dict[str, str] = {}
    for lang in ("de", "fr", "ja"):
        sm = _rows("summarization", lang)
        s[sm[0]["text"]] = "\n" + sm[0]["summary"] + "\n\nThat is all."  # leading blank, then a stop
        s[sm[1]["text"]] = "zzz"
        tr = _rows("translation", lang)
        into = f"into {NAMES[lang]}. Answer with the translation only.\n\nEnglish: "
        s[into + tr[0]["en"]] = tr[0][lang]
        s[into + tr[1]["en"]] = "qqq"
        s[tr[0][lang]] = tr[0]["en"]
        s[tr[1][lang]] = "The weather."
        kn = _rows("knowledge", lang)
        right = kn[0]["answer"]
        s[kn[0]["question"]] = f"答えは{right}です。" if lang == "ja" else f"The answer is {right}."
        s[kn[1]["question"]] = "D"
    return s


@pytest.fixture
def server() -> Iterator[ScriptedEvalServer]:
    s = ScriptedEvalServer(_script()).start()
    yield s
    s.stop()


def _cfg(server: ScriptedEvalServer, tmp_path: Path, **kw: Any) -> EvalConfig:
    llm = {
        "backend": "openai",
        "model": "scripted",
        "base_url": server.url,
        "timeout_s": 10.0,
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "cache_path": tmp_path / "cache.sqlite",
    }
    return EvalConfig.model_validate({"data": DATA, "llm": llm, **kw})


def _value(rows: list[dict[str, Any]], task: str, lang: str, metric: str) -> float:
    (row,) = [r for r in rows if r["task"] == task and r["language"] == lang and r["metric"] == metric]
    return row["value"]


def test_every_number_of_the_table_is_the_one_the_answers_earn(
    server: ScriptedEvalServer, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    res = run_eval(_cfg(server, tmp_path), out, say=lambda _: None)
    rows = res.rows
    for lang in ("de", "fr", "ja"):
        sm = _rows("summarization", lang)
        # item 1: the reference itself (after a leading blank line, cut at the blank line) -> 100;
        # item 2: "zzz" shares no token with the reference -> 0
        assert _value(rows, "summarization", lang, "rougeL") == pytest.approx(50.0)
        assert rougeL([sm[1]["summary"]], ["zzz"]) == 0.0
        tr = _rows("translation", lang)
        refs = [tr[0][lang], tr[1][lang]]
        tok = "char" if lang == "ja" else "13a"
        want_bleu = sacrebleu.corpus_bleu([tr[0][lang], "qqq"], [refs], tokenize=tok).score
        want_chrf = sacrebleu.corpus_chrf([tr[0][lang], "qqq"], [refs]).score
        assert _value(rows, "translation en→xx", lang, "bleu") == pytest.approx(want_bleu)
        assert _value(rows, "translation en→xx", lang, "chrf") == pytest.approx(want_chrf)
        back = sacrebleu.corpus_chrf([tr[0]["en"], "The weather."], [[tr[0]["en"], tr[1]["en"]]]).score
        assert _value(rows, "translation xx→en", lang, "chrf") == pytest.approx(back)
        # "The answer is B." / "答えはBです。" -> B (right); "D" (wrong): chat models answer with the letter
        assert _value(rows, "knowledge", lang, "acc") == pytest.approx(0.5)
    assert {r["model"] for r in rows} == {"scripted"}
    assert res.manifest["knowledge_mode"] == "generate"
    # 3 languages x (summarization + 2 directions + knowledge) x 2 items, each asked once
    assert server.received == 3 * 4 * 2

    # every request is a chat conversation, greedy, without stop sequences sent
    body = server.requests[0]
    assert body["temperature"] == 0.0 and "stop" not in body
    assert body["messages"][-1]["role"] == "user"


def test_the_folder_holds_manifest_samples_tasks_and_the_table(
    server: ScriptedEvalServer, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    run_eval(_cfg(server, tmp_path, languages=["de", "ja"], limit=1), out, say=lambda _: None)
    m = json.loads((out / "manifest.json").read_text())
    assert m["stage"] == "eval" and m["lm_eval_version"] and m["versions"]["lm-eval"] == m["lm_eval_version"]
    assert m["limit"] == 1 and m["num_fewshot"] == 0
    names = [t["name"] for t in m["tasks"]]
    assert names == [
        "tagengo_summarization_de",
        "tagengo_summarization_ja",
        "tagengo_translation_en-de",
        "tagengo_translation_de-en",
        "tagengo_translation_en-ja",
        "tagengo_translation_ja-en",
        "tagengo_knowledge_gen_de",
        "tagengo_knowledge_gen_ja",
    ]
    for t in m["tasks"]:
        assert t["version"] == 1.0 and t["n_shot"] == 0 and t["items"]["effective"] == 1
        assert len(t["data_sha256"]) == 64
    (model,) = m["models"]
    assert model["name"] == "scripted" and model["kind"] == "chat" and model["llm"]["base_url"] == server.url
    assert model["calls"]["scripted"]["calls"] == 8
    # per-item outputs: prompt, answer, target and the item's metric
    (item,) = [json.loads(x) for x in (out / "models/scripted/samples/tagengo_summarization_de.jsonl").open()]
    assert item["target"] == _rows("summarization", "de")[0]["summary"]
    assert item["filtered_resps"] == [item["target"]] and item["rougeL"] == pytest.approx(100.0)
    # the task YAMLs run with plain lm-eval too: local json files, our metrics through the shim
    y = (out / "tasks" / "tagengo_translation_en-ja.yaml").read_text()
    assert "dataset_path: json" in y and "!function" in y and "bleu_char" in y
    assert (out / "tasks" / "tagengo_eval_metrics.py").exists()
    md = (out / "results.md").read_text()
    assert "## knowledge · acc" in md and "| scripted | 1.000 | 1.000 | 1.000 |" in md
    table = json.loads((out / "results.json").read_text())
    assert {r["language"] for r in table["rows"]} == {"de", "ja"}


def test_a_rerun_with_the_same_settings_asks_nothing(server: ScriptedEvalServer, tmp_path: Path) -> None:
    out = tmp_path / "ev"
    cfg = _cfg(server, tmp_path, languages=["fr"], tasks=["knowledge"])
    first = run_eval(cfg, out, say=lambda _: None)
    n = server.received
    again = run_eval(cfg, out, say=lambda _: None)
    assert server.received == n and again.reused == ["scripted"] and again.rows == first.rows
    # another limit is another run: lm-eval runs again, the request cache answers
    run_eval(_cfg(server, tmp_path, languages=["fr"], tasks=["knowledge"], limit=1), out, say=lambda _: None)
    assert server.received == n


def test_few_shot_examples_come_from_the_dev_file_as_earlier_turns(
    server: ScriptedEvalServer, tmp_path: Path
) -> None:
    out = tmp_path / "ev"
    run_eval(
        _cfg(server, tmp_path, languages=["de"], tasks=["knowledge"], num_fewshot=1, limit=1),
        out,
        say=lambda _: None,
    )
    (body,) = server.requests
    roles = [m["role"] for m in body["messages"]]
    assert roles == ["user", "assistant", "user"]
    assert "Wie viele Tage hat eine Woche?" in body["messages"][0]["content"]
    assert body["messages"][1]["content"] == "C"
    m = json.loads((out / "manifest.json").read_text())
    assert m["tasks"][0]["n_shot"] == 1 and m["tasks"][0]["fewshot_file"].endswith("de.dev.jsonl")


def test_a_missing_language_file_is_one_sentence_naming_the_path_and_the_source(tmp_path: Path) -> None:
    cfg = EvalConfig.model_validate({"data": DATA, "languages": ["de", "es"], "tasks": ["summarization"]})
    with pytest.raises(InputError) as e:
        run_eval(cfg, tmp_path / "ev", say=lambda _: None)
    msg = str(e.value)
    assert str(DATA / "summarization" / "es.jsonl") in msg and "XL-Sum" in msg
    assert not (tmp_path / "ev" / "manifest.json").exists()


def test_a_row_without_the_fields_a_group_reads_is_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "knowledge").mkdir(parents=True)
    (data / "knowledge" / "de.jsonl").write_text('{"question": "Q?", "option_a": "x", "answer": "A"}\n')
    cfg = EvalConfig.model_validate({"data": data, "tasks": ["knowledge"]})
    with pytest.raises(InputError, match=r"de\.jsonl:1: missing fields 'option_b', 'option_c', 'option_d'"):
        run_eval(cfg, tmp_path / "ev", say=lambda _: None)


def test_loglikelihood_scoring_on_a_chat_endpoint_is_refused(
    server: ScriptedEvalServer, tmp_path: Path
) -> None:
    cfg = _cfg(server, tmp_path, tasks=["knowledge"], knowledge_mode="loglikelihood")
    with pytest.raises(ConfigError, match="log-probabilities"):
        run_eval(cfg, tmp_path / "ev", say=lambda _: None)
    assert server.received == 0


def test_a_task_of_your_own_by_name_from_the_include_path(server: ScriptedEvalServer, tmp_path: Path) -> None:
    inc = tmp_path / "mytasks"
    inc.mkdir()
    data = tmp_path / "capitals.jsonl"
    data.write_text('{"q": "Capital of France?", "a": "Paris"}\n{"q": "Capital of Japan?", "a": "Tokyo"}\n')
    (inc / "capitals_en.yaml").write_text(
        "task: capitals_en\ndataset_path: json\n"
        f"dataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: generate_until\ndoc_to_text: '{{q}}'\ndoc_to_target: '{{a}}'\n"
        "generation_kwargs:\n  until: ['\\n']\n  max_gen_toks: 8\n"
        "metric_list:\n  - metric: exact_match\n    aggregation: mean\n    higher_is_better: true\n"
        "metadata:\n  version: 2.0\n"
    )
    server.script.update({"Capital of France?": "Paris", "Capital of Japan?": "Kyoto"})
    out = tmp_path / "ev"
    res = run_eval(_cfg(server, tmp_path, tasks=["capitals_en"], include_path=inc), out, say=lambda _: None)
    (row,) = res.rows
    assert row["task"] == "capitals_en" and row["language"] == "en" and row["metric"] == "exact_match"
    assert row["value"] == pytest.approx(0.5)
    assert res.manifest["tasks"][0]["version"] == 2.0 and res.manifest["data"] is None


def test_the_command_line_reaches_a_served_model_through_the_llm_flags(
    server: ScriptedEvalServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tagengo.cli import main

    out = tmp_path / "ev"
    args = ["eval", "--out", str(out), "--data", str(DATA), "--tasks", "knowledge", "--no-progress"]
    args += ["--llm-model", "scripted", "--llm-base-url", server.url]
    args += ["--llm-cache-path", str(tmp_path / "c.db")]
    assert main([*args, "--languages", "de,fr"]) == 0
    shown = capsys.readouterr().out
    assert "| scripted | 0.500 | 0.500 | 0.500 |" in shown and f"→ {out}/results.md" in shown
    assert server.received == 4
    # a language without a file: one sentence, exit status 2, nothing run
    assert main([*args, "--languages", "de,it"]) == 2
    assert "it.jsonl: no such file" in capsys.readouterr().err


def test_the_report_shows_an_eval_folder_as_its_table(server: ScriptedEvalServer, tmp_path: Path) -> None:
    """`tagengo report` asks the eval stage's hook: one section with a table per task and
    metric, not 'not shown'."""
    from tagengo.report.hooks import folder_sections

    out = tmp_path / "ev"
    run_eval(_cfg(server, tmp_path, languages=["de"], limit=1), out, say=lambda _: None)
    (section,) = folder_sections(out)
    assert section.title == "eval · ev" and "lm-eval tasks" in section.summary
    assert section.blocks and all(type(b).__name__ in ("Table", "Note") for b in section.blocks)
