"""Fixtures shared across test packages."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tagengo.llm.fake_server import FakeChatServer


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeChatServer]]:
    """Factory: ``fake_server(latency_s=..., faults=FaultRates(...))`` -> a started loopback
    OpenAI-compatible server (real HTTP) that injects the faults asked for; stopped afterwards."""
    servers: list[FakeChatServer] = []

    def start(**kw: Any) -> FakeChatServer:
        s = FakeChatServer(**kw).start()
        servers.append(s)
        return s

    yield start
    for s in servers:
        s.stop()


# -- CI runs every test -----------------------------------------------------------------------
#: A skip whose reason contains this may stand in CI (say, a GPU check): no CI machine can meet it.
NO_CI_MACHINE = "no CI machine"


def _skip_reason(longrepr: object) -> str:
    return str(longrepr[2]) if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)


def _fail_skip_in_ci(report: pytest.TestReport | pytest.CollectReport) -> None:
    """CI installs every extra, so a skip there hides a missing install or a broken import."""
    if not os.environ.get("CI") or not report.skipped or hasattr(report, "wasxfail"):
        return
    reason = _skip_reason(report.longrepr)
    if NO_CI_MACHINE in reason:
        return
    report.outcome = "failed"
    report.longrepr = (
        f"skipped in CI ({reason}). CI installs every extra, so this skip hides a missing install; a "
        f"skip that no CI machine can meet must say '{NO_CI_MACHINE}' in its reason."
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())
