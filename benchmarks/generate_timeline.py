"""`tagengo generate` as the CLI runs it, noting when its moments came (generate_bench.py --timeline).

    python benchmarks/generate_timeline.py TIMELINE.json generate --input ... --out ...

Runs the `tagengo` program in this process with four moments noted, in seconds since the
process started (the interpreter's own start included): the first call sent (the client's
``_chat_many`` entered), the last answer back (it returned), the dataset folder written (the
runner's ``_finish`` returned) and the process gone (the last exit handler). They are written to
TIMELINE.json at exit. Wrapping costs nothing measurable: three function calls per run, and this
script imports nothing the program does not import before its first call.
"""

from __future__ import annotations

import atexit
import json
import sys
import time
from pathlib import Path


def main() -> None:
    path = Path(sys.argv[1])
    moments: dict[str, float] = {}

    def note(name: str) -> None:
        moments.setdefault(name, time.time())  # the first time for "first call", see below

    import tagengo.cli
    import tagengo.llm.client as client
    import tagengo.run.runner as runner

    calls = client.LLMClient._chat_many

    async def noted_calls(self, *a, **kw):  # type: ignore[no-untyped-def]
        note("first call")
        try:
            return await calls(self, *a, **kw)
        finally:
            moments["last answer"] = time.time()

    finish = runner._finish

    def noted_finish(*a, **kw):  # type: ignore[no-untyped-def]
        out = finish(*a, **kw)
        note("folder written")
        return out

    client.LLMClient._chat_many = noted_calls  # type: ignore[method-assign]
    runner._finish = noted_finish

    def write() -> None:
        import psutil  # here: not before the first call

        note("process gone")
        started = psutil.Process().create_time()
        path.write_text(json.dumps({k: round(v - started, 3) for k, v in moments.items()}))

    # Registered first, so run last: after the program's own exit handlers (tagengo.cli._end_program).
    atexit.register(write)
    sys.argv = ["tagengo", *sys.argv[2:]]
    tagengo.cli.main()


if __name__ == "__main__":
    main()
