"""Evaluation errors, carrying the gRPC code Flipt's server answers with (flipt-compatibility §4.1, §6.2)."""

from __future__ import annotations

NOT_FOUND = 5
INVALID_ARGUMENT = 3


class EvaluationError(Exception):
    def __init__(self, code: int, message: str):
        self.code = code
        self.message = message
        super().__init__(message)


class FlagNotFound(EvaluationError):
    def __init__(self, namespace: str, flag_key: str):
        self.namespace = namespace
        self.flag_key = flag_key
        super().__init__(NOT_FOUND, f'flag "{namespace}/{flag_key}" not found')


class WrongFlagType(EvaluationError):
    """Asking `/variant` of a boolean flag or `/boolean` of a variant flag; names the flag's actual type."""

    def __init__(self, flag_type: str):
        self.flag_type = flag_type
        super().__init__(INVALID_ARGUMENT, f"flag type {flag_type} invalid")
