"""`tagengo generate` on the answer contract (tagengo.llm.answer): answers that real servers
send bent on purpose (tests/servers/answer_faults.py, one ``FAULT=<kind>`` per prompt) through
the real stage, over real HTTP: what is kept is clean text with its reasoning in meta, what is
rejected says why, in rejected/ and the funnel, after one request."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from folder_checks import assert_complete_folder
from servers.answer_faults import ACCENTED, COUNTED, DECOY, FAULT, REFUSED, RETRIED
from servers.loopback import started_servers
from servers.scripted_chat import ScriptedChatServer
from tagengo.generate.config import GenerateConfig
from tagengo.generate.stage import generate

#: What the scripted chat server answers a prompt it does not recognise (a teacher's prompt).
ANSWER = "I am a scripted server and did not recognise this request."

#: A prompt long enough that a server reporting 16 prompt tokens must have cut it.
LONG = " ".join(
    f"Paragraph {i}: the history of the harbour town, its bridges, its markets and its ships."
    for i in range(40)
)


class RecordingChatServer(ScriptedChatServer):
    keep_requests = True


@pytest.fixture
def chat_server() -> Iterator[Callable[..., RecordingChatServer]]:
    yield from started_servers(RecordingChatServer)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return path


def _rows(folder: Path) -> list[dict]:
    return [r for f in sorted(folder.glob("part-*.parquet")) for r in pq.read_table(f).to_pylist()]


def _requests_by_fault(server: RecordingChatServer) -> Counter[str]:
    out: Counter[str] = Counter()
    for body in server.requests:
        kinds = {k for m in body["messages"] for k in FAULT.findall(m["content"])}
        out[next(iter(kinds)) if kinds else "clean"] += 1
    return out


#: Reasoning the contract splits off: as <think> blocks, Seed-OSS's, Kimi's, and gpt-oss's channels.
SPLIT = ("think", "thinkopen", "reasoningfield", "harmony", "seedthink", "kimithink")
#: Normalised and kept: a lone stop token cut off the end, a JSON-encoded message unwrapped, a
#: bare role header cut off the start, mojibake repaired (ftfy).
FIXED = ("stoptoken", "wrapped", "roleheader", "mojibake")
NOTED = {
    "stoptoken": "cut the end-of-turn token '<\uff5cend\u2581of\u2581sentence\uff5c>' at the end",
    "wrapped": "unwrapped a JSON-encoded assistant message",
    "roleheader": "cut the role header 'assistant' at the start",
    "mojibake": "repaired mojibake with ftfy (encode latin-1 then decode utf-8): UTF-8 read in another charset",
}
#: Kept as they are: another model than the one asked (counted in meta; rejected only with
#: --require-served-model: tests/llm/test_served_model.py) and a dated name of the asked one.
SERVED = ("fallback", "dated")
#: Kept with a note in meta: usage that is no count (NaN, counted here), extra choices (ignored).
BODY_NOTED = {"nanusage": ("usage_ignored", "completion_tokens=nan"), "multichoice": ("extra_choices", 1)}
KEPT = ("clean", "surrogate", "parts", *SPLIT, *FIXED, *SERVED, *BODY_NOTED)
REJECTED = {
    "thinkonly": "empty answer: only reasoning, no answer after it",
    "budget": "unfinished: the answer used all 64 tokens of max_tokens although the server said "
    "finish_reason='stop': it was cut at the limit",
    "truncated": "prompt truncated: the server counted 16 prompt tokens of about ",
    "errorbody": "provider error: ",
    "filterprompt": "filtered: ",
    "filterempty": "filtered: ",
    "filteranswer": "filtered: the server's content filter withheld the answer: finish_reason=content_filter",
    "templateleak": "template leak: the answer holds the chat-template marker '<|im_end|>'",
    "instleak": "template leak: the answer holds the chat-template marker '[/INST]'",
    "wronglang": "wrong language: lid.176 says the answer is 'en' (p=",
    "repetition": "repetition: the answer ends in 'I will now explain it again in other words.' repeated 30 times",
    "echo": "echo: the answer is the last user turn sent back",
    "nul": "control characters: 3 C0 control characters (the first U+0000 at character 58)",
    "textfield": "provider error: malformed response: ",
    "deepseekleak": "template leak: the answer holds the chat-template marker '<\uff5cend\u2581of\u2581sentence\uff5c>'",
    "plainturn": "template leak: the answer holds the chat-template marker '### Human:'",
    "toolcall": "tool call: the answer is only a tool call written as text (a JSON call of 'get_weather')",
    "abort": "call failed: the server aborted the generation (finish_reason='abort'",
    "ollamanull": "call failed: the server finished with stop but sent content null",
    "ollamaempty": "call failed: the server sent no finish reason, no content and no completion tokens",
    "fffd": "replacement characters: 1 U+FFFD replacement character from the server (the first in "
    "'his request. Atmosph\ufffdre'): it lost bytes",
    "toolcallsfield": "tool call: the answer is only a structured tool call ('get_weather') though the "
    "request offered no tools",
    "contentnumber": "provider error: malformed response: the message's content is int 42, not text",
    # the s32 newcomer trial's
    "numloop": f"repetition: the answer ends in {COUNTED!r} repeated 40 times, each with its own number",
    "nearbudget": "unfinished: the answer used 63 of the 64 tokens of max_tokens and ends mid-sentence",
    "toolcallsfinish": "tool call: the answer is only a structured tool call ('search') though the request "
    "offered no tools: finish_reason='tool_calls'",
    "refusal": f"refusal: the answer is only a refusal ({REFUSED!r})",
    # the s33 newcomer trial's
    "qmarks": "replacement characters: letters lost to '?' (1 inside a word, 1 word of '?' only; the first in "
    "'his request. Atmosph?re und ?????'): a proxy, database or server on the way converted the text to Latin-1",
    "alpaca": "template leak: the answer holds the chat-template marker '### Instruction:'",
    "userturn": "template leak: the answer holds the chat-template marker 'User:'",
    "errornocode": "provider error: Internal error ('InternalServerError' in an HTTP 200 body with no code, read "
    "as a server error: retried) (gave up after 3 attempts)",
}
REJECTED["refuse"] = "call failed: HTTP 400: Unsupported parameter: 'max_tokens'"
REJECTED["drift"] = "wrong language: "  # on a German row: more in tests/llm/test_answer_drift.py


def test_bent_answers_are_cleaned_or_rejected_with_the_contracts_reason(chat_server, tmp_path):
    server = chat_server()
    rows = []
    for kind in (*KEPT, *REJECTED):
        text = "Tell me about rain." if kind == "clean" else f"Tell me about rain. FAULT={kind}"
        if kind == "truncated":
            text = f"{LONG} FAULT=truncated"
        language = "en"
        if kind in ("wronglang", "drift"):  # a German prompt answered in English
            text, language = f"Erzähl mir bitte etwas über den Regen. FAULT={kind}", "de"
        rows.append({"id": kind, "prompt": text, "language": language})
    src = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = GenerateConfig(
        model="teacher", base_url=server.url, timeout_s=5.0, max_attempts=3, backoff_base_s=0.01,
        max_tokens=64, cache_path=tmp_path / "c.sqlite",
    )  # fmt: skip
    res = generate(src, tmp_path / "out", cfg, progress=False)
    manifest = assert_complete_folder(res.out, kept=len(KEPT), rejected=len(REJECTED), quarantined=0)
    assert manifest["counts"]["read"] == len(rows)

    kept = {r["id"]: r for r in _rows(res.out / "data")}
    assert set(kept) == set(KEPT)
    for kind, row in kept.items():
        answer = row["messages"][-1]
        gen = json.loads(row["meta"])["generation"]
        assert answer["role"] == "assistant" and "<think>" not in answer["content"], kind
        assert "</think>" not in answer["content"] and "DECOY" not in answer["content"], kind
        if kind == "surrogate":
            assert answer["content"] == f"{ANSWER} \ufffd and more"
            assert gen["replaced_chars"] == 1 and "reasoning" not in gen
        elif kind == "mojibake":
            assert answer["content"] == ANSWER + ACCENTED
        else:
            assert answer["content"] == ANSWER, kind
        if kind in SPLIT:
            assert gen["reasoning"] == DECOY and "replaced_chars" not in gen, kind
        if kind in FIXED:
            assert gen["normalised"] == [NOTED[kind]], kind
        if kind in BODY_NOTED:
            key, value = BODY_NOTED[kind]
            assert gen[key] == value, (kind, gen)
        if kind == "fallback":
            assert gen["requested_model"] == "teacher", kind
        if kind in ("clean", "parts", "dated"):
            # A clean answer's meta is what it always was.
            assert not {"reasoning", "replaced_chars", "partial_answer", "normalised"} & set(gen), kind

    rejected = {r["id"]: r for r in _rows(res.out / "rejected")}
    assert set(rejected) == set(REJECTED)
    for kind, reason in REJECTED.items():
        assert rejected[kind]["reason"].startswith(reason), (kind, rejected[kind]["reason"])
        assert rejected[kind]["step"] == "generate" and rejected[kind]["messages"][-1]["role"] == "user"
    assert "no answer after it" in rejected["thinkonly"]["reason"]
    gen = json.loads(rejected["thinkonly"]["meta"])["generation"]
    assert gen["reasoning"].startswith(DECOY)  # what the model did say is kept for a person to read
    cut = json.loads(rejected["budget"]["meta"])["generation"]
    assert cut["partial_answer"].endswith("inter") and cut["finish_reason"] == "stop"
    for kind in ("errorbody", "filterprompt", "filterempty"):
        assert json.loads(rejected[kind]["meta"])["generation"]["error"], kind
    # What lid.176 found is in meta, kept and rejected alike; a finished answer that cannot be used
    # is kept for a person to read.
    wrong = json.loads(rejected["wronglang"]["meta"])["generation"]
    assert wrong["language"]["detected"] == "en" and wrong["language"]["expected"] == "de"
    assert wrong["language"]["prob"] >= 0.9 and wrong["rejected_answer"].startswith("Rain forms")
    assert "the row's language is 'de'" in rejected["wronglang"]["reason"]
    assert json.loads(kept["clean"]["meta"])["generation"]["language"]["detected"] == "en"
    for kind in ("repetition", "echo", "nul", "numloop", "refusal"):
        assert json.loads(rejected[kind]["meta"])["generation"]["rejected_answer"], kind
    near = json.loads(rejected["nearbudget"]["meta"])["generation"]
    assert near["partial_answer"].endswith("inter") and near["finish_reason"] == "stop"

    # No retry for an answer that will not change: one request per row; a passing fault is
    # asked --max-attempts times, and its reason says so.
    want = Counter({kind: 3 if kind in RETRIED else 1 for kind in (*KEPT, *REJECTED)})
    assert _requests_by_fault(server) == want
    for kind in RETRIED:
        assert rejected[kind]["reason"].endswith("(gave up after 3 attempts)"), kind
    assert (
        "choices[0].text" in rejected["textfield"]["reason"]
        and "--base-url" in rejected["textfield"]["reason"]
    )
    funnel = json.loads((res.out / "funnel.json").read_text())
    assert funnel["counts"]["kept"] + funnel["counts"]["rejected"] == funnel["counts"]["read"] == len(rows)
    assert [(s["step"], s["removed"]) for s in funnel["steps"]][-1] == ("generate", len(REJECTED))
    assert f"| generate | {len(REJECTED)} | {len(KEPT)} |" in (res.out / "funnel.md").read_text()


def test_a_cut_answer_is_kept_when_require_stop_is_off_and_the_reasoning_still_goes_to_meta(
    chat_server, tmp_path
):
    server = chat_server()
    rows = [
        {"id": "budget", "prompt": "Tell me about rain. FAULT=budget", "language": "en"},
        {"id": "think", "prompt": "Tell me about snow. FAULT=think", "language": "en"},
        {"id": "filter", "prompt": "Tell me about hail. FAULT=filteranswer", "language": "en"},
    ]
    src = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = GenerateConfig(
        model="teacher", base_url=server.url, timeout_s=5.0, max_attempts=2, backoff_base_s=0.01,
        max_tokens=64, require_stop=False, cache_path=tmp_path / "c.sqlite",
    )  # fmt: skip
    res = generate(src, tmp_path / "out", cfg, progress=False)
    assert_complete_folder(res.out, kept=2, rejected=1, quarantined=0)
    kept = {r["id"]: r for r in _rows(res.out / "data")}
    assert kept["budget"]["messages"][-1]["content"].endswith("inter")
    assert json.loads(kept["think"]["meta"])["generation"]["reasoning"] == DECOY
    # A filtered answer is no answer, whatever require_stop says.
    (rej,) = _rows(res.out / "rejected")
    assert rej["id"] == "filter" and rej["reason"].startswith("filtered: ")


def test_a_prompt_of_invisible_characters_is_rejected_without_a_call(tmp_path):
    """A user turn of zero-width characters only is nothing to answer: rejected with its reason,
    and the teacher is not paid for it."""
    from servers.echo_chat import EchoChatServer
    from tagengo.generate.config import GenerateConfig
    from tagengo.generate.stage import generate
    from tagengo.run.dataset import read_table

    src = tmp_path / "p.jsonl"
    src.write_text('{"id": "z", "prompt": "\\u200b\\u2060"}\n{"id": "a", "prompt": "Hallo, wie geht es?"}\n')
    with EchoChatServer() as server:
        cfg = GenerateConfig(base_url=server.url, model="t", cache_path=tmp_path / "c.sqlite")
        result = generate(src, tmp_path / "out", cfg, progress=False)
        assert server.received == 1
    (row,) = read_table(result.out, "rejected").to_pylist()
    assert (row["id"], row["reason"]) == ("z", "empty prompt: the last user turn has no visible text")
    assert result.manifest["counts"]["kept"] == 1


def test_no_gate_keeps_an_answer_in_another_language_and_rows_without_one_are_not_checked(
    chat_server, tmp_path
):
    """--no-gate turns the answer-language check off; with it on, a row without a language or in a
    language lid.176 cannot name is not checked (nothing to compare with)."""
    from tagengo.llm.answer import AnswerLanguageConfig

    server = chat_server()
    rows = [
        {"id": "de", "prompt": "Erzähl mir bitte etwas über den Regen. FAULT=wronglang", "language": "de"},
        {"id": "none", "prompt": "Erzähl mir bitte etwas über den Schnee. FAULT=wronglang"},
        {"id": "zu", "prompt": "Ngitshele ngemvula. FAULT=wronglang", "language": "zu"},
    ]
    src = write_jsonl(tmp_path / "prompts.jsonl", rows)

    def run(out: str, **kw):
        cfg = GenerateConfig(
            model="teacher",
            base_url=server.url,
            timeout_s=5.0,
            max_tokens=64,
            cache_path=tmp_path / "c.sqlite",
            **kw,
        )
        return generate(src, tmp_path / out, cfg, progress=False)

    on = run("on")
    assert_complete_folder(on.out, kept=2, rejected=1, quarantined=0)
    (rej,) = _rows(on.out / "rejected")
    assert rej["id"] == "de" and rej["reason"].startswith("wrong language: ")
    assert on.manifest["config"]["gate"] == {"enabled": True, "min_prob": 0.9, "min_chars": 20}
    off = run("off", gate=AnswerLanguageConfig(enabled=False))
    assert_complete_folder(off.out, kept=3, rejected=0, quarantined=0)
    assert "language" not in json.loads(_rows(off.out / "data")[0]["meta"])["generation"]


def test_a_dialogue_or_json_the_prompt_asked_for_is_kept_and_the_same_answer_to_another_prompt_is_not(
    chat_server, tmp_path
):
    """Role lines and a tool call written as JSON are what some prompts ask for: the same bent
    answer is kept after a prompt asking for a dialogue (or JSON) and rejected after a plain one."""
    server = chat_server()
    rows = [
        {"id": "dialogue", "prompt": "Write a short dialogue about rain. FAULT=plainturn", "language": "en"},
        {"id": "plain", "prompt": "Tell me about rain. FAULT=plainturn", "language": "en"},
        {"id": "json", "prompt": "Reply with a JSON object calling the weather API. FAULT=toolcall"},
        {"id": "nojson", "prompt": "Tell me about the weather. FAULT=toolcall"},
    ]
    src = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = GenerateConfig(model="teacher", base_url=server.url, timeout_s=5.0, max_tokens=64,
                         cache_path=tmp_path / "c.sqlite")  # fmt: skip
    res = generate(src, tmp_path / "out", cfg, progress=False)
    assert_complete_folder(res.out, kept=2, rejected=2, quarantined=0)
    kept = {r["id"]: r["messages"][-1]["content"] for r in _rows(res.out / "data")}
    assert set(kept) == {"dialogue", "json"} and "### Human:" in kept["dialogue"]
    rejected = {r["id"]: r["reason"] for r in _rows(res.out / "rejected")}
    assert rejected["plain"].startswith("template leak: ") and rejected["nojson"].startswith("tool call: ")


def test_the_canned_reply_warning_counts_kept_rows_only(chat_server, tmp_path):
    """The s32 newcomer trial: "6 distinct prompts got the identical answer … read those rows", but
    4 of the 6 were already rejected. The count is now over the rows kept: the English answer on 6
    English rows (kept) and 4 German ones (rejected: wrong language) is 6, and 5 refusals (all
    rejected) are no warning at all."""
    from servers.answer_faults import ENGLISH

    server = chat_server()
    rows = [
        {"id": f"en{i}", "prompt": f"Tell me about rain, part {i}. FAULT=wronglang", "language": "en"}
        for i in range(6)
    ]
    rows += [{"id": f"de{i}", "prompt": f"Erzähl mir bitte etwas über den Regen, Teil {i}. FAULT=wronglang",
              "language": "de"} for i in range(4)]  # fmt: skip
    rows += [
        {"id": f"no{i}", "prompt": f"Convert {i} miles to kilometers. FAULT=refusal", "language": "en"}
        for i in range(5)
    ]
    src = write_jsonl(tmp_path / "prompts.jsonl", rows)
    cfg = GenerateConfig(model="teacher", base_url=server.url, timeout_s=5.0, max_tokens=64,
                         cache_path=tmp_path / "c.sqlite")  # fmt: skip
    res = generate(src, tmp_path / "out", cfg, progress=False)
    manifest = assert_complete_folder(res.out, kept=6, rejected=9, quarantined=0)
    (warning,) = manifest["warnings"]
    assert warning.startswith(f"6 distinct prompts got the identical answer {ENGLISH[:60]!r}"), warning
