"""The one LLM-stage shape (tagengo.run.llm_stage): a run's clients, local vs Ray, the summary at
the end, and the command-line options every stage of model calls shares."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel, Field
from rich.console import Console

from tagengo.errors import ConfigError, InputError
from tagengo.llm import LLMConfig
from tagengo.run.llm_stage import LLMStage, StageArgs, actor_workers, llm_stage_command, print_llm_summary
from tagengo.run.runner import StageResult


def _config() -> LLMConfig:
    # Nothing connects before the first call: a port nobody listens on is fine.
    return LLMConfig(backend="openai", base_url="http://127.0.0.1:9/v1", model="m", cache=False)


class _Closable:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    def close(self) -> None:
        self.log.append(self.name)


def test_a_run_closes_the_clients_it_built_and_leaves_the_callers_open():
    given = LLMStage().client(None, _config())  # a caller's client, built elsewhere
    with LLMStage() as run:
        built = run.client(None, _config())
        assert run.client(given, _config()) is given
        assert not built._closed
    assert built._closed and not given._closed
    given.close()


def test_what_a_run_owns_is_closed_last_first_also_when_the_run_fails():
    log: list[str] = []
    with pytest.raises(RuntimeError), LLMStage() as run:
        run.own(_Closable("answers", log))
        run.own(_Closable("judge", log))
        raise RuntimeError("the server stopped the run")
    assert log == ["judge", "answers"]


@pytest.mark.parametrize(
    ("run_kw", "workers", "on_ray", "rest"),
    [
        ({}, 1, False, {}),
        ({"workers": 4}, 1, False, {}),  # locally one process makes the calls, whatever was asked
        ({"executor": "ray"}, 1, True, {"executor": "ray"}),
        (
            {"executor": "ray", "workers": 3, "ray_address": "auto"},
            3,
            True,
            {"executor": "ray", "ray_address": "auto"},
        ),
    ],
)
def test_local_is_one_process_and_ray_is_workers_actors(run_kw, workers, on_ray, rest):
    asked = dict(run_kw)
    run = LLMStage(None, run_kw)
    assert (run.workers, run.on_ray, run.run_kw, run.progress) == (workers, on_ray, rest, True)
    assert run_kw == asked  # the caller's dict is left as it was
    assert LLMStage(False).progress is False


def test_workers_and_ray_address_without_ray_are_refused():
    assert actor_workers("local", None, None) == {}
    assert actor_workers("ray", None, None) == {"executor": "ray", "ray_address": None, "workers": 1}
    with pytest.raises(ConfigError, match="--workers needs --executor ray"):
        actor_workers("local", None, 2)
    with pytest.raises(ConfigError, match="--ray-address needs --executor ray"):
        actor_workers("local", "auto", None)


def _result(tmp_path: Path, models: dict, *, up_to_date: bool = False) -> StageResult:
    return StageResult(tmp_path, {"steps": [{"name": "generate", "summary": {"models": models}}]}, up_to_date)


def test_the_summary_shows_a_steps_calls_and_says_when_cost_was_not_counted(tmp_path, monkeypatch):
    import tagengo.run.summary

    funnels: list[StageResult] = []
    monkeypatch.setattr(tagengo.run.summary, "print_stage_summary", funnels.append)
    models = {"m@http://127.0.0.1:9/v1": {"calls": 3, "cached": 1, "cost": 0.0}}

    def printed(result: StageResult, **kw) -> str:
        console = Console(record=True, width=200)
        print_llm_summary(result, console=console, **kw)
        return console.export_text()

    text = printed(_result(tmp_path, models), calls_of="generate", title="teacher calls", priced_by=_config())
    assert "teacher calls" in text and "m@http://127.0.0.1:9/v1" in text and "cost not counted" in text
    priced = _config().model_copy(update={"input_price_per_1m": 1.0})
    assert "cost not counted" not in printed(_result(tmp_path, models), calls_of="generate", priced_by=priced)
    assert printed(_result(tmp_path, models)) == ""  # no step named: the funnel only
    assert printed(_result(tmp_path, models, up_to_date=True), calls_of="generate") == ""
    assert len(funnels) == 4


def test_the_summary_shows_each_clients_own_calls(tmp_path):
    class Counted:
        def print_summary(self, console):
            console.print("3 calls")

    console = Console(record=True, width=200)
    print_llm_summary(clients=[Counted(), object()], console=console)  # object(): no accounting
    assert console.export_text() == "3 calls\n"


class _Cfg(BaseModel):
    turns: int = Field(2, description="Turns")
    model: str = Field("m", description="Model")


def _command(seen: list, **decorator_kw) -> click.Command:
    @llm_stage_command(_Cfg, **decorator_kw)
    @click.option("--bench", "bench_dir", default=None, help="A stage's own option.")
    def command(args: StageArgs, bench_dir: str | None) -> None:
        """The stage's help."""
        seen.append((args, bench_dir))

    return command


def test_the_command_has_the_shared_options_in_order_then_its_own_then_the_configs():
    cmd = _command([])
    names = [p.name for p in cmd.params]
    assert names == [
        "input_path", "input_format", "out", "config_file", "force", "progress", "executor", "ray_address",
        "workers", "bench_dir", "cfg__turns", "cfg__model",
    ]  # fmt: skip
    assert cmd.help == "The stage's help."
    reverse_like = [p.name for p in _command([], input_format=False).params]
    assert reverse_like[:3] == ["input_path", "out", "config_file"] and "workers" in reverse_like


def test_the_stage_gets_its_options_checked(tmp_path):
    seen: list = []
    out = str(tmp_path / "o")
    r = CliRunner().invoke(
        _command(seen),
        ["--input", "x.jsonl", "--out", out, "--turns", "3", "--bench", "b", "--format", "lmsys"],
    )
    assert r.exit_code == 0, r.output
    ((args, bench_dir),) = seen
    assert bench_dir == "b" and args.config == _Cfg(turns=3) and args.run_kw == {}
    assert (args.input_path, args.out, args.force, args.progress) == ("x.jsonl", out, False, None)
    assert args.extra == {"input_format": "lmsys"}

    calls: list = []
    args.run(lambda *a, **kw: calls.append((a, kw)) or StageResult(tmp_path, {}, up_to_date=True))
    assert calls == [
        (("x.jsonl", out, _Cfg(turns=3)), {"force": False, "progress": None, "input_format": "lmsys"})
    ]


@pytest.mark.parametrize(
    ("argv", "error", "text"),
    [
        ([], InputError, "give the rows with --input"),
        (["--input", "x", "--workers", "2"], ConfigError, "--workers needs --executor ray"),
        (["--input", "x", "--ray-address", "auto"], ConfigError, "--ray-address needs --executor ray"),
    ],
)
def test_user_errors_come_before_the_stage_runs(tmp_path, argv, error, text):
    seen: list = []
    cmd = _command(seen, needs_input="give the rows with --input")
    r = CliRunner().invoke(cmd, ["--out", str(tmp_path / "o"), *argv], standalone_mode=False)
    assert isinstance(r.exception, error) and text in str(r.exception)
    assert not seen
