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
