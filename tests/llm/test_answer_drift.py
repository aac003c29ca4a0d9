"""An answer that starts in the row's language and drifts into another (tagengo.lang.drift):
one German clause, then four English sentences, scored 'en' at 0.86 as a whole (under the gate's
0.9) and was kept. The answer-language check now reads it block by block (sentences and lines,
short ones joined up to --gate-min-chars letters, code removed) and rejects it as ``wrong
language`` when blocks lid.176 gives confidently to one other language hold at least 40% of its
letters; with the same exemptions as the whole-text check. Real lid.176; end to end through
generate and translate over real HTTP with the ``drift`` fault (tests/servers/answer_faults.py)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from servers.answer_faults import DRIFTING
from servers.loopback import started_servers
from servers.scripted_chat import ScriptedChatServer
from tagengo.lang.drift import DRIFT_MIN_SHARE, text_runs
from tagengo.lang.gate import GateConfig, LanguageGate
from tagengo.llm.answer import WRONG_LANGUAGE, AnswerLanguage, AnswerLanguageConfig

ENGLISH = (
    "The droplets grow as they collide with one another inside the cloud. Once they are heavy enough, gravity "
    "pulls them down to the ground. Warm air can hold more moisture than cold air."
)


@pytest.fixture(scope="module")
def check() -> AnswerLanguage:
    return AnswerLanguage(AnswerLanguageConfig())


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("de", DRIFTING),
        ("de", f"Gute Frage! Regen entsteht so: {ENGLISH}"),
        ("fr", f"La pluie se forme quand la vapeur d'eau se refroidit.\n\n{ENGLISH}"),
        ("ja", f"雨は水蒸気が冷えてできます。 {ENGLISH}"),
        ("es", f"La lluvia se forma cuando el vapor de agua se enfría en el aire. {ENGLISH} It is simple."),
    ],
)
def test_an_answer_that_drifts_into_english_is_wrong_language(check, language, text):
    problem, found = check.problem(text, language)
    assert problem is not None and problem.kind == WRONG_LANGUAGE, found
    assert "drifts into 'en'" in problem.detail and f"the row's language is '{language}'" in problem.detail
    assert found["detected"] and found["drift"]["language"] == "en"
    assert found["drift"]["share"] >= DRIFT_MIN_SHARE and found["drift"]["blocks"] >= 1


def test_the_reason_says_where_the_drift_starts(check):
    problem, _ = check.problem(DRIFTING, "de")
    assert problem.reason().startswith("wrong language: lid.176 says ")
    assert "81% of the answer (1 of 2 blocks) is 'en'" in problem.detail
    assert "after 53 characters ('Regen entsteht, wenn Wasserdampf in d...')" in problem.detail


@pytest.mark.parametrize(
    ("language", "text"),
    [
        # A whole answer in the row's language.
        (
            "de",
            "Regen entsteht, wenn Wasserdampf abkühlt. Die Tröpfchen wachsen, bis sie schwer genug sind, "
            "um zu fallen. Warme Luft kann mehr Feuchtigkeit halten als kalte Luft.",
        ),
        # An English quotation inside a German answer: one block of three.
        (
            "de",
            'Der Satz "The quick brown fox jumps over the lazy dog" enthält jeden Buchstaben des Alphabets. '
            "Man nennt so etwas ein Pangramm, und es wird oft zum Testen von Schriftarten verwendet. Im "
            "Deutschen gibt es ähnliche Sätze, etwa über Franz und seinen Taxi.",
        ),
        # English code and its comments in a fenced block: code is never read.
        (
            "de",
            "So liest du eine Datei in Python ein und zählst ihre Zeilen:\n\n```python\n# open the file and "
            "count every line in it, then print the number of lines we found\nwith open(path) as f:\n"
            "    print(sum(1 for _ in f))  # the number of lines in the whole file\n```\n\nDas ist alles.",
        ),
        # Too short for two blocks: the whole-text check said all there is.
        ("de", "Ja. The answer is yes."),
    ],
)
def test_answers_in_the_rows_language_pass(check, language, text):
    problem, found = check.problem(text, language)
    assert problem is None, (problem and problem.detail, found)
    assert "drift" not in found


def test_bench_and_prefer_gate_fails_a_drifting_answer_without_a_judge_call():
    gate = LanguageGate(GateConfig(enabled=True))
    verdict = gate.check(DRIFTING, "de")
    assert verdict.failed and verdict.drift is not None and verdict.drift.language == "en"
    assert verdict.reason.startswith("language gate: answer drifts into 'en' (81% of it), question is 'de'")
    assert verdict.to_dict()["drift"]["share"] > 0.8
    assert gate.check(DRIFTING, "de", category="coding") is not None  # no skip list given
    assert (
        LanguageGate(GateConfig(enabled=True, skip_categories=["coding"])).check(DRIFTING, "de", "coding")
        is None
    )


def test_the_exemptions_of_the_whole_text_check_hold(check):
    # A translation request, a row without a language, a language lid.176 cannot name, the gate off.
    assert check.problem(DRIFTING, "de", prompt="Übersetze bitte ins Englische: ...") == (None, {})
    assert check.problem(DRIFTING, None) == (None, {})
    assert check.problem(DRIFTING, "zu")[0] is None
    assert AnswerLanguage(AnswerLanguageConfig(enabled=False)).problem(DRIFTING, "de") == (None, {})
    # The thresholds are the gate's own: a higher --gate-min-prob asks more of each block.
    lax = AnswerLanguage(AnswerLanguageConfig(min_prob=0.999))
    assert lax.problem(DRIFTING, "de")[0] is None


def test_runs_join_sentences_of_one_language_and_leave_short_openers_unlabelled(check):
    detect = check.gate.detector.detect
    runs = text_runs("Ja. Nein. Vielleicht doch nicht heute, mein Freund. Ok.\nEnde.", 20, detect)
    assert [(label, run.strip()) for _, run, label in runs] == [
        (None, "Ja. Nein."),
        ("de", "Vielleicht doch nicht heute, mein Freund. Ok.\nEnde."),
    ]
    runs = text_runs(f"Gute Frage! Regen entsteht so: {ENGLISH}", 20, detect)
    assert [label for _, _, label in runs] == [None, "en"] and runs[1][0] == 30


# -- end to end: the drift fault through the stages ------------------------------------------------


class _Server(ScriptedChatServer):
    keep_requests = True


@pytest.fixture
def chat_server() -> Iterator[Callable[..., _Server]]:
    yield from started_servers(_Server)


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def test_generate_rejects_a_drifting_answer_and_keeps_the_others(chat_server, tmp_path):
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate

    server = chat_server()
    rows = [
        {"id": "drift", "prompt": "Erzähl mir bitte etwas über den Regen. FAULT=drift", "language": "de"},
        {"id": "clean", "prompt": "Tell me about rain.", "language": "en"},
        {"id": "nolang", "prompt": "Erzähl mir bitte etwas über den Schnee. FAULT=drift"},
    ]
    src = tmp_path / "prompts.jsonl"
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    cfg = GenerateConfig(model="teacher", base_url=server.url, timeout_s=5.0, max_tokens=256,
                         cache_path=tmp_path / "c.sqlite")  # fmt: skip
    res = generate(src, tmp_path / "out", cfg, progress=False)
    (rejected,) = _rows(res.out / "rejected")
    assert rejected["id"] == "drift" and rejected["reason"].startswith("wrong language: lid.176 says ")
    assert "drifts into 'en' after" in rejected["reason"]
    meta = json.loads(rejected["meta"])["generation"]["language"]
    assert meta["drift"]["language"] == "en" and meta["expected"] == "de"
    assert {r["id"] for r in _rows(res.out / "data")} == {"clean", "nolang"}


def test_translate_rejects_a_translation_that_drifts(chat_server, tmp_path):
    from tagengo.translate.config import TranslateConfig
    from tagengo.translate.stage import translate

    server = chat_server()
    src = tmp_path / "chats.jsonl"
    src.write_text(json.dumps({"id": "d", "language": "en", "messages": [
        {"role": "user", "content": "Tell me how rain forms in the clouds, why the drops fall when they do, and why summer storms are so much heavier than the rain of a grey day in autumn. FAULT=drift"},
        {"role": "assistant", "content": "Water vapour cools, condenses into droplets, and they fall."}]}) + "\n")  # fmt: skip
    cfg = TranslateConfig(to=["de"], include_source=False, model="teacher", base_url=server.url,
                          timeout_s=5.0, cache_path=tmp_path / "c.sqlite")  # fmt: skip
    result = translate(src, tmp_path / "out", cfg)
    (rejected,) = _rows(tmp_path / "out" / "rejected")
    assert rejected["reason"].startswith("message 1 (user) is not in de: language ID says en")
    assert result.manifest["counts"]["rejected"] == 1


def test_reverse_rejects_a_drifting_instruction_and_a_fallback_one_on_request(chat_server, tmp_path):
    """reverse's written instruction passes the same check (the gate's), and the served-model
    rule of the client (tests/llm/test_served_model.py) reaches it too."""
    from tagengo.reverse.config import ReverseConfig
    from tagengo.reverse.stage import reverse

    base = (Path(__file__).parent.parent / "reverse" / "fixtures" / "faults_de.txt").read_text()
    base = base.split("\n\n")[0].strip()
    corpus = tmp_path / "corpus.txt"
    corpus.write_text(
        "\n\n".join([base, f"{base} Noch ein Satz. FAULT=drift", f"{base} Ein anderer. FAULT=fallback"])
    )
    server = chat_server()
    cfg = ReverseConfig(language="de", mode="direct", check_back_translation=False, model="scripted",
                        base_url=server.url, timeout_s=10.0, cache_path=tmp_path / "c.sqlite",
                        require_served_model=True)  # fmt: skip
    result = reverse(corpus, tmp_path / "out", cfg)
    reasons = sorted(r["reason"] for r in _rows(tmp_path / "out" / "rejected"))
    assert result.manifest["counts"]["rejected"] == 2, reasons
    assert reasons[0].startswith("other model (instruction): asked for 'scripted'"), reasons
    assert (
        reasons[1].startswith("wrong language (instruction): lid.176 says ")
        and "drifts into 'en'" in reasons[1]
    )
