"""How the server learns which commits a session's console made: a pipe only that console holds.

The server opens a pipe per session and hands its write end to the console process (`FLAGDECK_REPORT_FD` names
the descriptor). The console's store calls `report(env, commit, message)` after each commit it makes, which writes
one JSON line. Nothing else can write there, so a commit made elsewhere (a `git push`, the evaluator's API, another
person's console) is never attributed to an SSH user, whatever e-mail address it carries.

Nothing here imports asyncssh or Textual: the console side runs in every console process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import BinaryIO

REPORT_FD_ENV = "FLAGDECK_REPORT_FD"
MAX_LINE = 4096  # below PIPE_BUF: one write is one line, never interleaved
MAX_TEXT = 200
COMMIT_ID = re.compile(r"^[0-9a-f]{40}([0-9a-f]{24})?$")


@dataclass(frozen=True)
class CommitReport:
    environment: str
    commit: str
    summary: str


# -- the console's side ----------------------------------------------------------------------------------------------
def commit_reporter(environ: MutableMapping[str, str]) -> Callable[[str, str, str], None] | None:
    """The store hook that reports this process's commits to the SSH server, or None when not run by it. Takes
    the variable out of `environ` and keeps the descriptor from every program this process starts."""
    text = environ.pop(REPORT_FD_ENV, None)
    if not text:
        return None
    try:
        fd = int(text)
        os.set_inheritable(fd, False)
        os.set_blocking(fd, False)  # a commit never waits for the server: a full pipe drops the report
    except (ValueError, OSError):
        return None

    def report(environment: str, commit: str, message: str) -> None:
        summary = message.splitlines()[0] if message else ""
        line = json.dumps({"environment": environment[:MAX_TEXT], "commit": commit, "summary": summary[:MAX_TEXT]})
        with contextlib.suppress(OSError):
            os.write(fd, line.encode()[: MAX_LINE - 1] + b"\n")

    return report


# -- the server's side -----------------------------------------------------------------------------------------------
def parse_report(line: bytes) -> CommitReport | None:
    try:
        data = json.loads(line)
    except ValueError:
        return None
    if not isinstance(data, dict):
        return None
    environment, commit, summary = data.get("environment"), data.get("commit"), data.get("summary", "")
    if not (isinstance(environment, str) and isinstance(commit, str) and isinstance(summary, str)):
        return None
    if not COMMIT_ID.match(commit):
        return None
    return CommitReport(environment[:MAX_TEXT], commit, summary[:MAX_TEXT])


async def read_reports(pipe: BinaryIO, on_report: Callable[[CommitReport], None]) -> None:
    """Read the pipe's lines until every writer has closed it; the pipe is closed when done."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=MAX_LINE)
    try:
        transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    except BaseException:
        pipe.close()
        raise
    try:
        while True:
            try:
                line = await reader.readline()
            except ValueError:  # longer than MAX_LINE: skipped
                continue
            if not line:
                return
            report = parse_report(line)
            if report is not None:
                on_report(report)
    finally:
        transport.close()
