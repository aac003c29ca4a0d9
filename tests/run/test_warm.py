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


SWITCH = """
import sys
from tagengo.run import warm

before = sys.getswitchinterval()
during = []
warm.warm_imports_in_background(lambda: during.append(sys.getswitchinterval()))
warm.wait_for_warm_up()
assert during == [warm.WARM_SWITCH_INTERVAL_S] and during[0] < before, (during, before)
assert sys.getswitchinterval() == before, sys.getswitchinterval()
print("ok")
"""


def test_while_the_warm_up_runs_other_threads_get_the_interpreter_back_sooner_and_then_as_before() -> None:
    # The event loop waits for the warm-up thread's imports to hand over the GIL: at most the
    # switch interval, shortened while they run (tagengo.run.warm), and restored after them.
    done = subprocess.run([sys.executable, "-c", SWITCH], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
