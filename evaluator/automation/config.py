"""The `automation` section of flagdeck.yaml: the scheduler `flagdeck serve` runs (schedules and ramps).

```yaml
automation:
  enabled: true        # run the scheduler in this server (every replica may: each change lands once)
  poll_interval: 10s   # how often it looks for due schedules and ramp steps
  late_after: 5m       # a schedule found due later than this after its time was missed (the server was down)
  missed: run          # what a missed schedule without its own `missed:` does: run (late) or skip
  roles:               # who may still make a schedule's change or a ramp's step when it runs, by email
    alice@example.com: {"*": editor}
    bob@example.com: {staging: editor, production: viewer}
```
`roles` is read again from flagdeck.yaml at each round (evaluator/automation/roles.py): a user removed or demoted
since they scheduled makes their pending schedules and ramp steps fail, visibly, instead of committing. Instead of
`roles`, `users: PATH` (relative to flagdeck.yaml) takes them from a users file in `flagdeck ssh-server`'s format,
the one its console logs people in with (read again at each round too). Without either the scheduler does not
check (as a local user without FLAGDECK_ROLES is admin everywhere)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, field_validator, model_validator

from gitstore.config import Duration, Section

Role = Literal["viewer", "editor", "admin"]


class AutomationConfig(Section):
    enabled: bool = True
    poll_interval: Duration = 10.0
    late_after: Duration = 300.0
    missed: Literal["run", "skip"] = "run"
    roles: dict[str, dict[str, Role]] | None = Field(default=None)
    users: Path | None = None  # a users file (gitstore/users.py) to take the roles from instead of `roles`

    @field_validator("roles")
    @classmethod
    def _emails(cls, value: dict[str, dict[str, Role]] | None) -> dict[str, dict[str, Role]] | None:
        for email in value or {}:
            if "@" not in email or any(c in email for c in " <>"):
                raise ValueError(f"{email!r} is not an email address (roles are keyed by the user's email)")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if self.roles is not None and self.users is not None:
            raise ValueError("give the roles in automation.roles or a users file in automation.users, not both")
        return self
