"""SIGTERM ends a run as Ctrl-C does: Docker, Slurm, Kubernetes and `timeout` stop a job with
TERM, and the user must learn that the finished work is kept (Python's default: die silently).
The real `tagengo` program in a subprocess, a real signal, a real local teacher over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from servers.loopback import started_servers
from servers.scripted_judge import ScriptedJudgeServer

PROGRAM = [sys.executable, "-c", "from tagengo.cli import main; main()"]


def _as_in_a_terminal() -> None:
    """The child starts with SIGINT's default action, as a program started from a terminal
    does. A run started in the background (``cmd &``, ``nohup``) inherits SIGINT ignored, by the
    shell's design, and Python then keeps ignoring it: a test run launched that way would send
    Ctrl-C to a child that cannot hear it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.fixture
def servers() -> Iterator[Callable[..., ScriptedJudgeServer]]:
    yield from started_servers(ScriptedJudgeServer)


def _rows(path: Path, n: int) -> Path:
    rows = [{"id": f"r{i}", "language": "en", "prompt": f"Question number {i}?"} for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _generate(src: Path, out: Path, server: ScriptedJudgeServer, cache: Path) -> list[str]:
    return [*PROGRAM, "generate", "--input", str(src), "--out", str(out), "--base-url", server.url,
            "--model", "scripted", "--cache-path", str(cache), "--concurrency", "1", "--no-progress"]  # fmt: skip


def _stop(proc: subprocess.Popen, sig: int, server: ScriptedJudgeServer, answered: int) -> tuple[int, str]:
    """Send ``sig`` once the server has answered ``answered`` requests; the exit status and stderr."""
    deadline = time.monotonic() + 60
    while server.received <= answered:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(sig)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err


@pytest.mark.parametrize(
    ("sig", "code", "said"),
    [
        (signal.SIGTERM, 143, "Interrupted by SIGTERM; finished work is kept and a re-run resumes."),
        (signal.SIGINT, 130, "Interrupted; finished work is kept and a re-run resumes."),
    ],
)
def test_a_signal_ends_a_run_with_the_sentence_and_a_rerun_pays_nothing_twice(
    servers, tmp_path, sig, code, said
):
    server = servers(lambda messages: "An answer of a few words.", latency_s=0.2)
    src, out, cache = _rows(tmp_path / "in.jsonl", 40), tmp_path / "out", tmp_path / "cache.sqlite"
    env = {**os.environ, "TAGENGO_PROGRESS_INTERVAL": "0.2"}
    proc = subprocess.Popen(_generate(src, out, server, cache), stderr=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, text=True, env=env,
                            preexec_fn=_as_in_a_terminal)  # fmt: skip
    got, err = _stop(proc, sig, server, answered=3)
    assert got == code, err[-2000:]
    assert said in err
    assert "Traceback" not in err
    # The answers finished before the signal are in the cache: the re-run asks only for the rest.
    asked_before = server.received
    server.latency_s = 0.0
    again = subprocess.run(_generate(src, out, server, cache), capture_output=True, text=True, env=env)
    assert again.returncode == 0, again.stderr[-2000:]
    assert server.received - asked_before <= 40 - 3


def test_sigterm_stops_a_runner_stage_and_its_worker_processes_quietly(tmp_path):
    # The runner's forked workers inherit the handler; the pool stops them with SIGTERM, and they
    # must end as by default (a traceback per worker was printed), while the program says the sentence.
    src = tmp_path / "in.jsonl"
    with src.open("w") as f:
        for i in range(150_000):
            text = f"Bitte erkläre mir Schritt {i} der Aufgabe über das Thema im Detail."
            f.write(
                json.dumps({"id": f"r{i}", "language": "de", "prompt": text, "response": "Gerne."}) + "\n"
            )
    out = tmp_path / "out"
    args = ["curate", "--input", str(src), "--out", str(out), "--workers", "2", "--no-progress"]
    proc = subprocess.Popen([*PROGRAM, *args], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    deadline = time.monotonic() + 120
    while not list((out / ".work" / "chunks").glob("*.done.json")):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    try:
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err[-2000:]
    assert err.strip() == "Interrupted by SIGTERM; finished work is kept and a re-run resumes."


def test_a_forked_worker_gets_sigterms_default_action_not_the_programs_handler():
    """The pool ends its idle workers with SIGTERM when a stage ends. A worker that inherited the
    program's Python handler had to run Python code to die, and one blocked on the pool's queue
    lock once never did (CI hung in `curate --workers 2`): forked children get the kernel's
    default action back at once."""
    from tagengo.cli import _term_as_interrupt

    with _term_as_interrupt():
        assert callable(signal.getsignal(signal.SIGTERM))  # the program's handler, in the parent
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report its handler, then wait to be stopped as the pool does
            os.write(write, b"default" if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL else b"python")
            time.sleep(30)
            os._exit(0)
        os.close(write)
        said = os.read(read, 16)
        os.kill(pid, signal.SIGTERM)
        _, status = os.waitpid(pid, 0)
    assert said == b"default"
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
