"""llama-cpp-python's own OpenAI-compatible server running the bundled SmolLM2-135M-Instruct on
loopback: a real server, for the tests that must talk to one. Tests that use it carry the ``llm``
marker (the model runs in the child process, where the marker guard cannot see it)."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_cpp_server(log_dir: Path, *, alias: str = "smollm2", n_ctx: int = 2048) -> Iterator[str]:
    """Start ``python -m llama_cpp.server`` on the bundled GGUF; yield its API root (…/v1); stop it."""
    pytest.importorskip("llama_cpp.server.app", reason="needs llama-cpp-python[server]")
    from tagengo.llm.backends.llamacpp import bundled_gguf

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", alias, "--verbose", "False"]
    # A file, not a pipe: a full pipe buffer would block the server's logging, and the server.
    log_path = log_dir / "llama-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 90
            while True:
                if proc.poll() is not None:
                    pytest.fail(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        pytest.fail("llama_cpp.server did not start within 90 s")
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
