"""One error hierarchy for the store; the evaluator and the console map these to their own shapes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One validation problem: where it is and what is wrong. `line` is 1-based, 0 when unknown."""

    file: str
    line: int
    path: str
    message: str
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.path}: {self.message}" if self.path else f"{where}: {self.message}"


class FlagdeckError(Exception):
    """Base of every error the store raises on purpose."""


class NotFoundError(FlagdeckError):
    pass


class ValidationError(FlagdeckError):
    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems) or "invalid document")


class ConflictError(FlagdeckError):
    """The branch moved and the other change touched the same resource."""

    def __init__(self, message: str, resource: str = ""):
        self.resource = resource
        super().__init__(message)


class SyncError(FlagdeckError):
    """A remote could not be fetched from or pushed to."""


class ConfigError(FlagdeckError):
    pass


class AccessDenied(FlagdeckError):
    """The acting user's role does not allow this change."""


class ProtectedEnvironment(AccessDenied):
    """The environment is protected (`protect:` in flagdeck.yaml): a change gets in only through a proposal."""
