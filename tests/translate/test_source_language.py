"""Which language a source row is in, and where its group id goes (issue #23, items 1 and 3).

Without --source-language a row's own label counts; language ID (of all its messages) only
labels an unlabelled row when it is sure, else the item is rejected with the guess named. The
group id is written at the --group-key path that `tagengo mix` reads, dots included."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tagengo.errors import InputError
from tagengo.translate.config import TranslateConfig
from tagengo.translate.stage import translate

from .test_stage import rows

ANSWER = (
    "Espresso is a small, strong shot of coffee brewed by forcing hot water through finely ground "
    "beans; a latte is a shot of espresso topped with a lot of steamed milk and a thin layer of foam."
)


def write(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


def chat(row_id: str, *texts: str, **extra: object) -> dict:
    roles = ("user", "assistant")
    return {
        "id": row_id,
        "messages": [{"role": roles[i % 2], "content": t} for i, t in enumerate(texts)],
        **extra,
    }


def test_an_unlabelled_row_language_id_is_unsure_of_is_rejected_not_guessed(
    scripted_server, llm_options, tmp_path
):
    server = scripted_server()
    src = write(
        tmp_path / "lima.jsonl",
        [
            chat("espresso", "Espresso or latte?"),  # lid.176: it 0.49
            chat("gestalt", "Define gestalt."),  # lid.176: de 0.57
            chat("espresso-answered", "Espresso or latte?", ANSWER),  # en, sure with the answer
            chat("labelled", "Espresso or latte?", language="en"),  # the row's label counts
        ],
    )
    result = translate(
        # the scripted translator writes stock sentences by length, not one per source sentence
        src,
        tmp_path / "out",
        TranslateConfig(to=["de", "it"], check_sentences=False, **llm_options(server)),
    )
    kept = {r["id"]: r for r in rows(tmp_path / "out", "data")}
    rejected = {r["id"]: r for r in rows(tmp_path / "out", "rejected")}

    # Every row of an unsure item is rejected by the source_language step, the guess named.
    for item, guess in (("espresso", "it (0.49"), ("gestalt", "de (0.57")):
        for row_id in (item, f"{item}-de", f"{item}-it"):
            assert rejected[row_id]["step"] == "source_language"
            assert rejected[row_id]["reason"].startswith(
                f"source language unsure: the row has no language label and language ID says {guess}"
            )
            assert "--source-language" in rejected[row_id]["reason"]
        assert rejected[item]["language"] is None  # not labelled with the guess
        assert rejected[item]["meta"]["source_lid"]["accepted"] is False

    # Sure (all messages read) or labelled: an English source row and both translations.
    for item in ("espresso-answered", "labelled"):
        assert kept[item]["language"] == "en"
        assert kept[f"{item}-it"]["meta"]["translation"]["from"] == "en"
        assert f"{item}-de" in kept
    assert kept["espresso-answered"]["meta"]["source_lid"] == {
        "label": "en",
        "score": kept["espresso-answered"]["meta"]["source_lid"]["score"],
        "accepted": True,
    }
    assert kept["espresso-answered"]["meta"]["source_lid"]["score"] >= 0.8
    assert "source_lid" not in kept["labelled"]["meta"]
    steps = {s["name"]: s for s in result.manifest["steps"]}
    assert steps["source_language"]["in"] == 12 and steps["source_language"]["out"] == 6

    # --source-language settles it: nothing is asked of language ID.
    translate(
        src,
        tmp_path / "given",
        # the scripted translator writes stock sentences by length, not one per source sentence
        TranslateConfig(to=["de", "it"], source_language="en", check_sentences=False, **llm_options(server)),
    )
    assert not rows(tmp_path / "given", "rejected")
    assert all("source_lid" not in r["meta"] for r in rows(tmp_path / "given", "data"))


def test_a_dotted_group_key_is_the_nested_path_mix_reads(scripted_server, llm_options, tmp_path):
    from tagengo.mix.config import MixConfig
    from tagengo.mix.recipes import meta_value
    from tagengo.mix.stage import mix

    server = scripted_server()
    src = write(
        tmp_path / "in.jsonl",
        [
            chat(
                "a",
                "What is a good way to keep house plants healthy during the winter months?",
                language="en",
            ),
            chat(
                "b",
                "Why does bread dough need time to rise before it is baked in the oven?",
                language="en",
                meta={"lima": {"item": "item.7"}},
            ),
        ],
    )
    cfg = TranslateConfig(to=["de", "fr"], group_key="lima.item", **llm_options(server))
    translate(src, tmp_path / "par", cfg)
    kept = rows(tmp_path / "par", "data")
    assert len(kept) == 6
    groups = {r["id"]: meta_value(r["meta"], "lima.item") for r in kept}
    # Written nested, as mix reads it; a group id already there (dots in it too) is kept.
    assert groups == {"a": "a", "a-de": "a", "a-fr": "a", "b": "item.7", "b-de": "item.7", "b-fr": "item.7"}
    assert all("lima.item" not in r["meta"] for r in kept)

    manifest = mix(
        tmp_path / "par",
        tmp_path / "mix",
        MixConfig(recipe="parallel", languages=["en", "de", "fr"], group_key="lima.item"),
        workers=1,
        progress=False,
    ).manifest
    assert manifest["counts"]["kept"] == 6


def test_a_group_key_through_a_value_that_is_no_dict_is_an_input_error(
    scripted_server, llm_options, tmp_path
):
    server = scripted_server()
    src = write(
        tmp_path / "in.jsonl", [chat("a", "Hello there, how are you?", language="en", meta={"lima": "x"})]
    )
    with pytest.raises(InputError, match="meta.lima is a str, so --group-key lima.item cannot"):
        translate(
            src, tmp_path / "out", TranslateConfig(to=["de"], group_key="lima.item", **llm_options(server))
        )
