"""`tagengo train` on the command line: options from flags and presets, clear errors."""

from __future__ import annotations

import yaml

from tagengo.cli import main


def test_print_axolotl_uses_the_preset_and_flags(capsys) -> None:
    assert main(["train", "--preset", "suzume-2024", "--max-length", "4096", "--print-axolotl"]) == 0
    ax = yaml.safe_load(capsys.readouterr().out)
    assert ax["sequence_len"] == 4096 and ax["learning_rate"] == 1e-5
    assert ax["base_model"] == "meta-llama/Meta-Llama-3-8B-Instruct"


def test_a_hub_name_is_not_downloaded(tmp_path, capsys) -> None:
    data = tmp_path / "d.jsonl"
    data.write_text(
        '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
    )
    rc = main(["train", "--input", str(data), "--out", str(tmp_path / "o"), "--base-model", "org/some-model"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "no such local folder or .gguf file" in err and "--base-model DIR" in err


def test_bad_value_names_the_flag(tmp_path, capsys) -> None:
    rc = main(["train", "--chat-template", "nope", "--print-axolotl"])
    assert rc == 2
    assert "--chat-template" in capsys.readouterr().err


def test_needs_input_and_out(capsys) -> None:
    assert main(["train"]) == 2
    assert "--input" in capsys.readouterr().err


def test_adapter_lora_and_old_method_lora_configs(tmp_path, capsys) -> None:
    assert main(["train", "--adapter", "lora", "--print-axolotl"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["adapter"] == "lora"
    old = tmp_path / "old.yaml"
    old.write_text("method: lora\n")  # written before --method meant the objective
    assert main(["train", "--config", str(old), "--print-axolotl"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["adapter"] == "lora"


def test_print_axolotl_is_for_sft_only(capsys) -> None:
    assert main(["train", "--method", "orpo", "--print-axolotl"]) == 2
    assert "SFT configs only" in capsys.readouterr().err
