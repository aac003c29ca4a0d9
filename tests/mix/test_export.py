"""`tagengo export`: files read back equal the records; skipped rows are reported; the split is
exact, seeded and keeps parallel groups on one side; writes leave no partial files."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from tagengo.errors import ConfigError, InputError
from tagengo.io.source import open_source, parse_chunk
from tagengo.mix.config import ExportConfig
from tagengo.mix.export import export
from tagengo.mix.export_cli import command
from tagengo.mix.recipes import meta_value
from tagengo.run.dataset import read_records, read_table
from tagengo.run.steps import Step

from .conftest import stage, unanswered


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def read_rows(out: Path, name: str) -> list[dict]:
    path = out / name
    return pq.read_table(path).to_pylist() if path.suffix == ".parquet" else read_jsonl(path)


@pytest.fixture(scope="module")
def records(generated):
    return {r.id: r for r in read_records(generated)}


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet", "alpaca"])
def test_files_read_back_as_the_records(fmt, generated, records, tmp_path) -> None:
    out = tmp_path / fmt
    m = export(generated, out, ExportConfig(output_format=fmt)).manifest
    name = "train.parquet" if fmt == "parquet" else "train.jsonl"
    rows = read_rows(out, name)
    answered = [rid for rid in records if not unanswered(rid)]
    assert [r["id"] for r in rows] == answered  # input order, every answered row, nothing else
    for row in rows:
        rec = records[row["id"]]
        assert (row["language"], row["source"]) == (rec.language, rec.source)
        if fmt in ("messages", "parquet"):
            assert row["messages"] == rec.messages
        elif fmt == "sharegpt":
            back = {"human": "user", "gpt": "assistant", "system": "system"}
            assert [
                {"role": back[t["from"]], "content": t["value"]} for t in row["conversations"]
            ] == rec.messages
        else:
            assert len(rec.messages) == 2
            assert (row["instruction"], row["input"], row["output"]) == (
                rec.messages[0]["content"],
                "",
                rec.messages[1]["content"],
            )
    assert m["counts"]["train"] == len(rows) == m["files"][name]["rows"]


@pytest.mark.parametrize("fmt", ["messages", "sharegpt"])
def test_tagengos_own_readers_read_the_files_back(fmt, generated, records, tmp_path) -> None:
    out = tmp_path / fmt
    export(generated, out, ExportConfig(output_format=fmt))
    source = open_source(out / "train.jsonl")
    assert source.format == fmt
    back = []
    for chunk in source.iter_chunks(1000):
        recs, bad = parse_chunk(chunk, source.format, "x")
        assert not bad
        back.extend(recs)
    assert [r.messages for r in back] == [records[r.id].messages for r in back]
    assert [r.language for r in back] == [records[r.id].language for r in back]


def test_rows_without_an_answer_are_counted_listed_and_reported(generated, records, tmp_path) -> None:
    out = tmp_path / "skip"
    m = export(generated, out, ExportConfig()).manifest
    missing = [rid for rid in records if unanswered(rid)]
    assert missing  # the fixture leaves some
    skipped = read_jsonl(out / "skipped.jsonl")
    assert [s["id"] for s in skipped] == missing
    assert {s["reason"] for s in skipped} == {"ends with a user turn, not an assistant answer"}
    assert m["counts"]["skipped"] == len(missing)
    assert m["counts"]["input"] == len(records) == m["counts"]["train"] + m["counts"]["skipped"]
    assert m["skipped_by_reason"] == {"ends with a user turn, not an assistant answer": len(missing)}
    by_lang = Counter(records[rid].language for rid in missing)
    assert {k: v["skipped"] for k, v in m["languages"].items() if v["skipped"]} == dict(by_lang)
    assert f"{len(missing):,} rows of the input could not be written" in (out / "README.md").read_text()


def test_split_is_exact_disjoint_and_seeded(generated, records, tmp_path) -> None:
    cfg = ExportConfig(validation=0.2, seed=5)
    m = export(generated, tmp_path / "a", cfg).manifest
    train = [r["id"] for r in read_jsonl(tmp_path / "a" / "train.jsonl")]
    val = [r["id"] for r in read_jsonl(tmp_path / "a" / "validation.jsonl")]
    answered = [rid for rid in records if not unanswered(rid)]
    assert len(val) == round(0.2 * len(answered)) == m["counts"]["validation"]
    assert not set(train) & set(val) and sorted(train + val) == sorted(answered)
    assert {k: v["validation"] for k, v in m["languages"].items() if v["validation"]} == dict(
        Counter(records[i].language for i in val)
    )
    again = export(generated, tmp_path / "b", cfg).manifest
    assert again["files"] == m["files"]  # byte-identical files (same sha256)
    other = export(generated, tmp_path / "c", ExportConfig(validation=0.2, seed=6)).manifest
    assert other["counts"]["validation"] == len(val)
    assert [r["id"] for r in read_jsonl(tmp_path / "c" / "validation.jsonl")] != val


def test_split_keeps_parallel_groups_on_one_side(parallel, tmp_path) -> None:
    export(parallel, tmp_path / "p", ExportConfig(validation=0.3, seed=1))
    meta = {r.id: r.meta for r in read_records(parallel)}
    side: dict[str, set[str]] = {}
    for split in ("train", "validation"):
        for row in read_jsonl(tmp_path / "p" / f"{split}.jsonl"):
            g = meta_value(meta[row["id"]], "parallel_group")
            if g is not None:
                side.setdefault(g, set()).add(split)
    assert side and all(len(s) == 1 for s in side.values())
    assert any(s == {"validation"} for s in side.values())


def test_alpaca_skips_what_it_cannot_hold(generated, tmp_path) -> None:
    """Multi-turn and system-prompted rows are not alpaca rows: skipped with the reason."""

    class Longer(Step):
        name = "longer"

        def process(self, batch):
            for i, r in enumerate(batch):
                if r.messages[-1]["role"] == "assistant" and i % 4 == 0:
                    r.messages = [{"role": "system", "content": "Be brief."}, *r.messages]
                elif r.messages[-1]["role"] == "assistant" and i % 4 == 1:
                    r.messages = [
                        *r.messages,
                        {"role": "user", "content": "More?"},
                        {"role": "assistant", "content": "No."},
                    ]
            return batch, []

    src = stage("reshape", generated, tmp_path / "reshaped", [Longer()])
    m = export(src, tmp_path / "alp", ExportConfig(output_format="alpaca")).manifest
    reasons = m["skipped_by_reason"]
    assert reasons["has a system turn (alpaca has no field for one)"] > 0
    assert reasons["4 turns; alpaca holds one instruction and one output"] > 0
    rows = read_jsonl(tmp_path / "alp" / "train.jsonl")
    assert len(rows) == m["counts"]["train"] and all(
        set(r) >= {"instruction", "input", "output"} for r in rows
    )


def test_writes_are_atomic_and_stale_files_go(generated, tmp_path) -> None:
    out = tmp_path / "atomic"
    export(generated, out, ExportConfig(validation=0.1))
    assert (out / "validation.jsonl").exists()
    export(generated, out, ExportConfig(output_format="parquet"))
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "README.md",
        "axolotl.yaml",
        "export.json",
        "skipped.jsonl",
        "train.parquet",
        "trl_sft.py",
    ]


def test_export_refuses_what_it_cannot_read(generated, tmp_path) -> None:
    with pytest.raises(InputError, match="not a complete tagengo dataset folder"):
        export(tmp_path, tmp_path / "o", ExportConfig())
    with pytest.raises(ConfigError, match="--out is the input folder"):
        export(generated, generated, ExportConfig())
    with pytest.raises(ValueError, match="unknown column"):
        ExportConfig(columns=["id", "tokens"])
    tampered = tmp_path / "tampered"
    shutil.copytree(generated, tampered)
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["counts"]["kept"] += 1
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(InputError, match="data/ holds .* rows but manifest.json says"):
        export(tampered, tmp_path / "t", ExportConfig())


def test_meta_column_is_written_as_an_object(generated, records, tmp_path) -> None:
    export(generated, tmp_path / "meta", ExportConfig(columns=["id", "meta"]))
    row = read_jsonl(tmp_path / "meta" / "train.jsonl")[0]
    assert set(row) == {"messages", "id", "meta"}
    assert row["meta"] == records[row["id"]].meta


def test_cli_exports_and_reports_skips(generated, tmp_path) -> None:
    out = tmp_path / "cli"
    res = CliRunner().invoke(
        command,
        [
            "--input",
            str(generated),
            "--out",
            str(out),
            "--output-format",
            "sharegpt",
            "--validation",
            "0.1",
            "--no-progress",
        ],
    )
    assert res.exit_code == 0, res.output
    m = json.loads((out / "export.json").read_text())
    assert m["config"]["output_format"] == "sharegpt" and m["counts"]["validation"] > 0
    assert read_table(generated).num_rows == m["counts"]["input"]
    assert f"skipped {m['counts']['skipped']:,}" in res.output


# --- the chat rules, and the loaders trainers use ------------------------------------------

RULE_ROWS = {
    "ok-1": [("user", "Wie spät ist es?"), ("assistant", "Es ist drei Uhr.")],
    "ok-2": [
        ("system", "Antworte kurz."),
        ("user", "Hallo"),
        ("assistant", "Hallo!"),
        ("user", "Und?"),
        ("assistant", "Gut."),
    ],
    "user-user": [("user", "Erstens."), ("user", "Zweitens?"), ("assistant", "Beides.")],
    "asst-asst": [("user", "Frage?"), ("assistant", "Teil eins."), ("assistant", "Teil zwei.")],
    "mid-system": [("user", "Frage?"), ("system", "Sei nett."), ("assistant", "Antwort.")],
    "blank-turn": [("user", "\u200b"), ("assistant", "Was meinst du?")],
}
RULE_REASONS = {
    "user-user": "two user turns in a row (turns 1 and 2); user and assistant must alternate",
    "asst-asst": "two assistant turns in a row (turns 2 and 3); user and assistant must alternate",
    "mid-system": "a system turn at turn 2; only one system turn, first, is allowed",
    "blank-turn": "turn 1 (user) is empty",
}

# A chat template that enforces the roles, as many model templates do (Llama 2, Mistral,
# Gemma): written for this test, rendered the way transformers renders chat templates.
STRICT_TEMPLATE = """
{%- set offset = 1 if messages[0].role == 'system' else 0 -%}
{%- for m in messages -%}
  {%- if m.role == 'system' and loop.index0 != 0 -%}{{ raise_exception('system turn not first') }}{%- endif -%}
  {%- if loop.index0 >= offset and (m.role == 'user') != ((loop.index0 - offset) % 2 == 0) -%}
    {{ raise_exception('roles must alternate user/assistant') }}
  {%- endif -%}
  {%- if m.content | trim == '' -%}{{ raise_exception('empty turn') }}{%- endif -%}
  <{{ m.role }}>{{ m.content }}</{{ m.role }}>
{%- endfor -%}
{%- if messages[-1].role != 'assistant' -%}{{ raise_exception('no answer to learn') }}{%- endif -%}
"""


def _render_strict(messages: list[dict]) -> str:
    from jinja2.exceptions import TemplateError
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg: str) -> None:
        raise TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    return env.from_string(STRICT_TEMPLATE).render(messages=messages)


@pytest.fixture(scope="module")
def rule_breakers(tmp_path_factory) -> Path:
    # Tagengo records (source and meta given): the readers shape the chats of source formats
    # (io/shape.py), so rows that break the rules reach a dataset folder only as records.
    src = tmp_path_factory.mktemp("rules") / "rows.jsonl"
    rows = [
        {
            "id": rid,
            "source": "rules",
            "language": "de",
            "meta": {},
            "messages": [{"role": r, "content": c} for r, c in turns],
        }
        for rid, turns in RULE_ROWS.items()
    ]
    src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return stage("generate", src, src.parent / "folder", [])


def _turn_fields(ds, column: str) -> set[str]:
    """The fields of one turn in a list-of-turns column (datasets >= 4: List(feature=...))."""
    feature = ds.features[column]
    inner = getattr(feature, "feature", None)
    return set(inner if inner is not None else feature[0])


def _trainer_rows(out: Path, fmt: str) -> list[list[dict]]:
    """The exported conversations as TRL/Axolotl see them: loaded with `datasets`, ShareGPT
    speakers mapped the way Axolotl's chat_template strategy maps them by default."""
    from datasets import load_dataset

    name = "train.parquet" if fmt == "parquet" else "train.jsonl"
    ds = load_dataset("parquet" if fmt == "parquet" else "json", data_files=str(out / name), split="train")
    if fmt == "sharegpt":
        roles = {"human": "user", "gpt": "assistant", "system": "system"}
        assert _turn_fields(ds, "conversations") == {"from", "value"}
        return [[{"role": roles[t["from"]], "content": t["value"]} for t in c] for c in ds["conversations"]]
    assert _turn_fields(ds, "messages") == {"role", "content"}  # TRL's conversational format
    return list(ds["messages"])


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet"])
def test_conversations_that_break_the_chat_rules_are_skipped_with_the_reason(rule_breakers, tmp_path, fmt):
    out = tmp_path / fmt
    m = export(rule_breakers, out, ExportConfig(output_format=fmt)).manifest
    skipped = {s["id"]: s["reason"] for s in read_jsonl(out / "skipped.jsonl")}
    assert skipped == RULE_REASONS
    assert m["counts"]["skipped"] == len(RULE_REASONS) and m["counts"]["train"] == 2
    assert m["skipped_by_reason"] == {r: 1 for r in RULE_REASONS.values()}
    rows = _trainer_rows(out, fmt)
    assert len(rows) == 2
    for messages in rows:
        _render_strict(messages)  # raises on any row a role-enforcing template refuses


