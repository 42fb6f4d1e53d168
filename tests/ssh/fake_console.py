"""A small full-screen program the transport tests run in place of the console: it draws its window size, the
identity the server gave it and the names of its environment variables, redraws on SIGWINCH, echoes keys, and
exits with status 3 on `q`. It lets the PTY plumbing be tested without depending on the console's screens."""

from __future__ import annotations

import os
import signal
import sys
import tty


def draw(*_: object) -> None:
    cols, rows = os.get_terminal_size(0)
    lines = [
        f"FAKE CONSOLE {cols}x{rows}",
        f"user={os.environ.get('FLAGDECK_USER')}",
        f"roles={os.environ.get('FLAGDECK_ROLES')}",
        f"term={os.environ.get('TERM')} colorterm={os.environ.get('COLORTERM')}",
        f"state={os.environ.get('FLAGDECK_STATE_DIR')} remote={os.environ.get('FLAGDECK_REMOTE')}",
        "env=" + ",".join(sorted(os.environ)),
    ]
    sys.stdout.write("\x1b[2J\x1b[H" + "\r\n".join(lines) + "\r\n")
    sys.stdout.flush()


def main() -> int:
    signal.signal(signal.SIGWINCH, draw)
    tty.setraw(0)
    draw()
    while True:
        data = os.read(0, 1024)
        if not data or data == b"q":
            return 3
        sys.stdout.write(f"key={data!r}\r\n")
        sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
