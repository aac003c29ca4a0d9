"""The chatter kinds of the newcomer trial, end to end: a translator that signs off ("I hope this
helps! Let me know if you need anything else."), repeats the source before its translation, or
runs a sign-off into the last sentence. `tagengo translate` and `translate --bench` cut what
stands apart (recorded by kind), reject what does not (one reason per kind), and keep a source's
own sign-off. The translator is the scripted server over real HTTP; what it adds around its
translation is steered by words of the source text."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from servers.loopback import started_servers
from servers.scripted_chat import ScriptedChatServer
from servers.scripted_chat import translate as scripted_translate
from tagengo.run.cli_common import step_summary
from tagengo.translate.bench import translate_bench
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

BENCH = Path(__file__).parent / "fixtures" / "mt_bench"
SIGNOFF = "I hope this helps! Let me know if you need anything else."
OWN_SIGNOFF = "Sag mir Bescheid, wenn du noch etwas brauchst."
#: (word of the source, how the answer is built from the translation t and the source s).
FORMS = {
    "plants": "{t}\n\n" + SIGNOFF,  # a sign-off paragraph: cut
    "bread": "{t} " + SIGNOFF,  # run into the last sentence: rejected
    "coffee": "{s}\n\n{t}",  # the source repeated first: cut
    "essay": "{t}\n\n" + OWN_SIGNOFF,  # the source's own sign-off, translated: kept
    "postcard": "{t} I hope this helps!",  # bench: rejected
}


class SignoffServer(ScriptedChatServer):
    """The scripted server, whose translator adds what FORMS says for the source's words."""

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        content, finish = super().reply(body)
        msgs = body["messages"]
        if msgs[0]["content"].startswith("You are a professional translator") and content:
            source = re.search(r"-----\n(.*)\n-----", msgs[1]["content"], re.S).group(1)
            for word, form in FORMS.items():
                if word in source:
                    content = form.format(t=content, s=source)
        return content, finish


@pytest.fixture
def signoff_server() -> Iterator[Callable[..., SignoffServer]]:
    yield from started_servers(SignoffServer)


def rows(out: Path, sub: str) -> dict[str, dict]:
    got = [r for f in sorted((out / sub).glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]
    return {r["id"]: {**r, "meta": json.loads(r["meta"])} for r in got}


def test_signoffs_and_echoes_are_cut_or_rejected_and_a_sources_own_signoff_kept(
    signoff_server, llm_options, tmp_path
) -> None:
    chats = {
        "plants": "What is a good way to keep house plants healthy in winter?",
        "bread": "Why does bread go stale faster in the fridge than on the counter?",
        "coffee": "How long should I let the coffee brew before pressing the plunger?",
        "essay": "Please fix the typos in my essay about the sea.\n\nLet me know if you need anything else.",
    }
    src = tmp_path / "chats.jsonl"
    src.write_text(
        "".join(
            json.dumps({"id": i, "language": "en", "messages": [{"role": "user", "content": q}]}) + "\n"
            for i, q in chats.items()
        )
    )
    cfg = TranslateConfig(to=["de"], include_source=False, **llm_options(signoff_server()))
    result = translate(src, tmp_path / "out", cfg)
    kept, rejected = rows(tmp_path / "out", "data"), rows(tmp_path / "out", "rejected")
    assert sorted(kept) == ["coffee-de", "essay-de", "plants-de"] and sorted(rejected) == ["bread-de"]
    # What stood apart is cut, and recorded by kind.
    for rid, kind, what in (("plants-de", "signoff", SIGNOFF), ("coffee-de", "echo", chats["coffee"])):
        row = kept[rid]
        assert row["messages"][0]["content"] == scripted_translate(chats[rid[:-3]], "de")
        assert row["meta"]["translation"]["messages"][0]["chatter_removed"] == {kind: what}
    # The source's own "Let me know ..." keeps its translation.
    assert kept["essay-de"]["messages"][0]["content"].endswith("\n\n" + OWN_SIGNOFF)
    assert "chatter_removed" not in kept["essay-de"]["meta"]["translation"]["messages"][0]
    # Run into the last sentence it cannot be cut: the row is rejected with the kind's reason.
    bread = rejected["bread-de"]
    assert bread["reason"] == (
        "translator chatter (signoff) in message 1 (user): a sign-off ends the translation, "
        "which cannot be cut safely"
    )
    assert bread["meta"]["translation"]["messages"][0]["chatter_found"] == {"signoff": SIGNOFF}
    assert step_summary(result, "translate")["chatter_removed"] == {"signoff": 1, "echo": 1}


def test_bench_leaves_out_a_question_whose_translation_signs_off(
    signoff_server, llm_options, tmp_path
) -> None:
    bench = tmp_path / "mt_bench"
    shutil.copytree(BENCH, bench)
    report = translate_bench(
        # the scripted translator writes stock sentences by length, not one per source sentence
        bench,
        tmp_path / "out",
        "de",
        TranslateConfig(check_sentences=False, **llm_options(signoff_server())),
    )
    reasons = {item["question_id"]: item["reason"] for item in report["left_out"]}
    assert reasons["81"] == (
        "translator chatter (signoff) in question.jsonl question 81 turns.0: a sign-off ends the "
        "translation, which cannot be cut safely"
    )
    kept = [json.loads(line)["question_id"] for line in (tmp_path / "out" / "question.jsonl").open()]
    assert 81 not in kept and 101 in kept
