"""A process that imports Flagdeck once and forks real writer processes on request, so a fault test can start and
kill a hundred writers in seconds (a fresh interpreter costs ~1 s of imports). One JSON request per line on stdin,
one JSON answer per line on stdout:

- {"cmd": "writer", "config": F, "env": E, "tag": T, "count": N, "log": L, "crash": P, "size": S}: fork a writer
  committing N flags `T-0` ... (one commit each, descriptions S bytes long; N = 0: until killed); it appends `try KEY` before and `done KEY COMMIT` after
  each commit to L, and sends itself SIGKILL at the crash point P (see gitstore/git/crash.py) -> {"pid": PID}
- {"cmd": "doctor", "config": F, "args": [...], "log": L}: fork `flagdeck doctor --config F ARGS` (output to L)
- {"cmd": "wait", "pid": PID} -> {"exit": CODE} or {"signal": NUMBER}
"""

from __future__ import annotations

import json
import os
import sys
import traceback

from app.cli import main
from app.commands import doctor as _doctor  # noqa: F401 - imported before forking, like the rest
from gitstore.config import load_config
from gitstore.git import crash
from gitstore.model.changes import Change, Kind
from gitstore.model.documents import Flag, FlagType
from gitstore.store import Store


def writer(req: dict, log: int) -> None:
    crash.CRASH_AT = req.get("crash") or ""
    with Store(load_config(req["config"])) as store:
        i = 0
        while req["count"] == 0 or i < req["count"]:
            key = f"{req['tag']}-{i}"
            os.write(log, f"try {key}\n".encode())
            flag = Flag(key=key, name=key, type=FlagType.BOOLEAN, enabled=i % 2 == 0,
                        description="x" * req.get("size", 0))
            result = store.commit(req["env"], [Change("default", Kind.FLAG, key, flag)])
            os.write(log, f"done {key} {result.commit}\n".encode())
            i += 1


def doctor(req: dict, log: int) -> None:
    os.dup2(log, 1)
    os.dup2(log, 2)
    main(["doctor", "--config", req["config"], *req["args"]])  # exits with doctor's status


def serve() -> None:
    for line in sys.stdin:
        req = json.loads(line)
        if req["cmd"] == "wait":
            _, status = os.waitpid(req["pid"], 0)
            answer = {"signal": os.WTERMSIG(status)} if os.WIFSIGNALED(status) else {"exit": os.WEXITSTATUS(status)}
            print(json.dumps(answer), flush=True)
            continue
        pid = os.fork()
        if pid == 0:
            log = os.open(req["log"], os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            code = 0
            try:
                (writer if req["cmd"] == "writer" else doctor)(req, log)
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:  # noqa: BLE001 - reported in the log, the test reads it
                os.write(log, ("error " + traceback.format_exc().replace("\n", "\n  ") + "\n").encode())
                code = 1
            os._exit(code)
        print(json.dumps({"pid": pid}), flush=True)


if __name__ == "__main__":
    serve()
