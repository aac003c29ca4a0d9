"""The language-ID step asks lingua's server without waiting (issue 27, session 32): it sends the
questions of a whole batch as it reads the batch, and reads the answers after. The decisions,
reasons, meta and tallies must be those of asking one row at a time, and a server that dies must
still fail the run with a clear error, not hang it."""

from __future__ import annotations

import pytest

from tagengo.curate.filters import LanguageIDFilter
from tagengo.curate.stage import preset_config
from tagengo.lang.langid import SecondOpinion, SharedSecondOpinion
from tagengo.records import Record

#: Two labels per row for lingua to choose among, not five: each language lingua meets costs
#: ~0.5 s of loading, in this process and again in the server.
DEFAULT = preset_config("default").langid.model_copy(update={"top_k": 2})

#: Prompts written for this test, with a label each: some settled by lid.176 alone, some by the
#: label prior, some sent to lingua (kept by it or not), one unlabelled, one empty.
CASES = [
    ("帮我给奶奶写一段生日祝福。", "zh"),
    ("h e l l o", "en"),
    ("Wie kann ich besser schlafen?", "nl"),
    ("Dankjewel", "nl"),
    ("What is the capital of France?", "en"),
    ("asdf qwer", "de"),
    ("Wie kann ich besser schlafen?", None),
    ("Dank je wel voor je hulp", "nl"),
    ("   ", "en"),
]


def _rows() -> list[Record]:
    return [
        Record(str(i), "t", lang, [{"role": "user", "content": t}], {}) for i, (t, lang) in enumerate(CASES)
    ]


def _seen(step: LanguageIDFilter, rows: list[Record]) -> tuple[list, list, dict]:
    out = step.keep_batch(rows)
    # Key order too: the rows' meta is written as JSON, and the tallies go to the manifest.
    return out, [list(r.meta.items()) + [("language", r.language)] for r in rows], step.summary()


class _Spy:
    """Records, in order, when a question is sent and when its answer is read."""

    def __init__(self, inner: SharedSecondOpinion) -> None:
        self.inner = inner
        self.events: list[str] = []

    def choose(self, line: str, candidates: list[str]) -> tuple[str, float] | None:
        raise AssertionError("the step should ask without waiting")

    def ask(self, line: str, candidates: list[str]):  # noqa: ANN201 - a thunk
        self.events.append("ask")
        answer = self.inner.ask(line, candidates)

        def read() -> tuple[str, float] | None:
            self.events.append("answer")
            return answer()

        return read


def test_asking_the_server_without_waiting_decides_as_asking_one_row_at_a_time() -> None:
    step = LanguageIDFilter(DEFAULT)
    step.setup()
    assert isinstance(step._second, SecondOpinion)
    want = _seen(step, _rows())  # in process: each row waits for its answer
    asked = [m for m in want[1] if any(k == "lid_second_opinion" for k, _ in m)]
    assert len(asked) >= 4, "the cases must send several rows to lingua"
    with step.shared_by_workers():
        spy = _Spy(step._second)
        step._second = spy
        got = _seen(step, _rows())
        step._second = spy.inner
    assert got == want
    # Every question of the batch went out before the first answer was read.
    n = spy.events.count("ask")
    assert n == len(asked) and spy.events == ["ask"] * n + ["answer"] * n


def test_answers_may_be_read_in_any_order_and_many_may_wait() -> None:
    own = SecondOpinion()
    cases = [
        ("Wie kann ich besser schlafen?", ["de", "nl"]),
        ("帮我给奶奶写一段生日祝福。", ["zh", "ja"]),
    ] * 200
    with SharedSecondOpinion(SecondOpinion()) as shared:
        # More than the unread answers it lets pile up (it reads some itself past that).
        pending = [shared.ask(line, cands) for line, cands in cases]
        got = [p() for p in reversed(pending)][::-1]
    want = [own.choose(line, cands) for line, cands in cases[:2]] * 200
    assert [g[0] for g in got] == [w[0] for w in want]
    assert got[0][1] == pytest.approx(want[0][1], abs=1e-9)


def test_a_server_that_dies_mid_batch_fails_the_step_clearly() -> None:
    step = LanguageIDFilter(DEFAULT)
    step.setup()
    with step.shared_by_workers():
        shared = step._second
        answer = shared.ask("Dankjewel", ["nl", "de", "en"])
        shared._process.kill()
        shared._process.wait(10)
        with pytest.raises(RuntimeError, match="second-opinion process stopped"):
            answer()  # the question was sent, the answer never comes
        with pytest.raises(RuntimeError, match="second-opinion process stopped"):
            step.keep_batch(_rows())
