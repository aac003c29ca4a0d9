"""The warm-up thread loads what a stage asks for first (generate's answer-language model), so the
answers that come back do not wait for lid.176 to load (docs/benchmarks.md, generate)."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import time
from tagengo.lang.gate import LanguageDetector
from tagengo.llm.answer import AnswerLanguage, AnswerLanguageConfig
from tagengo.run import warm

check = AnswerLanguage(AnswerLanguageConfig())
assert LanguageDetector._shared is None
order = []
warm.warm_imports_in_background(lambda: order.append("first"), check.warm)
warm.wait_for_warm_up()
import sys
assert order == ["first"], order
assert LanguageDetector._shared is not None  # loaded by the thread, before any answer
assert "matplotlib.figure" in sys.modules  # and the end-of-run imports after it
problem, found = check.problem("Das ist eine Antwort auf Deutsch, die lang genug ist.", "de")
assert problem is None and found["detected"] == "de", found
print("ok")
"""


def test_the_warm_up_thread_loads_the_answer_language_model_first() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
