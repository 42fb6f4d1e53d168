"""The `automation` section of flagdeck.yaml: the scheduler `flagdeck serve` runs (schedules and ramps).

```yaml
automation:
  enabled: true        # run the scheduler in this server (every replica may: each change lands once)
  poll_interval: 10s   # how often it looks for due schedules and ramp steps
  late_after: 5m       # a schedule found due later than this after its time was missed (the server was down)
  missed: run          # what a missed schedule without its own `missed:` does: run (late) or skip
```"""

from __future__ import annotations

from typing import Literal

from gitstore.config import Duration, Section


class AutomationConfig(Section):
    enabled: bool = True
    poll_interval: Duration = 10.0
    late_after: Duration = 300.0
    missed: Literal["run", "skip"] = "run"
