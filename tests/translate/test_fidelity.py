"""A translator that answers the source instead of translating it, or keeps only its first
sentence, passes the language, length and numbers checks (newcomer trial 32, items 3-4).
--check-sentences rejects the partial one, --check-similarity the answer; a full translation
passes both. Through the real stage, against a scripted server whose translator misbehaves
by source text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from servers.loopback import started_servers
from servers.scripted_chat import ScriptedChatServer
from tagengo.llm.translation.sentences import sentence_count, sentence_problem
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

from .test_stage import rows

SOURCES = {
    "full": "Water the plants in the morning. Keep them away from the heater. Turn the pots every week.",
    "partial": "Bread goes stale in the fridge. The cold hardens its starch. Keep it in a bag at room temperature.",
    "answer": "How do I reverse a list in Python without changing the original list?",
}
# What the scripted translator sends back for each source (German; ja for the full one too).
ANSWERS = {
    (
        "full",
        "de",
    ): "Gieße die Pflanzen am Morgen. Halte sie von der Heizung fern. Drehe die Töpfe jede Woche.",
    ("full", "ja"): "朝に植物に水をやってください。暖房から離してください。毎週鉢を回してください。",
    ("partial", "de"): "Brot wird im Kühlschrank schneller altbacken, weil die Kälte seine Stärke verhärtet.",
    (
        "answer",
        "de",
    ): "Verwende dafür einfach die eingebaute Funktion sorted, sie gibt eine neue Liste zurück.",
}


class FidelityServer(ScriptedChatServer):
    """The scripted server, whose translator answers per source text (ANSWERS)."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        msgs = body["messages"]
        if msgs[0]["content"].startswith("You are a professional translator"):
            target = "ja" if "Japanese" in msgs[1]["content"] else "de"
            for name, text in SOURCES.items():
                if text in msgs[1]["content"]:
                    return ANSWERS[(name, target)], "stop"
        return super().reply(body)


@pytest.fixture
def fidelity_server() -> Iterator[Callable[..., FidelityServer]]:
    yield from started_servers(FidelityServer)


@pytest.mark.parametrize(
    ("text", "count"),
    [
        ("One. Two! Three?", 3),
        ("Use e.g. a list. Dr. Smith agrees, z. B. die Liste.", 2),  # abbreviations
        ("Pi is 3.14 and J. Smith knows it.", 1),  # decimal point, initial
        ("1. Buy eggs.\n2. Boil them.\n\n- Eat.", 3),  # list items, one unit each
        ("東京は首都です。人口が多い！そうですか？", 3),  # no spaces after the stops
        ("It costs 3. 12 pens cost more.", 1),  # a sentence starting with a digit is not counted
    ],
)
def test_sentence_count(text: str, count: int) -> None:
    assert sentence_count(text) == count


def test_one_merge_or_split_is_tolerated_two_are_not() -> None:
    src = "One thing. Two things. Three things."
    assert sentence_problem(src, "Eins und zwei. Drei.") is None  # a merge
    assert sentence_problem(src, "Eins. Zwei. Drei. Vier.") is None  # a split
    assert sentence_problem(src, "Eins.") == "dropped: 3 in the source, 1 in the translation"
    assert sentence_problem("One.", "Eins. Zwei. Drei.") == "added: 1 in the source, 3 in the translation"
    # a long text may lose one unit per four to merges
    long = " ".join(f"Sentence number {w}." for w in "abcdefghijkl")
    assert sentence_problem(long, " ".join(f"Satz {w}." for w in "abcdefghij")) is None


def _write(tmp_path, names: list[str]):
    src = tmp_path / "src.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": n, "language": "en", "messages": [{"role": "user", "content": SOURCES[n]}]})
            + "\n"
            for n in names
        )
    )
    return src


def test_without_the_checks_the_partial_and_the_answer_are_kept(
    fidelity_server, llm_options, tmp_path
) -> None:
    """The failure the checks are for: every other check passes both (--check-sentences is on by
    default, so turned off here)."""
    server = fidelity_server()
    cfg = TranslateConfig(to=["de"], include_source=False, check_sentences=False, **llm_options(server))
    result = translate(_write(tmp_path, ["full", "partial", "answer"]), tmp_path / "out", cfg)
    assert result.manifest["counts"]["kept"] == 3


def test_sentence_check_rejects_the_partial_translation(fidelity_server, llm_options, tmp_path) -> None:
    server = fidelity_server()
    cfg = TranslateConfig(to=["de", "ja"], include_source=False, check_sentences=True, **llm_options(server))
    translate(_write(tmp_path, ["full", "partial"]), tmp_path / "out", cfg)
    assert sorted(r["id"] for r in rows(tmp_path / "out", "data")) == ["full-de", "full-ja"]
    (rej,) = [r for r in rows(tmp_path / "out", "rejected") if r["id"] == "partial-de"]
    assert rej["reason"] == "sentences dropped (message 1 (user)): 3 in the source, 1 in the translation"


@pytest.mark.embedder
def test_similarity_check_rejects_the_answer(fidelity_server, llm_options, tmp_path) -> None:
    server = fidelity_server()
    cfg = TranslateConfig(
        to=["de"], include_source=False, check_sentences=True, check_similarity=True, **llm_options(server)
    )
    result = translate(_write(tmp_path, ["full", "partial", "answer"]), tmp_path / "out", cfg)
    kept = rows(tmp_path / "out", "data")
    assert [r["id"] for r in kept] == ["full-de"]
    assert kept[0]["meta"]["translation"]["messages"][0]["similarity"] >= 0.85
    reasons = {r["id"]: r["reason"] for r in rows(tmp_path / "out", "rejected")}
    assert reasons["answer-de"].startswith("not a translation: message 1 (user) is 0.")
    assert reasons["partial-de"].startswith("sentences dropped")
    # the partial row was rejected before it was embedded: 2 texts each for the other two rows
    assert result.manifest["counts"]["rejected"] == 2


@pytest.mark.embedder
def test_bench_translation_leaves_out_a_question_answered_not_translated(
    fidelity_server, llm_options, tmp_path
) -> None:
    """translate --bench takes the same check: the question whose 'translation' answers it is
    left out with the reason, the translated one kept."""
    from tagengo.io.fastchat import read_questions
    from tagengo.translate.bench import translate_bench

    bench = tmp_path / "bench"
    bench.mkdir()
    with (bench / "question.jsonl").open("w") as fh:
        for qid, name in ((1, "full"), (2, "answer")):
            fh.write(json.dumps({"question_id": qid, "category": "writing", "turns": [SOURCES[name]]}) + "\n")
    server = fidelity_server()
    cfg = TranslateConfig(check_similarity=True, **llm_options(server))
    report = translate_bench(bench, tmp_path / "out", "de", cfg)
    assert [q.question_id for q in read_questions(tmp_path / "out" / "question.jsonl")] == [1]
    (left,) = report["left_out"]
    assert left["question_id"] == "2" and left["reason"].startswith("not a translation: ")
    assert report["counts"]["similarity_embeddings"] == 4  # two texts, each side embedded
