"""Documents benchmark: loading (parse + validate + models) and minimal-diff writing, side by side with the
alternatives the design rejected. Prints medians and ratios.

    .venv/bin/python bench/documents.py
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from gitstore.edit.writer import edit_file  # noqa: E402
from gitstore.format.loader import load_document  # noqa: E402
from gitstore.format.models import dump_document  # noqa: E402
from gitstore.model.changes import Change, Kind  # noqa: E402
from tests.documents.synth import namespace_text  # noqa: E402


def median_ms(fn: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def row(label: str, ours: float, other: float | None = None, other_label: str = "") -> None:
    line = f"  {label:<48} {ours:9.1f} ms"
    if other is not None:
        line += f"   {other_label:<26} {other:9.1f} ms   ratio {other / ours:6.1f}x"
    print(line)


def bench_load() -> None:
    import yaml

    print("load: parse + validate + build models (ours) vs parse only (PyYAML C loader)")
    for flags, runs in ((1_000, 7), (10_000, 3)):
        text = namespace_text(flags)
        data = text.encode()
        ours = median_ms(lambda d=data: load_document(d, "default/features.yaml"), runs)
        pyyaml = median_ms(lambda t=text: yaml.load(t, Loader=yaml.CSafeLoader), 1 if flags > 1000 else 3)
        row(f"{flags:>6} flags ({len(data) / 1e6:.1f} MB)", ours, pyyaml, "PyYAML CSafeLoader")


def bench_write() -> None:
    print("one-flag toggle: minimal-diff splice (ours, base document given) vs whole-file canonical re-dump")
    for flags, runs in ((100, 15), (1_000, 9), (10_000, 5)):
        text = namespace_text(flags, comments=True)
        doc = load_document(text, "default/features.yaml").document
        flag = doc.flags[flags // 2]
        changes = [Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))]
        result = edit_file(text, "default/features.yaml", changes, base=doc)
        assert not result.rewritten
        ours = median_ms(lambda t=text, c=changes, d=doc: edit_file(t, "default/features.yaml", c, d), runs)
        new_doc = result.document
        redump = median_ms(lambda d=new_doc: dump_document(d), max(3, runs // 3))
        row(f"{flags:>6} flags", ours, redump, "re-dump whole file")
        if flags <= 1_000:
            no_base = median_ms(lambda t=text, c=changes: edit_file(t, "default/features.yaml", c), max(3, runs // 3))
            row(f"{flags:>6} flags, without base (parses the file)", no_base)
    text = namespace_text(100, comments=True)
    doc = load_document(text, "default/features.yaml").document
    flag = doc.flags[50]
    changes = [Change("default", Kind.FLAG, flag.key, flag.model_copy(update={"enabled": not flag.enabled}))]
    ours = median_ms(lambda: edit_file(text, "default/features.yaml", changes, doc), 15)
    rt = median_ms(lambda: _ruamel_toggle(text, flag.key), 3)
    row("   100 flags vs ruamel round-trip edit", ours, rt, "ruamel load+edit+dump")


def _ruamel_toggle(text: str, key: str) -> str:
    import io

    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data = yaml.load(text)
    for flag in data["flags"]:
        if flag["key"] == key:
            flag["enabled"] = not flag["enabled"]
    out = io.StringIO()
    yaml.dump(data, out)
    return out.getvalue()


def main() -> None:
    bench_load()
    bench_write()


if __name__ == "__main__":
    main()
