"""Console speed: process start to the first rendered flag list (demo data and 10,000 flags), one filter keystroke
and opening a flag on 10,000 flags. Targets: first screen < 1 s; a keystroke < 50 ms.

Run: `.venv/bin/python bench/console.py` (or `make bench`). Each figure is the median of several runs; the
keystroke is also compared side by side with rebuilding a Textual DataTable, which is what the virtualised
FlagTable avoids."""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ["TEXTUAL_ANIMATIONS"] = "none"

FLAGS = 10_000
STARTS = int(os.environ.get("BENCH_STARTS", "5"))
KEYS = "flag-12"

CONFIG = """\
storage:
  local: {path: repo, branch: main}
environments:
  production: {storage: local, directory: production, default: true}
"""

# The child: started as a fresh process; says READY when the first frame showing the flag list is rendered (not
# when the process is next idle, as `pilot.pause()` waits for: up to a second more, of the work that follows the
# first screen, e.g. reading when each flag last changed).
# It starts as `flagdeck console` does (app/commands/console.py): the store and session first, the environment read
# ahead in a thread while the console's modules load.
CHILD = r"""
import asyncio, sys, threading, time
sys.path.insert(0, {root!r})
from app.session import Session
from gitstore.config import load_config
from gitstore.store import Store

store = Store(load_config({config!r}))
session = Session(store, env="production", freeze_gc=True)
ahead = getattr(session, "read_ahead", None)  # None in an older source tree (bench/cli.py --against)
if ahead is not None:
    threading.Thread(target=ahead, daemon=True).start()
from app.console import ConsoleApp
from app.widgets.flag_table import FlagTable

async def first_screen(pilot):
    frames = []  # when each frame was rendered (headless: composed, not written to a terminal)
    display = pilot.app._display

    def spy(screen, renderable):
        display(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    pilot.app._display = spy
    while True:
        tables = pilot.app.screen.query(FlagTable)
        if tables and tables.first().total:
            break
        await pilot.pause(0.002)
    filled = time.perf_counter()
    while not frames or frames[-1] < filled:  # the first frame drawn with the rows
        await asyncio.sleep(0.0005)
    print(f"READY {{tables.first().total}}", flush=True)
    pilot.app.exit()

app = ConsoleApp(session)
app.run(headless=True, size=(100, 30), auto_pilot=first_screen)
store.close()
"""


# The child for entering a namespace: the console opens on namespace `{first}`; once its list is on screen the
# namespace `{enter}` is opened as the namespace list opens one (`switch_to`), and the child says ENTERED with the
# seconds from then to the first frame showing its rows.
CHILD_ENTER = r"""
import asyncio, sys, time
sys.path.insert(0, {root!r})
from app.console import ConsoleApp
from app.session import Session
from app.widgets.flag_table import FlagTable
from gitstore.config import load_config
from gitstore.store import Store

async def enter(pilot):
    frames = []
    display = pilot.app._display

    def spy(screen, renderable):
        display(screen, renderable)
        if renderable is not None:
            frames.append(time.perf_counter())

    pilot.app._display = spy

    async def shown(count=None):
        while True:
            tables = pilot.app.screen.query(FlagTable)
            if tables and tables.first().total and (count is None or tables.first().total == count):
                break
            await pilot.pause(0.002)
        filled = time.perf_counter()
        while not frames or frames[-1] < filled:
            await asyncio.sleep(0.0005)
        return tables.first().total

    await shown()
    await pilot.app.workers.wait_for_complete()  # the first namespace settled: its document built
    started = time.perf_counter()
    pilot.app.switch_to(namespace={enter!r})
    count = await shown({count})
    print(f"ENTERED {{time.perf_counter() - started:.4f}} {{count}}", flush=True)
    pilot.app.exit()

store = Store(load_config({config!r}))
app = ConsoleApp(Session(store, env="production", namespace={first!r}, freeze_gc=True))
app.run(headless=True, size=(100, 30), auto_pilot=enter)
store.close()
"""


def enter_namespace(config: Path, first: str, enter: str, count: int) -> float:
    """Seconds from opening namespace `enter` (of `count` flags) in a console started on `first` to the first frame
    showing its rows (the console process's start is not counted)."""
    script = CHILD_ENTER.format(root=str(ROOT), config=str(config), first=first, enter=enter, count=count)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    _, err = proc.communicate(timeout=120)
    if not line.startswith("ENTERED"):
        raise RuntimeError(f"the console did not show the namespace: {err[-2000:]}")
    return float(line.split()[1])


