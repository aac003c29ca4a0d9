"""One LLM-stage shape (docs: DESIGN.md, "Calls to language models"): a stage never builds a
client itself and never reads a server's response body; tagengo.llm builds the clients and turns
what a server sends into answers, tagengo.run.llm_stage gives a stage its clients. Checked over
the source tree with the AST."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "tagengo"

#: Outside the rule: the client layer itself, the LLM-stage shape, and the two modules that call
#: other endpoints than chat (embeddings, moderation) through the client layer and read their bodies.
EXEMPT_DIRS = ("llm/",)
EXEMPT_FILES = {"run/llm_stage.py", "llm/embedders.py", "curate/moderation_api.py"}

#: What is left, each (module, what it does) with why. Shrink, never grow.
KNOWN = {
    (
        "generate/step.py",
        "build_client",
    ): "setup() builds the client inside each Ray actor (clients do not pickle)",
    (
        "translate/step.py",
        "build_client",
    ): "setup() builds the client inside each Ray actor (clients do not pickle)",
    (
        "reverse/step.py",
        "build_client",
    ): "setup() builds the client inside each Ray actor (clients do not pickle)",
    (
        "extend/step.py",
        "build_client",
    ): "setup() builds teacher and writer inside each Ray actor (clients do not pickle)",
    (
        "prefer/step.py",
        "build_client",
    ): "AnswerStep/RankStep.setup() build one client per model and the judge's",
    (
        "translate/bench.py",
        "build_client",
    ): "translate --bench builds its own client (answer handling being moved)",
    (
        "doctor.py",
        "response body",
    ): "the llama.cpp check reads llama-cpp-python's completion dict in a child process",
}


def _reads_a_body(node: ast.AST) -> bool:
    """``json.loads(<anything>.content ...)`` or ``<anything>["choices"]``."""
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and key.value == "choices"
    if isinstance(node, ast.Call) and node.args:
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name == "loads":
            return any(isinstance(n, ast.Attribute) and n.attr == "content" for n in ast.walk(node.args[0]))
    return False


def _builds_a_client(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return name == "build_client"


def findings(root: Path = SRC) -> set[tuple[str, str]]:
    """(module, "build_client" | "response body") for every stage module that does either."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        if rel.startswith(EXEMPT_DIRS) or rel in EXEMPT_FILES:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if _builds_a_client(node):
                found.add((rel, "build_client"))
            elif _reads_a_body(node):
                found.add((rel, "response body"))
    return found


def test_no_stage_builds_a_client_or_reads_a_response_body():
    new = findings() - set(KNOWN)
    assert not new, (
        "get clients from tagengo.run.llm_stage.LLMStage (run.client(given, config)) and answers from "
        f"the client layer (tagengo.llm), not by hand: {sorted(new)}"
    )


def test_the_known_list_holds_only_what_still_exists():
    assert not set(KNOWN) - findings()


def test_the_check_sees_each_way_of_doing_it(tmp_path):
    (tmp_path / "stage.py").write_text(
        "import json\nfrom tagengo import llm\n"
        "def f(cfg, resp, raw):\n"
        "    c = llm.build_client(cfg)\n"
        "    return json.loads(resp.content or ''), raw['choices'][0]\n"
    )
    (tmp_path / "other.py").write_text("from tagengo.llm import build_client\nc = build_client(None)\n")
    (tmp_path / "llm").mkdir()
    (tmp_path / "llm" / "client.py").write_text("c = build_client(None)\nx = resp['choices']\n")
    (tmp_path / "fine.py").write_text("import json\nx = json.loads(path.read_text())\ny = d['content']\n")
    assert findings(tmp_path) == {
        ("stage.py", "build_client"),
        ("stage.py", "response body"),
        ("other.py", "build_client"),
    }
