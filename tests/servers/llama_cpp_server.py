"""llama-cpp-python's own OpenAI-compatible server running the bundled SmolLM2-135M-Instruct
on 127.0.0.1: a real server for tests that must meet one (``llama_server(log_dir)``, a context
manager yielding the ``/v1`` base URL; the model is named ``smollm2``). Tests using it carry the
``llm`` marker by hand: the model runs in the child process."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def llama_server(log_dir: Path, *, n_ctx: int = 1024, start_timeout_s: float = 180) -> Iterator[str]:
    """Start the server, wait until it accepts connections, yield its URL, stop it.
    Raises RuntimeError (with the server's log) when it exits or does not come up in time."""
    from tagengo.llm.backends.llamacpp import bundled_gguf

    port = free_port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(bundled_gguf()), "--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--n_ctx", str(n_ctx), "--model_alias", "smollm2", "--verbose", "False"]
    # A file, not a pipe: a full pipe buffer would block the server's logging, and the server.
    log_path = log_dir / "llama-server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + start_timeout_s
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama_cpp.server exited: {log_path.read_text()[-2000:]}")
                try:
                    with socket.create_connection(("127.0.0.1", port), timeout=1):
                        break
                except OSError:
                    if time.monotonic() > deadline:
                        raise RuntimeError(
                            f"llama_cpp.server did not start within {start_timeout_s:.0f} s"
                        ) from None
                    time.sleep(0.3)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
