"""The language chart every stage writes (languages.png)."""

from __future__ import annotations

import io
from pathlib import Path

from PIL import Image

from tagengo.run import warm
from tagengo.run.funnel import language_chart


def _manifest(kept: dict[str, int]) -> dict:
    return {"stage": "curate", "languages": {k: {"in": n + 3, "kept": n} for k, n in kept.items()}}


def test_chart_size_follows_the_languages_and_skips_empty_ones(tmp_path: Path) -> None:
    few = tmp_path / "few.png"
    language_chart(_manifest({"en": 120, "ja": 7, "sw": 0}), few)
    img = Image.open(io.BytesIO(few.read_bytes()))
    assert img.format == "PNG"
    assert img.size == (660, 462)  # 6 x 4.2 inches at 110 dpi: the minimum width

    many = {f"l{i:02d}": 10 + i for i in range(40)} | {"zh-Hant": 3}
    wide = tmp_path / "wide.png"
    language_chart(_manifest(many), wide)
    w, h = Image.open(wide).size
    assert abs(w - (0.28 * 41 + 2) * 110) <= 1 and h == 462  # widens with the number of bars
    # The margins hold the rotated labels: the bottom rows are not all background.
    pixels = Image.open(wide).convert("L")
    assert min(pixels.crop((0, h - 60, w, h - 5)).getdata()) < 128


def test_no_chart_when_nothing_was_kept(tmp_path: Path) -> None:
    out = tmp_path / "none.png"
    language_chart(_manifest({"en": 0}), out)
    assert not out.exists()


def test_warm_up_draws_in_the_background_and_the_chart_waits_for_it(tmp_path: Path) -> None:
    thread = warm.warm_imports_in_background()
    assert thread.daemon
    assert warm.warm_imports_in_background() is thread  # once per process
    out = tmp_path / "languages.png"
    language_chart(_manifest({"en": 5, "pt": 50}), out)  # waits for the warm-up to finish first
    assert not thread.is_alive()
    assert Image.open(out).size == (660, 462)
    warm.wait_for_warm_up()  # returns at once when finished


def test_chart_title_words_the_counts(tmp_path: Path, monkeypatch) -> None:
    """The title goes through run/wording.py: one language is singular, rows without a
    language are 'unlabelled', not a language named (none)."""
    from tagengo.run import chart

    titles: list[str] = []
    monkeypatch.setattr(chart, "bar_chart_png", lambda items, title: titles.append(title) or b"png")
    language_chart(_manifest({"de": 1}), tmp_path / "a.png")
    language_chart(_manifest({"de": 3, "(none)": 2}), tmp_path / "b.png")
    assert titles == ["curate: 1 row in 1 language", "curate: 5 rows (3 in 1 language, 2 unlabelled)"]