def test_repair_merges_consecutive_turns_only_when_asked(rule_breakers, tmp_path):
    out = tmp_path / "repaired"
    m = export(rule_breakers, out, ExportConfig(repair="merge-consecutive")).manifest
    skipped = {s["id"] for s in read_jsonl(out / "skipped.jsonl")}
    assert skipped == {"mid-system", "blank-turn"}  # merging cannot fix these
    assert m["counts"]["repaired"] == 2 and m["counts"]["train"] == 4
    by_first = {tuple(t["content"] for t in row): row for row in _trainer_rows(out, "messages")}
    assert ("Erstens.\n\nZweitens?", "Beides.") in by_first
    assert ("Frage?", "Teil eins.\n\nTeil zwei.") in by_first
    for messages in by_first.values():
        _render_strict(messages)


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet", "alpaca"])
def test_every_export_loads_with_datasets_and_its_axolotl_config_points_at_it(fmt, generated, tmp_path):
    import yaml
    from datasets import load_dataset

    out = tmp_path / fmt
    m = export(generated, out, ExportConfig(output_format=fmt, validation=0.2)).manifest
    cfg = yaml.safe_load((out / "axolotl.yaml").read_text())
    entries = cfg["datasets"] + cfg.get("test_datasets", [])
    assert {e["path"] for e in entries} == set(m["files"])
    for e in entries:
        ds = load_dataset(e["ds_type"], data_files=str(out / e["path"]), split="train")
        assert len(ds) == m["files"][e["path"]]["rows"] > 0
        if fmt == "alpaca":
            assert e["type"] == "alpaca" and {"instruction", "input", "output"} <= set(ds.column_names)
            continue
        assert e["type"] == "chat_template" and e["field_messages"] in ds.column_names
        mapping = e.get("message_property_mappings", {"role": "role", "content": "content"})
        roles = {
            "human": "user",
            "gpt": "assistant",
            "user": "user",
            "assistant": "assistant",
            "system": "system",
        }
        for conv in ds[e["field_messages"]]:
            _render_strict(
                [{"role": roles[t[mapping["role"]]], "content": t[mapping["content"]]} for t in conv]
            )


