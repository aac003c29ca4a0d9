"""`tagengo prefer` on the command line: repeated --model specs, judge flags, clear errors."""

from __future__ import annotations

import json

import pytest

from tagengo.cli import main

from .conftest import write_prompts


def test_a_run_from_flags(prefer_server, tmp_path, capsys):
    server = prefer_server()
    src = write_prompts(tmp_path / "p.jsonl", [("e1", "en", "Name three fruits.")])
    cache = tmp_path / "c.sqlite"
    args = [
        "prefer",
        "--input",
        str(src),
        "--out",
        str(tmp_path / "out"),
        "--judge-base-url",
        server.url,
        "--judge-model",
        "judge",
        "--judge-cache-path",
        str(cache),
    ]
    for role in ("best", "weak"):
        args += [
            "--model",
            f"name={role},base_url={server.url},model=m,system_prompt=ROLE={role},cache_path={cache}",
        ]
    assert main(args) == 0
    assert "1 pair from 1 prompt ->" in capsys.readouterr().err
    (pair,) = [
        json.loads(x) for x in (tmp_path / "out" / "pairs" / "conversational.jsonl").read_text().splitlines()
    ]
    assert (pair["meta"]["chosen_model"], pair["meta"]["rejected_model"]) == ("best", "weak")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [m["name"] for m in manifest["config"]["models"]] == ["best", "weak"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("base_url", "is not key=value"),
        ("name=a,colour=red", "unknown key 'colour'"),
        ("name=a,temperature=hot,model=x", "temperature"),
    ],
)
def test_bad_model_specs_name_the_problem(tmp_path, capsys, spec, message):
    src = write_prompts(tmp_path / "p.jsonl", [("e1", "en", "hi")])
    assert (
        main(
            [
                "prefer",
                "--input",
                str(src),
                "--out",
                str(tmp_path / "o"),
                "--model",
                spec,
                "--model",
                "llamacpp",
            ]
        )
        == 2
    )
    assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("specs", "message"),
    [
        (
            [
                "name=a,model=x,base_url=http://127.0.0.1:9/v1",
                "name=a,model=y,base_url=http://127.0.0.1:9/v1",
            ],
            "--model: the name 'a' is given twice ('name=a,model=x,base_url=http://127.0.0.1:9/v1' and "
            "'name=a,model=y,base_url=http://127.0.0.1:9/v1'); give each model its own name= part.\n",
        ),
        (["name=,model=x", "llamacpp"], "--model 'name=,model=x': name= has no value."),
        (["name=a,name=b", "llamacpp"], "--model 'name=a,name=b': the key 'name' is given twice."),
    ],
)
def test_repeated_or_empty_model_names_are_one_clear_sentence(tmp_path, capsys, specs, message):
    src = write_prompts(tmp_path / "p.jsonl", [("e1", "en", "hi")])
    args = ["prefer", "--input", str(src), "--out", str(tmp_path / "o")]
    for spec in specs:
        args += ["--model", spec]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Value error" not in err and "validation error" not in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_a_model_named_in_yaml_and_again_with_model_is_refused(tmp_path, capsys):
    src = write_prompts(tmp_path / "p.jsonl", [("e1", "en", "hi")])
    config = tmp_path / "prefer.yaml"
    config.write_text("models:\n  - {name: a, llm: {model: x, base_url: 'http://127.0.0.1:9/v1'}}\n")
    args = ["prefer", "--input", str(src), "--out", str(tmp_path / "o"), "--config", str(config)]
    assert main([*args, "--model", "name=a,model=y,base_url=http://127.0.0.1:9/v1"]) == 2
    assert "--model: the name 'a' is given twice (a model of --config and" in capsys.readouterr().err


def test_one_model_is_a_clear_error(tmp_path, capsys):
    src = write_prompts(tmp_path / "p.jsonl", [("e1", "en", "hi")])
    assert main(["prefer", "--input", str(src), "--out", str(tmp_path / "o"), "--model", "llamacpp"]) == 2
    assert "two or more answering models" in capsys.readouterr().err


def test_workers_without_ray_is_one_sentence(tmp_path, capsys):
    """Locally one process makes the calls: --workers would be accepted and ignored, so it is refused."""
    base = ["prefer", "--input", "x.jsonl", "--out", str(tmp_path / "o")]
    assert main([*base, "--workers", "2"]) == 2
    assert "--workers needs --executor ray" in capsys.readouterr().err
    assert main([*base, "--ray-address", "auto"]) == 2
    err = capsys.readouterr().err
    assert "--ray-address needs --executor ray" in err and "Traceback" not in err
