"""`--print-axolotl` output, validated with Axolotl's own config schema (axolotl 0.19,
installed without its dependencies by scripts/setup.sh: the schema needs only pydantic,
torch, transformers and accelerate)."""

from __future__ import annotations

import yaml

from tagengo.train.axolotl import axolotl_yaml
from tagengo.train.config import PRESETS, TrainConfig

from .conftest import TINY


def _schema():
    from axolotl.utils.schemas.config import AxolotlInputConfig
    from axolotl.utils.schemas.datasets import SFTDataset

    return AxolotlInputConfig, SFTDataset


def test_suzume_preset_validates_against_axolotls_schema(tmp_path) -> None:
    schema, dataset_schema = _schema()
    cfg = TrainConfig(**PRESETS["suzume-2024"])
    ax = yaml.safe_load(axolotl_yaml(cfg, TINY, tmp_path / "out"))
    parsed = schema.model_validate(ax)
    # Axolotl ignores unknown keys silently, so check every key is one of its fields.
    assert set(ax) <= set(schema.model_fields)
    assert set(ax["datasets"][0]) <= set(dataset_schema.model_fields)
    # The released values, as Axolotl reads them.
    assert parsed.sequence_len == 8192 and parsed.sample_packing is True
    assert parsed.micro_batch_size == 2 and parsed.gradient_accumulation_steps == 2
    assert parsed.learning_rate == 1e-5 and parsed.lr_scheduler == "cosine" and parsed.warmup_steps == 10
    assert parsed.weight_decay == 0.0 and parsed.num_epochs == 1.0
    assert parsed.train_on_inputs is False and parsed.bf16 is True
    assert ax["datasets"][0]["type"] == "chat_template" and ax["datasets"][0]["field_messages"] == "messages"


def test_lora_and_sharegpt_validate(tmp_path) -> None:
    schema, dataset_schema = _schema()
    share = tmp_path / "train.jsonl"
    share.write_text(
        '{"id": "1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}\n'
    )
    cfg = TrainConfig(adapter="lora", eval_size=0.05, chat_template="chatml", lora={"rank": 8, "alpha": 16})
    ax = yaml.safe_load(axolotl_yaml(cfg, share))
    parsed = schema.model_validate(ax)
    assert set(ax) <= set(schema.model_fields)
    assert set(ax["datasets"][0]) <= set(dataset_schema.model_fields)
    assert parsed.adapter == "lora" and parsed.lora_r == 8 and parsed.lora_alpha == 16
    assert parsed.val_set_size == 0.05
    assert ax["datasets"][0]["message_property_mappings"] == {"role": "from", "content": "value"}


def test_defaults_resolve_for_this_machine_like_tagengo_trains(tmp_path) -> None:
    """On a machine without a GPU tagengo trains with sdpa, no gradient checkpointing and fp32:
    the YAML says the same (it used to ask for flash attention and checkpointing here)."""
    import torch

    schema, _ = _schema()
    text = axolotl_yaml(TrainConfig(), TINY)
    ax = yaml.safe_load(text)
    schema.model_validate(ax)
    if torch.cuda.is_available():  # pragma: no cover - the CI machines have no GPU
        assert ax["gradient_checkpointing"] is True and ax["bf16"] == "auto"
        return
    assert ax["attn_implementation"] == "sdpa" and ax["gradient_checkpointing"] is False
    assert "bf16" not in ax and "fp16" not in ax and ax["optimizer"] == "adamw_torch"
    assert "Resolved for a CPU" in text
    cpu = yaml.safe_load(axolotl_yaml(TrainConfig(device="cpu", attention="eager")))
    assert cpu["attn_implementation"] == "eager"
    # Explicit values (the suzume-2024 preset's) are kept as given.
    suzume = yaml.safe_load(axolotl_yaml(TrainConfig(**PRESETS["suzume-2024"]), TINY))
    assert suzume["attn_implementation"] == "flash_attention_2" and suzume["gradient_checkpointing"] is True
    assert suzume["bf16"] is True and suzume["optimizer"] == "adamw_torch_fused"


def test_dataset_entry_is_the_one_export_writes(tmp_path) -> None:
    """--print-axolotl and export's axolotl.yaml share one dataset entry (train_on_eos: turn …)."""
    from tagengo.mix.card import axolotl_snippet

    share = tmp_path / "train.jsonl"
    share.write_text(
        '{"id": "1", "conversations": [{"from": "human", "value": "hi"}, {"from": "gpt", "value": "hello"}]}\n'
    )
    for fmt, data in (("sharegpt", share), ("messages", TINY)):
        printed = yaml.safe_load(axolotl_yaml(TrainConfig(), data))["datasets"][0]
        files = {data.name: {"split": "train"}}
        exported = yaml.safe_load(axolotl_snippet(files, fmt))["datasets"][0]
        assert printed == {**exported, "path": str(data)}
        assert printed["train_on_eos"] == "turn" and printed["roles_to_train"] == ["assistant"]


def test_a_dataset_folder_is_given_as_its_parquet_files(tmp_path) -> None:
    """A tagengo dataset folder: Axolotl reads a bare folder as a saved `datasets` folder (or a
    hub name), so its Parquet parts are listed in data_files."""
    _, dataset_schema = _schema()
    folder = tmp_path / "mix"
    (folder / "data").mkdir(parents=True)
    for i in (1, 0):
        (folder / "data" / f"part-{i:05d}.parquet").write_bytes(b"")
    entry = yaml.safe_load(axolotl_yaml(TrainConfig(), folder))["datasets"][0]
    assert entry["path"] == str(folder / "data") and entry["ds_type"] == "parquet"
    assert entry["data_files"] == [str(folder / "data" / f"part-{i:05d}.parquet") for i in (0, 1)]
    dataset_schema.model_validate(entry)
