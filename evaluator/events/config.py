"""The `webhooks` and `events` sections of flagdeck.yaml (issue 17), hooked into `EvaluatorConfig`:

```yaml
events:
  state_dir: .flagdeck-events     # delivery cursors and the delivery log (relative to flagdeck.yaml)
  poll_interval: 1s               # how often serve looks for new commits on each branch
webhooks:
  - name: audit
    url: https://hooks.example.com/flagdeck
    secret_env: FLAGDECK_AUDIT_SECRET   # or `secret: ...` (HMAC-SHA256 of each body)
    environments: [production]          # default: every environment
    branches: false                     # true: their branch environments' changes too (as `production/NAME`)
    format: cloudevents                 # or slack
    timeout: 10s
    retry: {initial: 1s, max: 5m, attempts: 0}   # attempts 0: until it is delivered
```
Errors are `FILE:LINE: webhooks.0.url: message`, as for every section."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from gitstore.config import Duration, HttpUrl, Section

DEFAULT_STATE = Path.home() / ".flagdeck" / "events"


class RetryConfig(Section):
    """Exponential backoff: `initial`, doubled after each failed attempt up to `max`; after `attempts` attempts
    (0: never) the event is recorded as failed and the next one is delivered."""

    initial: Duration = 1.0
    max: Duration = 300.0
    attempts: int = Field(default=0, ge=0, strict=True)


class WebhookConfig(Section):
    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    url: HttpUrl
    secret: str | None = None
    secret_env: str | None = None
    environments: list[str] = Field(default_factory=lambda: ["*"])
    branches: bool = False  # also the events of these environments' branch environments (`ENV/NAME`)
    format: Literal["cloudevents", "slack"] = "cloudevents"
    timeout: Duration = 10.0
    retry: RetryConfig = Field(default_factory=RetryConfig)

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookConfig:
        if self.secret is not None and self.secret_env is not None:
            raise ValueError("give the secret as `secret` or `secret_env`, not both")
        return self

    def signing_key(self) -> bytes | None:
        """The HMAC key (`secret`, or the variable `secret_env` names; None: bodies go unsigned)."""
        if self.secret_env is not None:
            value = os.environ.get(self.secret_env)
            if not value:
                raise ValueError(f"the environment variable {self.secret_env} is not set (webhook {self.name})")
            return value.encode()
        return self.secret.encode() if self.secret is not None else None


class EventsConfig(Section):
    state_dir: Path = DEFAULT_STATE
    poll_interval: Duration = 1.0
