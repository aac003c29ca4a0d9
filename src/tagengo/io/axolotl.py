"""One Axolotl ``datasets:`` entry for a file of conversations: what both ``tagengo export``
(its ``axolotl.yaml``) and ``tagengo train --print-axolotl`` write, so the two train alike. Below
the stages (export lives in mix/, the other in train/), so neither imports the other."""

from __future__ import annotations

from typing import Any


def dataset_entry(
    path: str, fmt: str, *, ds_type: str | None = None, data_files: list[str] | None = None
) -> dict[str, Any]:
    """One Axolotl ``datasets:`` entry for conversations in ``fmt`` (messages, sharegpt, alpaca)
    at ``path``: the one source of both ``tagengo train --print-axolotl`` and the
    ``axolotl.yaml`` that ``tagengo export`` writes (``tagengo.mix.card``), so the two train
    alike. Chat formats: the model's chat template, the loss on assistant turns only
    (``roles_to_train``), and on each assistant turn's end-of-turn token (``train_on_eos: turn``,
    as tagengo's own labels do: the template's end-of-turn marker belongs to the turn)."""
    entry: dict[str, Any] = {"path": path, "ds_type": ds_type or ("parquet" if fmt == "parquet" else "json")}
    if data_files:
        entry["data_files"] = list(data_files)
    if fmt == "alpaca":
        entry["type"] = "alpaca"
        return entry
    entry.update({"type": "chat_template", "roles_to_train": ["assistant"], "train_on_eos": "turn"})
    if fmt == "sharegpt":
        entry["field_messages"] = "conversations"
        entry["message_property_mappings"] = {"role": "from", "content": "value"}
    else:
        entry["field_messages"] = "messages"
    return entry