@pytest.mark.parametrize("fmt", ["messages", "sharegpt", "parquet", "alpaca"])
def test_a_folder_with_no_rows_and_one_with_no_trainable_row_export_complete(tmp_path, fmt) -> None:
    src = tmp_path / "empty.jsonl"
    src.write_text("")
    empty = stage("mix", src, tmp_path / "empty", [])
    only_bad = tmp_path / "bad.jsonl"
    only_bad.write_text(json.dumps({"id": "q", "messages": [{"role": "user", "content": "Frage?"}]}) + "\n")
    unanswered_only = stage("mix", only_bad, tmp_path / "unanswered", [])
    for folder, skipped in ((empty, 0), (unanswered_only, 1)):
        out = tmp_path / f"out-{folder.name}-{fmt}"
        m = export(folder, out, ExportConfig(output_format=fmt)).manifest
        assert m["counts"] == {
            **m["counts"],
            "input": skipped,
            "train": 0,
            "validation": 0,
            "skipped": skipped,
        }
        assert json.loads((out / "export.json").read_text())["counts"] == m["counts"]
        for name in ("README.md", "axolotl.yaml", "trl_sft.py", "skipped.jsonl"):
            assert (out / name).is_file(), name
        train = out / ("train.parquet" if fmt == "parquet" else "train.jsonl")
        assert train.is_file() and m["files"][train.name]["rows"] == 0
        if fmt == "parquet":
            assert pq.read_table(train).num_rows == 0 and "messages" in pq.read_schema(train).names
        assert len(read_jsonl(out / "skipped.jsonl")) == skipped


