"""`make bench`: run every benchmark script under bench/ in turn; each prints its own medians and ratios."""

from __future__ import annotations

import importlib.util
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# Running `python bench/run_all.py` puts bench/ first on sys.path, where bench/gitstore.py would shadow the
# gitstore package: put the project root there instead.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(ROOT))
ORDER = ["documents", "engine", "gitstore", "cli", "server", "analytics_store", "streams", "soak", "console", "insight",
         "lifecycle", "ssh"]


def main(argv: list[str]) -> int:
    wanted = argv or ORDER
    failed = []
    for name in wanted:
        path = HERE / f"{name}.py"
        if not path.exists():
            print(f"== {name}: no bench/{name}.py")
            continue
        print(f"\n== bench/{name}.py")
        spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
        module = importlib.util.module_from_spec(spec)
        assert spec.loader is not None
        started = time.perf_counter()
        try:
            spec.loader.exec_module(module)
            module.main()
        except Exception as exc:  # one failing bench must not hide the others
            failed.append(name)
            print(f"!! bench/{name}.py failed: {exc!r}")
        print(f"-- bench/{name}.py took {time.perf_counter() - started:.1f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
