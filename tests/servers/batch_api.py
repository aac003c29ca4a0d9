"""A scripted Batch API: OpenAI's (and Azure OpenAI's) Files and Batches endpoints over real HTTP
on 127.0.0.1, plus the online ``/v1/chat/completions`` with the very same answers, so a batch run
and an online run of one stage can be compared row for row.

Endpoints, as the providers document them:

=====================================  ==================================================================
``POST /v1/files``                     multipart ``purpose=batch`` + ``file``: the file object
``POST /v1/batches``                   ``{input_file_id, endpoint, completion_window}``: the batch object
``GET /v1/batches/{id}``               the batch, one step further along its script on every look
``GET /v1/batches?limit&after``        the batches, newest first (``data``, ``has_more``, ``last_id``)
``GET /v1/files/{id}/content``         an uploaded file, or an output / error file
``/openai/...?api-version=``           the same, Azure-shaped (the api-version is required and each
                                       line's ``url`` is ``/chat/completions``)
``POST /v1/chat/completions``          online, answered by the same :meth:`reply`
=====================================  ==================================================================

What a batch goes through is scripted per batch: ``plan`` is a list consumed one entry per created
batch (then ``complete`` for the rest):

* ``complete``: ``validating`` -> ``in_progress`` (``polls`` looks) -> ``finalizing`` -> ``completed``;
* ``expire:N``: as complete, but ``expired`` with only the first N lines answered;
* ``cancel:N``: ``cancelling`` -> ``cancelled`` with the first N lines answered;
* ``fail``: ``failed`` at validation, with an error that names no line (an enqueued-token limit).

Every batch is validated as the real API does: each line needs a unique ``custom_id``, ``method``
POST, the batch's ``url`` and a ``model`` in the body (one model per file), else the batch fails
validation with errors naming the lines. Per request, a marker in a message steers that line:
``BATCH=400`` (a refusal in the error file), ``BATCH=500once`` (a 500 the first time the request
is submitted, answered the next), ``BATCH=gone`` (an ``error`` line with code ``batch_expired``
the first time), ``BATCH=invalid`` (a line that fails validation: its body has no ``messages``),
and the ``FAULT=<kind>`` markers of tests/servers/answer_faults.py (the same bent answers as
online). A test reads ``uploads``, ``created`` (batches made), ``submitted`` (times each
``custom_id`` was sent in a batch file), ``looks`` (GETs of a batch) and the online counters of
``ScriptedOpenAIServer``.

    python tests/servers/batch_api.py --port 8012    # for benchmarks and dry runs
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any, ClassVar

from aiohttp import web

try:
    from servers.answer_faults import bend, error_reply, fault_of
    from servers.loopback import ScriptedOpenAIServer, run_as_script
except ModuleNotFoundError:  # run as a script: its folder is on sys.path
    from answer_faults import bend, error_reply, fault_of
    from loopback import ScriptedOpenAIServer, run_as_script

MARK = re.compile(r"BATCH=([a-z0-9]+)")

Reply = Callable[[dict[str, Any]], tuple[str, str]]


def echo(body: dict[str, Any]) -> tuple[str, str]:
    """``Answer: <last user text>`` (tests/servers/echo_chat.py's answer)."""
    last = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
    return f"Answer: {last}", "stop"


def _mark(body: dict[str, Any]) -> str | None:
    found = None
    for m in body.get("messages") or []:
        if isinstance(m.get("content"), str):
            for found in MARK.findall(m["content"]):  # noqa: B007 - the last one wins
                pass
    return found


class BatchAPIServer(ScriptedOpenAIServer):
    """See the module doc. ``reply``: the answer to a request body (default :func:`echo`);
    ``polls``: looks that find a batch in progress before it finalizes; ``key``: when set, every
    request must carry it (``Authorization: Bearer`` or Azure's ``api-key``), else 401."""

    thread_name = "batch-api"
    keep_requests = False
    #: The providers' limits on one input file.
    MAX_LINES: ClassVar[int] = 50_000

    def __init__(
        self,
        reply: Reply = echo,
        *,
        plan: list[str] | None = None,
        polls: int = 1,
        key: str | None = None,
        latency_s: float = 0.0,
        port: int = 0,
    ) -> None:
        super().__init__(latency_s, port=port)
        self._reply = reply
        self.plan = list(plan or [])
        self.polls = polls
        self.key = key
        self.files: dict[str, dict[str, Any]] = {}
        self.contents: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self._script: dict[str, list[str]] = {}
        self._kind: dict[str, str] = {}
        self.uploads = 0
        self.created = 0
        self.looks = 0
        self.submitted: Counter[str] = Counter()
        #: Answers written into output files, per custom_id.
        self.answered: Counter[str] = Counter()
        self._in_progress_looks: Counter[str] = Counter()
        self.azure_versions: Counter[str] = Counter()
        self._ids = itertools.count(1)
        self._block = threading.Lock()

    def reply(self, body: dict[str, Any]) -> tuple[str, str]:
        return self._reply(body)

    # -- helpers ---------------------------------------------------------------------------------

    def _id(self, prefix: str) -> str:
        return f"{prefix}-{next(self._ids)}"

    def _check(self, request: web.Request) -> web.Response | None:
        if request.path.startswith("/openai/"):
            version = request.query.get("api-version")
            if not version:
                return _error(404, "Resource not found (no api-version)")
            self.azure_versions[version] += 1
        if self.key is not None:
            sent = request.headers.get("api-key") or request.headers.get("Authorization", "").removeprefix(
                "Bearer "
            )
            if sent != self.key:
                return _error(401, "Incorrect API key provided")
        return None

    def _answer_line(self, n: int, custom_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """One output or error line for one request (as the online endpoint would answer it)."""
        mark = _mark(body)
        status, out = 200, None
        first = self.submitted[custom_id] == 1
        if mark == "400":
            status, out = 400, {"error": {"message": "scripted refusal", "type": "invalid_request_error"}}
        elif mark == "500once" and first:
            status, out = 500, {"error": {"message": "The server had an error", "type": "server_error"}}
        elif mark == "gone" and first:
            return {
                "id": f"batch_req_{n}",
                "custom_id": custom_id,
                "response": None,
                "error": {"code": "batch_expired", "message": "This request could not be executed in time."},
            }
        fault = fault_of(body)
        if status == 200 and fault is not None and (bad := error_reply(fault)) is not None:
            status, out = bad
        if out is None:
            content, finish = self.reply(body)
            out = {
                "id": f"chatcmpl-b{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "scripted"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": finish,
                    }
                ],
                "usage": self.usage(body, content),
            }
            if fault is not None:
                bend(fault, body, out)
            self.answered[custom_id] += 1
        return {
            "id": f"batch_req_{n}",
            "custom_id": custom_id,
            "response": {"status_code": status, "request_id": f"req_{n}", "body": out},
            "error": None,
        }

    # -- files -----------------------------------------------------------------------------------

    async def _upload(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        form = await request.post()
        if form.get("purpose") != "batch":
            return _error(400, "purpose must be 'batch'")
        field = form.get("file")
        if field is None or not hasattr(field, "file"):
            return _error(400, "no file")
        data = field.file.read()
        fid = self._id("file")
        info = {
            "id": fid,
            "object": "file",
            "bytes": len(data),
            "created_at": int(time.time()),
            "filename": field.filename,
            "purpose": "batch",
            "status": "processed",
        }
        with self._block:
            self.files[fid] = info
            self.contents[fid] = data
            self.uploads += 1
        return web.json_response(info)

    async def _content(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        fid = request.match_info["fid"]
        if fid not in self.contents:
            return _error(404, f"No such File object: {fid}")
        return web.Response(body=self.contents[fid], content_type="application/octet-stream")

    # -- batches ---------------------------------------------------------------------------------

    async def _create(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        body = json.loads(await request.read())
        fid = body.get("input_file_id")
        if fid not in self.contents:
            return _error(400, f"Invalid input_file_id: {fid}")
        azure = request.path.startswith("/openai/")
        want = "/chat/completions" if azure else "/v1/chat/completions"
        if body.get("endpoint") != want:
            return _error(400, f"endpoint must be {want}")
        if body.get("completion_window") != "24h":
            return _error(400, "completion_window must be 24h")
        bid = self._id("batch")
        now = int(time.time())
        batch = {
            "id": bid,
            "object": "batch",
            "endpoint": want,
            "errors": None,
            "input_file_id": fid,
            "completion_window": "24h",
            "status": "validating",
            "output_file_id": None,
            "error_file_id": None,
            "created_at": now,
            "in_progress_at": None,
            "expires_at": now + 86400,
            "finalizing_at": None,
            "completed_at": None,
            "failed_at": None,
            "expired_at": None,
            "cancelling_at": None,
            "cancelled_at": None,
            "request_counts": {"total": 0, "completed": 0, "failed": 0},
            "metadata": body.get("metadata"),
        }
        with self._block:
            kind = self.plan.pop(0) if self.plan else "complete"
            self.batches[bid] = batch
            self._kind[bid] = kind
            self.created += 1
            lines, errors = self._validate(fid, want)
            batch["request_counts"]["total"] = len(lines)
            if errors or kind == "fail":
                self._script[bid] = ["failed"]
                batch["_errors"] = errors or [
                    {"code": "token_limit_exceeded", "message": "Enqueued token limit reached.", "line": None}
                ]
            elif kind.startswith("cancel"):
                self._script[bid] = ["in_progress", "cancelling", "cancelled"]
            else:
                final = "expired" if kind.startswith("expire") else "completed"
                self._script[bid] = ["in_progress"] * self.polls + ["finalizing", final]
            batch["_lines"] = lines
            for custom_id, _ in lines:
                self.submitted[custom_id] += 1
        return web.json_response(_public(batch))

    def _validate(self, fid: str, url: str) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
        lines: list[tuple[str, dict[str, Any]]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()
        models: set[str] = set()
        raw = self.contents[fid].decode("utf-8").splitlines()
        if len(raw) > self.MAX_LINES:
            errors.append(
                {"code": "too_many_requests", "message": f"over {self.MAX_LINES} lines", "line": None}
            )
        for n, text in enumerate(raw, 1):
            if not text.strip():
                continue
            try:
                d = json.loads(text)
            except ValueError:
                errors.append({"code": "invalid_json_line", "message": "not JSON", "line": n})
                continue
            cid, body = d.get("custom_id"), d.get("body")
            problem = None
            if not isinstance(cid, str) or cid in seen:
                problem = "custom_id missing or not unique"
            elif d.get("method") != "POST" or d.get("url") != url:
                problem = f"method must be POST and url {url}"
            elif not isinstance(body, dict) or not body.get("model"):
                problem = "the body has no model"
            elif _mark(body) == "invalid" or not isinstance(body.get("messages"), list):
                problem = "'messages' is a required property"
            if problem:
                errors.append({"code": "invalid_request", "message": problem, "line": n})
                continue
            seen.add(cid)
            models.add(body["model"])
            lines.append((cid, body))
        if len(models) > 1:
            errors.append({"code": "mismatched_model", "message": "one model per file", "line": None})
        return lines, errors

    def _advance(self, bid: str) -> None:
        batch = self.batches[bid]
        script = self._script[bid]
        if not script:
            return
        status = script.pop(0)
        now = int(time.time())
        batch["status"] = status
        batch[f"{status}_at"] = now
        lines = batch["_lines"]
        total = len(lines)
        kind = self._kind[bid]
        if status == "in_progress":
            self._in_progress_looks[bid] += 1
            done = total * self._in_progress_looks[bid] // (self.polls + 1)
            batch["request_counts"] = {"total": total, "completed": done, "failed": 0}
        elif status == "failed":
            batch["errors"] = {"object": "list", "data": batch.pop("_errors")}
            batch["request_counts"] = {"total": total, "completed": 0, "failed": 0}
        elif status in ("completed", "expired", "cancelled"):
            upto = total
            if ":" in kind:
                upto = min(total, int(kind.split(":", 1)[1]))
            out, err = [], []
            for n, (custom_id, body) in enumerate(lines[:upto], 1):
                line = self._answer_line(n, custom_id, body)
                ok = line["response"] is not None and line["response"]["status_code"] == 200
                (out if ok else err).append(json.dumps(line) + "\n")
            if status == "expired":
                for n, (custom_id, _) in enumerate(lines[upto:], upto + 1):
                    err.append(
                        json.dumps(
                            {
                                "id": f"batch_req_{n}",
                                "custom_id": custom_id,
                                "response": None,
                                "error": {
                                    "code": "batch_expired",
                                    "message": "This request could not be executed before the completion window expired.",
                                },
                            }
                        )
                        + "\n"
                    )
            for name, rows in (("output_file_id", out), ("error_file_id", err)):
                if rows:
                    fid = self._id("file")
                    self.contents[fid] = "".join(rows).encode()
                    batch[name] = fid
            batch["request_counts"] = {"total": total, "completed": len(out), "failed": len(err)}

    def finish(self) -> None:
        """Every batch still running finalizes and completes on its next two looks."""
        with self._block:
            for bid, script in self._script.items():
                if script and self.batches[bid]["status"] not in ("failed", "cancelling"):
                    final = script[-1]
                    script[:] = ["finalizing", final]

    async def _retrieve(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        bid = request.match_info["bid"]
        with self._block:
            if bid not in self.batches:
                return _error(404, f"No batch with id {bid}")
            self.looks += 1
            self._advance(bid)
            return web.json_response(_public(self.batches[bid]))

    async def _list(self, request: web.Request) -> web.Response:
        if (bad := self._check(request)) is not None:
            return bad
        limit = int(request.query.get("limit", "20"))
        after = request.query.get("after")
        ids = sorted(self.batches, key=lambda b: int(b.split("-")[1]), reverse=True)
        if after in ids:
            ids = ids[ids.index(after) + 1 :]
        page = ids[:limit]
        return web.json_response(
            {
                "object": "list",
                "data": [_public(self.batches[b]) for b in page],
                "first_id": page[0] if page else None,
                "last_id": page[-1] if page else None,
                "has_more": len(ids) > limit,
            }
        )

    def app(self) -> web.Application:
        app = web.Application(client_max_size=300 * 1024 * 1024)  # 200 MB batch files and then some
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        for prefix in ("/v1", "/openai"):
            app.router.add_post(f"{prefix}/files", self._upload)
            app.router.add_get(f"{prefix}/files/{{fid}}/content", self._content)
            app.router.add_post(f"{prefix}/batches", self._create)
            app.router.add_get(f"{prefix}/batches", self._list)
            app.router.add_get(f"{prefix}/batches/{{bid}}", self._retrieve)
        return app


def _public(batch: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in batch.items() if not k.startswith("_")}


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "invalid_request_error"}}, status=status)


def main(argv: list[str] | None = None) -> None:
    run_as_script(
        BatchAPIServer,
        __doc__.splitlines()[0],
        lambda url: json.dumps({"url": url}),
        port=8012,
        argv=argv,
    )


if __name__ == "__main__":
    main()