def big_namespace(count: int) -> str:
    lines = ['version: "1.6"', "namespace: default", "flags:"]
    for i in range(count):
        lines += [f"  - key: flag-{i:05d}", f"    name: Flag number {i}", "    type: VARIANT_FLAG_TYPE",
                  f"    enabled: {'true' if i % 3 else 'false'}", "    variants:", "      - key: a", "        default: true",
                  "      - key: b", "    rules:", "      - segment: everyone", "        distributions:",
                  "          - {variant: a, rollout: 50}", "          - {variant: b, rollout: 50}"]
    lines += ["segments:", "  - key: everyone", "    name: Everyone", "    match_type: ALL_MATCH_TYPE"]
    return "\n".join(lines) + "\n"


def make_repo(root: Path, count: int | None) -> Path:
    """A config and repository: the demo data (count None) or one namespace of `count` flags."""
    from gitstore.demo import init_demo
    from gitstore.git.refs import branch_ref
    from gitstore.git.repo import build_tree, cas_ref, make_commit, open_repository
    from gitstore.results import Author

    if count is None:
        return init_demo(root)
    root.mkdir(parents=True)
    (root / "flagdeck.yaml").write_text(CONFIG)
    repo = open_repository(root / "repo")
    repo.set_head(branch_ref("main"))
    tree = build_tree(repo, None, {"production/default/features.yaml": big_namespace(count).encode()})
    commit = make_commit(repo, tree, [], Author("Bench", "bench@localhost"), "create namespace default")
    cas_ref(repo, branch_ref("main"), None, commit, "bench")
    return root / "flagdeck.yaml"


def first_screen(config: Path, root: Path = ROOT) -> tuple[float, str]:
    """Wall time from starting a fresh Python process to the first rendered flag list (of the console of the
    source tree `root`)."""
    script = CHILD.format(root=str(root), config=str(config))
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - started
    _, err = proc.communicate(timeout=60)
    if not line.startswith("READY"):
        raise RuntimeError(f"the console did not render: {err[-2000:]}")
    return elapsed, line.split()[1]


class Frames:
    """Timestamps of the frames the app renders (its compositor runs in headless mode too; only the write to a
    terminal is skipped), so a latency is measured up to the frame that shows the result."""

    def __init__(self, app: object) -> None:
        self.times: list[float] = []
        display = app._display  # type: ignore[attr-defined]

        def spy(screen: object, renderable: object) -> None:
            display(screen, renderable)
            if renderable is not None:
                self.times.append(time.perf_counter())

        app._display = spy  # type: ignore[attr-defined]

    async def after(self, ready: Callable[[], bool], started: float, timeout: float = 10) -> float:
        """Seconds from `started` to the first frame rendered once `ready()` holds."""
        while not ready():
            if time.perf_counter() - started > timeout:
                raise TimeoutError("the console did not react")
            await asyncio.sleep(0.0002)
        seen = time.perf_counter()
        while not self.times or self.times[-1] < seen:
            await asyncio.sleep(0.0002)
        return self.times[-1] - started


def editor_shown(app: object, editor: type) -> bool:
    """The flag editor is the current screen and has filled its variant list (it may still be composing)."""
    screen = app.screen  # type: ignore[attr-defined]
    variants = screen.query("#variants") if isinstance(screen, editor) else None
    return bool(variants) and variants.first().row_count > 0


