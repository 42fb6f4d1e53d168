"""Protected environments: who may write where, beyond roles.

An environment with `protect: {proposals: required, ...}` in flagdeck.yaml refuses every direct write (commit,
revert, restore, promote, namespace create/rename/delete: `Store.commit` is the one funnel, and calls `guard`)
with `ProtectedEnvironment`, whose message says how to propose instead. Two ways in, each an `Admission` held in a
context variable for the duration of one `with` block (so it follows `asyncio.to_thread` and `Store.call`, and
never leaks to another thread or task):
- merging an approved proposal (`gitstore.proposals.service`), whose commit carries `Proposal:` and
  `Approved-by:` trailers;
- breaking glass (`Store.break_glass(env, reason)`, admins only), whose commits carry `Break-glass: <reason>` and
  each leave an audit record on the proposals branch (`gitstore.proposals.ledger`).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from gitstore.config import Config, ProtectConfig
from gitstore.errors import ProtectedEnvironment

UNPROTECTED = ProtectConfig.model_construct(proposals="optional", approvals=0)  # (no validator built at import)
"""The policy of an environment without `protect:`: direct writes, and a proposal merges without approvals."""


@dataclass(frozen=True)
class Admission:
    """Leave to write to a protected environment: the trailers its commits carry and what to do after each
    (`after(env, commit id)`, on the caller's thread)."""

    env: str
    trailers: tuple[tuple[str, str], ...] = ()
    after: Callable[[str, str], None] | None = None


_admitted: ContextVar[Admission | None] = ContextVar("flagdeck_admission", default=None)


def policy(config: Config, env: str) -> ProtectConfig:
    """The environment's `protect:` policy (UNPROTECTED without one; a branch environment is never protected)."""
    found = config.environments.get(env)
    return found.protect if found is not None and found.protect is not None else UNPROTECTED


def protected(config: Config, env: str) -> bool:
    """Whether direct writes to `env` are refused (`proposals: required`)."""
    return policy(config, env).proposals == "required"


def how_to_propose(env: str) -> str:
    return (f"{env} is protected: changes reach it only through an approved proposal. Make the change on a "
            f"branch (`flagdeck branch create --env {env} NAME`) and propose it (`flagdeck propose --env {env} "
            "--branch NAME --title ...`); an admin may break glass in an incident")


def guard(config: Config, env: str, doing: str = "committing") -> Admission | None:
    """The admission this write goes in with (None: the environment is not protected); `ProtectedEnvironment`
    when it is protected and no admission for it is held."""
    if not protected(config, env):
        return None
    held = _admitted.get()
    if held is not None and held.env == env:
        return held
    raise ProtectedEnvironment(f"{doing} refused: {how_to_propose(env)}")


@contextlib.contextmanager
def admitted(admission: Admission) -> Iterator[Admission]:
    token = _admitted.set(admission)
    try:
        yield admission
    finally:
        _admitted.reset(token)


def with_trailers(message: str, trailers: tuple[tuple[str, str], ...]) -> str:
    """The message with Git trailers (`Key: value` lines) in a last paragraph of their own."""
    if not trailers:
        return message
    lines = "\n".join(f"{key}: {' '.join(value.split())}" for key, value in trailers)
    return f"{message.rstrip()}\n\n{lines}"
