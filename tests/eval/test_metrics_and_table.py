"""The pieces under `tagengo eval`: multilingual ROUGE-L tokens, BLEU tokenizers, the chat
adapter's stop handling, the table."""

from __future__ import annotations

import sacrebleu

from tagengo.eval.chat_lm import ChatJson, cut_at_stops, messages_of
from tagengo.eval.metrics import bleu_char, bleu_tokenizer, chrf, rougeL, tokens
from tagengo.eval.table import markdown, task_metrics
from tagengo.eval.tasks import language_of_task_name


def test_rouge_tokens_keep_every_script_and_split_scripts_without_spaces() -> None:
    assert tokens("Schöne Grüße, Señor!") == ["schöne", "grüße", "señor"]
    assert tokens("猫は寝る cat") == ["猫", "は", "寝", "る", "cat"]
    # rouge-score's own tokenizer would drop every non-ASCII letter: these would score 0 and 100
    assert rougeL(["Grüße aus München"], ["Grüße aus Köln"]) == rougeL(["a b c"], ["a b d"])
    assert rougeL(["猫は寝る"], ["猫は寝る"]) == 100.0


def test_bleu_tokenizes_japanese_by_character_and_chrf_needs_none() -> None:
    assert bleu_tokenizer("ja") == "char" and bleu_tokenizer("zh") == "zh" and bleu_tokenizer("de") == "13a"
    items = [("猫は暖かい屋根の上で寝ている。", "猫は屋根の上で寝ている。")]
    assert bleu_char(items) == sacrebleu.corpus_bleu([items[0][1]], [[items[0][0]]], tokenize="char").score
    assert bleu_char(items) > 0  # with 13a the sentence is one token and scores 0
    assert chrf(items) == sacrebleu.corpus_chrf([items[0][1]], [[items[0][0]]]).score


def test_chat_answers_are_cut_at_the_first_stop_after_leading_blank_lines() -> None:
    assert cut_at_stops("\n\nDie Katze.\nNote: literal", ["\n"]) == "Die Katze."
    assert cut_at_stops("B", ["\n\n"]) == "B"
    assert messages_of(ChatJson('[{"role": "user", "content": "hi"}]')) == [{"role": "user", "content": "hi"}]
    assert messages_of("plain prompt") == [{"role": "user", "content": "plain prompt"}]


def test_task_names_say_their_language() -> None:
    assert language_of_task_name("global_mmlu_full_de") == "de"
    assert language_of_task_name("mgsm_direct_ja") == "ja"
    assert language_of_task_name("belebele_deu_Latn") == "de"
    assert language_of_task_name("hellaswag") is None


def test_metrics_of_a_result_in_the_groups_order() -> None:
    res = {
        "alias": "x",
        "bleu,none": 3.0,
        "bleu_stderr,none": "N/A",
        "chrf,none": 40.0,
        "chrf_stderr,none": "N/A",
    }
    assert task_metrics(res, "translation") == [("chrf", 40.0, None), ("bleu", 3.0, None)]
    gen = {"exact_match,letter": 0.5, "exact_match_stderr,letter": 0.5}
    assert task_metrics(gen, "knowledge") == [("acc", 0.5, 0.5)]
    assert task_metrics(gen, "lm-eval") == [("exact_match (letter)", 0.5, 0.5)]


def test_the_markdown_table_puts_the_base_first_and_shows_differences() -> None:
    rows = [
        {"model": m, "role": role, "task": "knowledge", "language": lang, "metric": "acc", "value": v}
        for m, role, lang, v in [
            ("sft", "model", "de", 0.5),
            ("sft", "model", "ja", 0.75),
            ("base", "base", "de", 0.25),
            ("base", "base", "ja", 0.25),
        ]
    ]
    md = markdown(rows)
    assert "| model | de | ja | mean |" in md
    base_line = md.index("| base (base) | 0.250 | 0.250 | 0.250 |")
    sft_line = md.index("| sft | 0.500 (+0.250) | 0.750 (+0.500) | 0.625 (+0.375) |")
    assert base_line < sft_line


def test_report_blocks_show_the_table_with_the_base_first_and_the_differences(tmp_path) -> None:
    import json

    from tagengo.eval.report import is_eval_manifest, report_blocks

    rows = [
        {"model": m, "role": role, "task": "summarization", "language": lang, "metric": "rougeL", "value": v}
        for m, role, lang, v in [("sft", "model", "de", 30.0), ("base", "base", "de", 20.0)]
    ]
    (tmp_path / "results.json").write_text(json.dumps({"rows": rows}))
    manifest = {
        "stage": "eval",
        "models": [{"name": "sft", "role": "model"}, {"name": "base", "role": "base"}],
        "tasks": [{}],
        "lm_eval_version": "0.4.13",
        "num_fewshot": 0,
        "limit": None,
    }
    assert is_eval_manifest(manifest)
    table, note = report_blocks(tmp_path, manifest)
    assert table.title == "summarization · rougeL" and table.columns == ["model", "de", "Δ de"]
    assert table.rows == [["base (base)", 20.0, None], ["sft", 30.0, 10.0]]
    assert "sft, base (base) on 1 lm-eval tasks" in note.text
    (empty,) = report_blocks(tmp_path / "nothing")
    assert "did not finish" in empty.text


def test_the_answer_letter_is_found_beside_any_script_but_not_inside_a_word() -> None:
    import re

    from tagengo.eval.tasks import _LETTER

    def first(text: str) -> str | None:
        m = re.search(_LETTER, text)
        return m.group(1) if m else None

    assert first("答えはBです") == "B"
    assert first("(C) because") == "C"
    assert first("Das ist D.") == "D"
    assert first("Apple is red") is None