async def interaction(config: Path) -> dict[str, list[float]]:
    """A filter keystroke and opening a flag in one running console over `config`, each measured from the key
    event to the rendered frame that shows its result."""
    from textual import events
    from textual.widgets import DataTable

    from app.console import ConsoleApp
    from app.screens.flag_editor import FlagEditorScreen
    from app.session import Session
    from app.widgets.flag_table import FlagTable
    from gitstore.config import load_config
    from gitstore.store import Store

    times: dict[str, list[float]] = {"keystroke": [], "open": [], "datatable": [], "toggle": []}
    store = Store(load_config(config))
    app = ConsoleApp(Session(store, env="production", freeze_gc=True), cursor_blink=False)
    async with app.run_test(size=(100, 30)) as pilot:
        frames = Frames(app)
        while not app.screen.query(FlagTable) or not app.screen.query_one(FlagTable).total:
            await pilot.pause(0.01)
        await app.workers.wait_for_complete()
        table = app.screen.query_one(FlagTable)
        await pilot.press("slash")
        for _ in range(3):
            typed = ""
            for key in KEYS + "\b" * len(KEYS):
                typed = typed[:-1] if key == "\b" else typed + key
                event = events.Key("backspace", None) if key == "\b" else events.Key(key, key)
                started = time.perf_counter()
                app.post_message(event)
                times["keystroke"].append(await frames.after(lambda t=typed: table._filter == t, started))
        assert table.row_count == table.total, "the filter did not clear"
        await pilot.press("escape")
        for _ in range(10):
            count = len(app.session.pending)
            started = time.perf_counter()
            app.post_message(events.Key("space", " "))
            times["toggle"].append(await frames.after(lambda n=count: len(app.session.pending) != n, started))
        for i in range(5):
            table.move_to(f"flag-{i * 1999:05d}")
            await pilot.pause()
            started = time.perf_counter()
            app.post_message(events.Key("enter", "\r"))
            times["open"].append(await frames.after(lambda: editor_shown(app, FlagEditorScreen), started))
            await pilot.press("escape")
            await app.workers.wait_for_complete()
            await pilot.pause()
        # The same keystroke on a DataTable: rebuild its rows from the filtered list.
        rows = [(r.key, r.name, r.kind, "on" if r.enabled else "off", str(r.rules)) for r in table._rows]
        grid = DataTable()
        await app.screen.mount(grid, before=table)
        grid.add_columns("Key", "Name", "Type", "Enabled", "Rules")
        for prefix in ("f", "fl", "fla", "flag", "flag-", "flag-1"):
            started = time.perf_counter()
            grid.clear()
            grid.add_rows([r for r in rows if prefix in r[0]])
            times["datatable"].append(await frames.after(lambda: True, started))
    store.close()
    return times


def first_snapshot(config: Path) -> float:
    """The store's share of the first screen: opening a fresh Store and reading its first snapshot."""
    from gitstore.config import load_config
    from gitstore.store import Store

    started = time.perf_counter()
    with Store(load_config(config)) as store:
        store.snapshot("production")
        return time.perf_counter() - started


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:8.1f} ms"


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["FLAGDECK_STATE_DIR"] = str(Path(tmp) / "state")  # nothing of the bench outlives it
        demo = make_repo(Path(tmp) / "demo", None)
        big = make_repo(Path(tmp) / "big", FLAGS)
        demo_times = [first_screen(demo)[0] for _ in range(STARTS)]
        big_runs = [first_screen(big) for _ in range(STARTS)]
        assert all(count == str(FLAGS) for _, count in big_runs), big_runs
        big_times = [t for t, _ in big_runs]
        parse_times = [first_snapshot(big) for _ in range(STARTS)]
        inter = asyncio.run(interaction(big))
    print(f"first flag list, demo data         {ms(demo_times)}   (target < 1000 ms; median of {STARTS} starts)")
    print(f"first flag list, {FLAGS:,} flags     {ms(big_times)}   (target < 1000 ms; "
          f"{statistics.median(big_times) / statistics.median(demo_times):.2f}x the demo)")
    print(f"  of which the store's first snapshot  {ms(parse_times)}   (reading and parsing the namespace: gitstore)")
    print(f"filter keystroke, {FLAGS:,} flags    {ms(inter['keystroke'])}   (target < 50 ms; "
          f"median of {len(inter['keystroke'])} keys, key event to rendered frame; "
          f"max {max(inter['keystroke']) * 1000:.1f} ms)")
    print(f"  same keystroke as a DataTable rebuild {ms(inter['datatable'])}   "
          f"(FlagTable is {statistics.median(inter['datatable']) / statistics.median(inter['keystroke']):.1f}x "
          "faster)")
    print(f"toggle (space), {FLAGS:,} flags      {ms(inter['toggle'])}   (target < 50 ms; median of "
          f"{len(inter['toggle'])})")
    print(f"open a flag, {FLAGS:,} flags         {ms(inter['open'])}   (median of {len(inter['open'])}, key event "
          "to the rendered editor)")
    print(f"(machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} during the run)")


if __name__ == "__main__":
    main()
