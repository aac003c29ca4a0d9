"""`tagengo export` of a `tagengo prefer` folder: the pairs in TRL's conversational format and in
Axolotl's argilla shape, Axolotl configs for DPO and ORPO that point at fields the files have,
read by Axolotl's own loaders and TRL; counts, the split, skips, stale files and the card."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from servers.scripted_judge import ScriptedJudgeServer
from servers.scripted_prefer import SENTENCES, reply
from tagengo.errors import ConfigError
from tagengo.mix.config import ExportConfig
from tagengo.mix.export import export
from tagengo.mix.export_cli import command
from tagengo.mix.export_pairs import argilla_row
from tagengo.prefer.config import PreferConfig
from tagengo.prefer.stage import prefer

FRUITS = "Name three fruits."
# (id, language, messages): single-turn prompts in three languages, a multi-turn one, and one
# whose two user turns in a row break the chat rules (its pair is skipped, with the reason).
PROMPTS = [
    ("e1", "en", [("user", FRUITS)]),
    ("d1", "de", [("user", "Wie wird das Wetter morgen in Berlin?")]),
    ("f1", "fr", [("user", "Bonjour, que faire à Paris ?")]),
    (
        "e2",
        "en",
        [("user", "Name a colour."), ("assistant", "Blue."), ("user", "And another one?")],
    ),
    ("e3", "en", [("user", "First question."), ("user", "Second question?")]),
]


def _llm(server: ScriptedJudgeServer, cache: Path, model: str) -> dict:
    return {
        "backend": "openai",
        "model": model,
        "base_url": server.url,
        "cache_path": str(cache),
        "max_attempts": 2,
        "backoff_base_s": 0.01,
        "timeout_s": 20.0,
    }


@pytest.fixture(scope="module")
def preferred(tmp_path_factory) -> Path:
    """A real `tagengo prefer` run against the scripted server: three models (best, plain, weak),
    every pair above margin 1, so each prompt gives three pairs."""
    tmp = tmp_path_factory.mktemp("pairs")
    src = tmp / "prompts.jsonl"
    src.write_text(
        "".join(
            json.dumps(
                # Tagengo records (source, meta): the readers quarantine two user turns in a row
                # in source formats (io/shape.py); e3 must reach prefer and export as it is.
                {
                    "id": i,
                    "source": "fixture",
                    "language": lang,
                    "meta": {},
                    "messages": [{"role": r, "content": c} for r, c in msgs],
                },
                ensure_ascii=False,
            )
            + "\n"
            for i, lang, msgs in PROMPTS
        )
    )
    cache = tmp / "cache.sqlite"
    with ScriptedJudgeServer(reply) as server:
        cfg = PreferConfig(
            models=[
                {"name": role, "system_prompt": f"ROLE={role}", "llm": _llm(server, cache, "scripted")}
                for role in ("best", "plain", "weak")
            ],
            judge=_llm(server, cache, "judge"),
            pairs="all",
            gate={"enabled": False},
        )
        result = prefer(src, tmp / "prefer", cfg)
    assert result.manifest["counts"]["kept"] == len(PROMPTS)
    return result.out


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_pairs_are_prefers_pairs_in_both_layouts_and_counts_reconcile(preferred, tmp_path) -> None:
    out = tmp_path / "out"
    m = export(preferred, out, ExportConfig()).manifest
    theirs = {p["id"]: p for p in _jsonl(preferred / "pairs" / "conversational.jsonl")}
    assert len(theirs) == 3 * len(PROMPTS)
    c = m["counts"]
    assert (c["input"], c["pairs"], c["skipped"]) == (len(PROMPTS), len(theirs), 3)
    assert c["train"] + c["validation"] + c["skipped"] == c["pairs"] and c["exported"] == 12
    trl, argilla = _jsonl(out / "train.jsonl"), _jsonl(out / "train_argilla.jsonl")
    assert len(trl) == len(argilla) == c["train"] == m["files"]["train.jsonl"]["rows"]
    for row, whole in zip(trl, argilla, strict=True):
        pair = theirs[row["id"]]
        assert set(row) == {"prompt", "chosen", "rejected", "id", "language", "source"}
        assert (row["prompt"], row["chosen"], row["rejected"]) == (
            pair["prompt"],
            pair["chosen"],
            pair["rejected"],
        )
        assert "prompt" not in whole and whole["id"] == row["id"]
        assert (
            whole["chosen"] == row["prompt"] + row["chosen"]
            and whole["rejected"] == row["prompt"] + row["rejected"]
        )
    # The multi-turn prompt keeps its earlier turns; the chosen answer is BEST's.
    multi = next(r for r in trl if r["id"] == "e2#0")
    assert [t["role"] for t in multi["prompt"]] == ["user", "assistant", "user"]
    assert multi["chosen"][0]["content"] == "BEST " + SENTENCES["en"]
    skipped = _jsonl(out / "skipped.jsonl")
    assert {s["id"] for s in skipped} == {"e3#0", "e3#1", "e3#2"}
    assert {s["reason"] for s in skipped} == {
        "two user turns in a row (turns 1 and 2); user and assistant must alternate"
    }
    assert m["languages"] == {
        "en": {"train": 6, "validation": 0, "skipped": 3},
        "de": {"train": 3, "validation": 0, "skipped": 0},
        "fr": {"train": 3, "validation": 0, "skipped": 0},
    }


def test_a_system_turn_goes_apart_in_the_argilla_shape() -> None:
    pair = {
        "prompt": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi?"},
            {"role": "assistant", "content": "Hello."},
            {"role": "user", "content": "Again?"},
        ],
        "chosen": [{"role": "assistant", "content": "Yes."}],
        "rejected": [{"role": "assistant", "content": "No."}],
    }
    row = argilla_row(pair)
    assert row["system"] == "Be brief."
    assert [t["content"] for t in row["chosen"]] == ["Hi?", "Hello.", "Again?", "Yes."]
    assert [t["content"] for t in row["rejected"]] == ["Hi?", "Hello.", "Again?", "No."]
    assert argilla_row({**pair, "prompt": pair["prompt"][1:]})["system"] is None


def test_the_split_keeps_a_prompts_pairs_together(preferred, tmp_path) -> None:
    out = tmp_path / "split"
    m = export(preferred, out, ExportConfig(validation=0.3, seed=3)).manifest
    val = {r["id"].split("#")[0] for r in _jsonl(out / "validation.jsonl")}
    train = {r["id"].split("#")[0] for r in _jsonl(out / "train.jsonl")}
    assert val and train and not val & train
    assert m["counts"]["validation"] == 3 * len(val)
    assert len(_jsonl(out / "validation_argilla.jsonl")) == m["counts"]["validation"]


def _axolotl_configs(out: Path) -> dict[str, dict]:
    return {rl: yaml.safe_load((out / f"axolotl_{rl}.yaml").read_text()) for rl in ("dpo", "orpo")}


def test_axolotl_configs_validate_and_point_at_files_with_their_fields(preferred, tmp_path) -> None:
    from axolotl.utils.schemas.config import AxolotlInputConfig
    from axolotl.utils.schemas.datasets import DPODataset
    from datasets import load_dataset

    out = tmp_path / "ax"
    m = export(preferred, out, ExportConfig(validation=0.3)).manifest
    for rl, ax in _axolotl_configs(out).items():
        assert ax["rl"] == rl and ax["chat_template"] == "tokenizer_default"
        parsed = AxolotlInputConfig.model_validate(
            {**ax, "base_model": "HuggingFaceTB/SmolLM2-135M-Instruct", "learning_rate": 5e-7}
        )
        assert parsed.rl == rl
        assert set(ax) <= set(AxolotlInputConfig.model_fields)  # Axolotl ignores unknown keys silently
        entries = ax["datasets"] + ax["test_datasets"]
        assert len(ax["datasets"]) == len(ax["test_datasets"]) == 1
        for e in entries:
            assert set(e) <= set(DPODataset.model_fields)
            assert m["files"][e["path"]]["layout"] == ("trl" if rl == "dpo" else "argilla")
            ds = load_dataset("json", data_files=str(out / e["path"]), split="train")
            assert len(ds) == m["files"][e["path"]]["rows"] > 0
            if rl == "dpo":
                assert e["type"] == "chat_template.default"
                assert {e["field_messages"], e["field_chosen"], e["field_rejected"]} <= set(ds.column_names)
            else:
                assert e["type"] == "chat_template.argilla"
                # That loader reads chosen/rejected whole and takes a `prompt` field, if any, as every user turn.
                assert {"chosen", "rejected", "system"} <= set(
                    ds.column_names
                ) and "prompt" not in ds.column_names
    # Both methods see the same pairs.
    assert m["files"]["train.jsonl"]["rows"] == m["files"]["train_argilla.jsonl"]["rows"]


@pytest.mark.llm
def test_axolotls_own_loaders_turn_the_files_into_its_prompt_chosen_rejected(preferred, tmp_path) -> None:
    from axolotl.prompt_strategies.dpo import load as load_dpo
    from axolotl.prompt_strategies.orpo import load as load_orpo
    from datasets import load_dataset

    from tagengo.train.model import load_tokenizer, resolve_base

    tokenizer = load_tokenizer(resolve_base(None))  # the bundled SmolLM2's, with its chat template
    out = tmp_path / "ax"
    export(preferred, out, ExportConfig())
    for rl, ax in _axolotl_configs(out).items():
        # Axolotl hands its loaders the config as a dict (its DictDefault, whose addict base is not
        # installed here); these two read it with [] and .get only.
        cfg = {**ax, "base_model": "x", "sequence_len": 2048}
        loader = load_dpo if rl == "dpo" else load_orpo
        transform = loader(ax["datasets"][0]["type"], cfg, dataset_idx=0)
        assert transform is not None, f"Axolotl has no {rl} loader {ax['datasets'][0]['type']}"  # it logs why
        fn, kwargs = transform if isinstance(transform, tuple) else (transform, {})
        ds = load_dataset("json", data_files=str(out / ax["datasets"][0]["path"]), split="train")
        mapped = ds.map(lambda row, fn=fn: fn(row, tokenizer=tokenizer), **kwargs)
        by_id = {r["id"]: r for r in mapped}
        e1 = by_id["e1#0"]  # best vs plain, single turn
        assert FRUITS in e1["prompt"] and e1["prompt"].rstrip().endswith("assistant")
        assert e1["chosen"].startswith("BEST " + SENTENCES["en"])
        assert e1["rejected"].startswith(SENTENCES["en"]) and "BEST" not in e1["rejected"]
        multi = by_id["e2#0"]  # the earlier turns are in the prompt, the answer is not
        assert (
            "Name a colour." in multi["prompt"]
            and "Blue." in multi["prompt"]
            and "And another one?" in multi["prompt"]
        )
        assert "BEST" not in multi["prompt"] and multi["chosen"].startswith("BEST")


def test_trl_snippet_loads_the_pairs_as_trl_reads_them(preferred, tmp_path) -> None:
    from trl.data_utils import is_conversational

    out = tmp_path / "trl"
    m = export(preferred, out, ExportConfig(validation=0.3)).manifest
    ns = runpy.run_path(str(out / "trl_preference.py"))
    train, evaluation = ns["train_dataset"], ns["eval_dataset"]
    assert train.column_names == ["prompt", "chosen", "rejected"]
    assert len(train) == m["counts"]["train"] and len(evaluation) == m["counts"]["validation"]
    assert is_conversational(train[0])


def test_sft_options_for_pairs_are_refused_and_stale_files_go(preferred, generated, tmp_path) -> None:
    with pytest.raises(ConfigError, match="--output-format sharegpt: .* is a `tagengo prefer` folder"):
        export(preferred, tmp_path / "x", ExportConfig(output_format="sharegpt"))
    with pytest.raises(ConfigError, match="--repair merge-consecutive"):
        export(preferred, tmp_path / "x", ExportConfig(repair="merge-consecutive"))
    out = tmp_path / "both"
    export(generated, out, ExportConfig())
    assert (out / "axolotl.yaml").exists() and (out / "trl_sft.py").exists()
    export(preferred, out, ExportConfig())
    assert not (out / "axolotl.yaml").exists() and not (out / "trl_sft.py").exists()
    assert (out / "axolotl_dpo.yaml").exists() and (out / "train_argilla.jsonl").exists()
    export(generated, out, ExportConfig())
    for name in ("axolotl_dpo.yaml", "axolotl_orpo.yaml", "trl_preference.py", "train_argilla.jsonl"):
        assert not (out / name).exists(), name


def test_cli_and_card_say_pairs(preferred, tmp_path) -> None:
    out = tmp_path / "cli"
    res = CliRunner().invoke(command, ["--input", str(preferred), "--out", str(out)])
    assert res.exit_code == 0, res.output
    printed = " ".join(res.output.split())  # rich wraps long lines
    assert (
        "read 5 prompts, 15 pairs: wrote 12 pairs in 3 languages (train 12, validation 0); skipped 3"
        in printed
    )
    assert "axolotl_dpo.yaml, axolotl_orpo.yaml, trl_preference.py" in printed
    card = (out / "README.md").read_text()
    assert (
        "12 preference pairs in 3 languages (prompt, chosen, rejected) for DPO or ORPO, from 5 prompts"
        in card
    )
    assert "rl: dpo" in card and "rl: orpo" in card and "## Preference" in card and "## Skipped pairs" in card
    header = card.split("---")[1]
    assert "config_name: default" in header and "config_name: argilla" in header
    assert json.loads((out / "export.json").read_text())["kind"] == "preference"


def test_pairs_whose_answers_are_the_same_text_are_skipped_with_a_countable_reason(
    preferred, tmp_path
) -> None:
    """A prefer folder whose pairs hold one answer twice (two names for one server, a folder
    written before prefer checked): export skips those pairs as same_answer, counts reconcile."""
    import shutil

    from tagengo.records import records_to_table
    from tagengo.run.dataset import read_records, write_parquet_atomic

    src = tmp_path / "prefer"
    shutil.copytree(preferred, src)
    rows = read_records(src)
    for row in rows:
        if row.id == "d1":  # 'plain' now answers what 'best' answers, in capitals and without the dot
            answers = {a["model"]: a for a in row.meta["preference"]["answers"]}
            answers["plain"]["content"] = answers["best"]["content"].upper().rstrip(".")
    for f in (src / "data").glob("part-*.parquet"):
        f.unlink()
    write_parquet_atomic(src / "data" / "part-00000.parquet", records_to_table(rows))
    m = export(src, tmp_path / "out", ExportConfig()).manifest
    c = m["counts"]
    assert (c["pairs"], c["skipped"], c["exported"]) == (15, 4, 11)
    assert c["train"] + c["validation"] + c["skipped"] == c["pairs"]
    skipped = {s["id"]: s["reason"] for s in _jsonl(tmp_path / "out" / "skipped.jsonl")}
    same = {k: v for k, v in skipped.items() if v.startswith("same_answer: ")}
    assert list(same) == ["d1#0"] and "differ only in case" in same["d1#0"]
    assert m["languages"]["de"] == {"train": 2, "validation": 0, "skipped": 1}
