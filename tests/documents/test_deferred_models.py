"""The document models build their validators when first used (`defer_build`, issue 18): a first validation on
several threads at once gives every thread the right answer (pydantic's rebuild lock), and importing the models
builds none."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBE = """
import json, threading
from gitstore.model import documents
from gitstore.model.lifecycle import Lifecycle

unbuilt = not documents.Document.__pydantic_complete__ and not Lifecycle.__pydantic_complete__
data = {"namespace": {"key": "default"},
        "flags": [{"key": "f", "name": "F", "type": "VARIANT_FLAG_TYPE", "enabled": True,
                   "variants": [{"key": "a"}, {"key": "b"}],
                   "rules": [{"segment": {"keys": ["s"]}, "distributions": [{"variant": "a", "rollout": 50},
                                                               {"variant": "b", "rollout": 50}]}]}],
        "segments": [{"key": "s", "name": "S", "match_type": "ALL_MATCH_TYPE",
                      "constraints": [{"type": "STRING_COMPARISON_TYPE", "property": "p", "operator": "eq",
                                       "value": "x"}]}]}
gate = threading.Barrier(8)
results, errors = [], []

def first_use():
    gate.wait()
    try:
        results.append(documents.Document.model_validate(data).model_dump(mode="json"))
        Lifecycle(owner="team")
    except Exception as exc:
        errors.append(repr(exc))

threads = [threading.Thread(target=first_use) for _ in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(json.dumps({"unbuilt": unbuilt, "errors": errors, "results": len(results),
                  "same": all(r == results[0] for r in results)}))
"""


def test_a_first_validation_on_eight_threads_at_once() -> None:
    for _ in range(3):  # a fresh process each time: the first validation is the one that builds
        done = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              check=True)
        assert json.loads(done.stdout) == {"unbuilt": True, "errors": [], "results": 8, "same": True}