def test_counts_of_languages_are_worded_right_and_unlabelled_rows_are_no_language(tmp_path) -> None:
    def folder(name: str, languages: list[str | None]) -> Path:
        rows = tmp_path / f"{name}.jsonl"
        rows.write_text(
            "".join(
                json.dumps(
                    {
                        "id": f"{name}{i}",
                        "language": lang,
                        "messages": [
                            {"role": "user", "content": f"q {i}"},
                            {"role": "assistant", "content": "a"},
                        ],
                    }
                )
                + "\n"
                for i, lang in enumerate(languages)
            )
        )
        return stage("copy", rows, tmp_path / name, [])  # every row kept as read, labelled or not

    cases = [
        (["en"], "wrote 1 row in 1 language", "1 conversation in 1 language for"),
        (["en", "de", None], "wrote 3 rows (2 in 2 languages, 1 unlabelled)", "3 conversations (2 in 2"),
        ([None, None], "wrote 2 unlabelled rows", "2 unlabelled conversations for"),
    ]
    for i, (languages, printed, card) in enumerate(cases):
        out = tmp_path / f"export{i}"
        res = CliRunner().invoke(command, ["--input", str(folder(f"m{i}", languages)), "--out", str(out)])
        assert res.exit_code == 0, res.output
        text = " ".join(res.output.split())  # rich wraps long lines
        assert printed in text and "1 languages" not in text
        assert card in (out / "README.md").read_text()
