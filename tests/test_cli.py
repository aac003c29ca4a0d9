"""The `tagengo` program's end (tagengo.cli._end_program): it skips the interpreter's teardown,
so these run it as a program, in its own process, and check that nothing the teardown would
have done for the user is lost: exit status, output to a pipe, atexit handlers, and a
non-daemon thread's work."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PROGRAM = textwrap.dedent(
    """
    import atexit, sys, threading, time
    from pathlib import Path

    out = Path(sys.argv[1])
    atexit.register(lambda: print("atexit ran", flush=False))

    def late_writer():
        time.sleep(0.3)
        out.write_text("thread finished")

    threading.Thread(target=late_writer).start()  # non-daemon: the program must wait for it
    sys.stdout.write("buffered, not flushed\\n")
    from tagengo.cli import main

    sys.argv = ["tagengo", *sys.argv[2:]]
    main()
    print("unreachable: main() ends the program")
    """
)


def _program(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    marker = tmp_path / "marker.txt"
    proc = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(marker), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc, marker


def test_program_end_keeps_output_handlers_and_threads(tmp_path: Path) -> None:
    proc, marker = _program(tmp_path, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "buffered, not flushed" in proc.stdout  # flushed to the pipe before os._exit
    assert "Usage: tagengo" in proc.stdout
    assert "atexit ran" in proc.stdout  # atexit handlers still run, and their output is flushed
    assert "unreachable" not in proc.stdout
    assert marker.read_text() == "thread finished"  # joined, not cut off


def test_program_end_keeps_the_exit_status(tmp_path: Path) -> None:
    proc, marker = _program(tmp_path, "curate", "--input", str(tmp_path / "missing.jsonl"), "--out", "x")
    assert proc.returncode == 2, (proc.returncode, proc.stderr)
    assert "missing.jsonl" in proc.stderr
    assert "atexit ran" in proc.stdout
    assert marker.read_text() == "thread finished"

    proc, _ = _program(tmp_path, "no-such-stage")
    assert proc.returncode == 2
    assert "No such command" in proc.stderr


def test_in_process_main_returns(tmp_path: Path) -> None:
    """Tests and scripts call main(argv): it returns the status instead of ending the process."""
    from tagengo.cli import main

    assert main(["--help"]) == 0
    assert main(["no-such-stage"]) == 2


def test_ctrl_c_says_that_a_rerun_resumes(monkeypatch, capsys) -> None:
    """click turns Ctrl-C during a command into Abort; the user is told the work is kept."""
    import tagengo.curate.stage as curate_stage
    from tagengo.cli import main

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(curate_stage, "curate", interrupted)
    assert main(["curate", "--out", "never-written"]) == 130
    assert "Interrupted; finished work is kept and a re-run resumes." in capsys.readouterr().err


def test_report_refuses_to_replace_a_file_that_is_not_html(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from tagengo.cli import cli

    folder = tmp_path / "mix"
    folder.mkdir()
    manifest = folder / "manifest.json"
    manifest.write_text('{"stage": "mix"}')
    res = CliRunner().invoke(cli, ["report", str(folder), "--out", str(manifest)])
    assert res.exit_code == 2 and "is not an HTML page" in res.output
    assert manifest.read_text() == '{"stage": "mix"}'
