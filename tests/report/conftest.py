"""Real stage outputs for the report tests: curate (with dedup and its similarity report) and
mix over the bundled sample, reverse and translate against the scripted chat server, and a
FastChat-layout bench folder (our judgment fixtures).

And a real browser: Debian's headless Chromium driven by Playwright (no browser download),
recording what a user's browser would: console messages, page errors, every request and a
screenshot."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parents[1]
BENCH_FIXTURE = TESTS / "bench" / "fixtures" / "mt_bench"
#: Corpora whose fragments steer the scripted server (tests/servers/scripted_chat.py): the
#: reverse tests' German one and our French one; the translate tests' chats.
REVERSE_DE = TESTS / "reverse" / "fixtures" / "steered_de.txt"
REVERSE_FR = Path(__file__).parent / "fixtures" / "steered_fr.txt"
TRANSLATE_EN = TESTS / "translate" / "fixtures" / "chats_en.jsonl"
#: USD per million tokens, so that every call has a cost to add up.
PRICES = {"input_price_per_1m": 2.0, "output_price_per_1m": 8.0}


@pytest.fixture(scope="session")
def llm_outputs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Real reverse (de, fr) and translate (en -> de, ja) folders, made against the scripted
    OpenAI-compatible server the reverse and translate tests use, with a price table."""
    from servers.scripted_chat import ScriptedChatServer
    from tagengo.reverse.config import ReverseConfig
    from tagengo.reverse.stage import reverse
    from tagengo.translate.config import TranslateConfig
    from tagengo.translate.stage import translate

    out = tmp_path_factory.mktemp("llm-stages")
    with ScriptedChatServer() as server:
        llm = {
            "backend": "openai",
            "model": "scripted",
            "base_url": server.url,
            "timeout_s": 10.0,
            "max_attempts": 2,
            "backoff_base_s": 0.01,
            "cache_path": str(out / "cache.sqlite"),
            **PRICES,
        }
        reverse(REVERSE_DE, out / "3-reverse-de", ReverseConfig(language="de", **llm), progress=False)
        reverse(REVERSE_FR, out / "3-reverse-fr", ReverseConfig(language="fr", **llm), progress=False)
        translate(TRANSLATE_EN, out / "4-translate", TranslateConfig(to=["de", "ja"], **llm), progress=False)
    return out


@pytest.fixture(scope="session")
def stage_outputs(tmp_path_factory: pytest.TempPathFactory, llm_outputs: Path) -> Path:
    from tagengo.curate.stage import curate, preset_config
    from tagengo.mix.config import MixConfig
    from tagengo.mix.stage import mix

    out = tmp_path_factory.mktemp("stages")
    cfg = preset_config("default", dedup={"enabled": True, "cache_dir": str(out / "cache"), "report": True})
    curate(None, out / "1-curated", cfg, progress=False, workers=1)
    mix(out / "1-curated", out / "2-mix", MixConfig(recipe="sampled", per_language=3), progress=False)
    for name in ("3-reverse-de", "4-translate"):
        shutil.copytree(llm_outputs / name, out / name)
    shutil.copytree(BENCH_FIXTURE, out / "5-bench" / "data" / "mt_bench")
    return out


CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
VIEWPORT_WIDTH = 1300
#: The flags the issue names: no sandbox (root in CI), no GPU, no background traffic.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@dataclass
class PageVisit:
    console: list[tuple[str, str]] = field(default_factory=list)  # (type, text)
    page_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    screenshot: Path | None = None
    title: str = ""
    section_kinds: list[str] = field(default_factory=list)
    sorted_column: list[str] = field(default_factory=list)  # first column after a header click
    page_width: int = 0  # CSS px the laid-out page needs (more than the viewport: a sideways scroll)

    @property
    def blank_fraction(self) -> float:
        """Share of the screenshot's pixels equal to its most common colour (1.0: blank)."""
        import numpy as np
        from PIL import Image

        assert self.screenshot is not None
        img = np.asarray(Image.open(self.screenshot).convert("RGB")).reshape(-1, 3)
        _, counts = np.unique(img, axis=0, return_counts=True)
        return float(counts.max() / len(img))

    @property
    def errors(self) -> list[str]:
        return [t for kind, t in self.console if kind == "error"] + self.page_errors

    @property
    def external_requests(self) -> list[str]:
        return [u for u in self.requests if not u.startswith(("file:", "data:"))]


def visit(html: Path, screenshot: Path, *, click_sort: str | None = None) -> PageVisit:
    """Load ``html`` from disk in a fresh profile; screenshot the full page to ``screenshot``.
    ``click_sort``: a CSS selector of a table whose second header is clicked once."""
    from playwright.sync_api import sync_playwright

    out = PageVisit()
    with tempfile.TemporaryDirectory() as profile, sync_playwright() as p:
        ctx = p.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=FLAGS,
            viewport={"width": VIEWPORT_WIDTH, "height": 900},
        )
        try:
            page = ctx.new_page()
            page.on("console", lambda m: out.console.append((m.type, m.text)))
            page.on("pageerror", lambda e: out.page_errors.append(str(e)))
            page.on("request", lambda r: out.requests.append(r.url))
            page.on("requestfailed", lambda r: out.failed.append(r.url))
            page.goto(html.resolve().as_uri(), wait_until="load")
            out.title = page.title()
            out.page_width = page.evaluate("document.documentElement.scrollWidth")
            out.section_kinds = page.eval_on_selector_all(
                "section[data-kind]", "els => els.map(e => e.dataset.kind)"
            )
            if click_sort:
                table = page.locator(click_sort).first
                table.locator("th").nth(2).click()
                out.sorted_column = table.locator("tbody tr td:nth-child(3)").all_inner_texts()
            page.screenshot(path=str(screenshot), full_page=True)
            out.screenshot = screenshot
        finally:
            ctx.close()
    return out


@pytest.fixture
def chromium() -> Callable[..., PageVisit]:
    """``chromium(html, screenshot, click_sort=None) -> PageVisit``."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: .ci/run installs Debian's chromium"
    return visit
