"""The evaluation engine: pure, no I/O. Compile a namespace once, evaluate many times (docs/contracts.md)."""

from evaluator.engine.compiler import attachment_text, compile_namespace
from evaluator.engine.errors import EvaluationError, FlagNotFound, WrongFlagType
from evaluator.engine.evaluate import evaluate, evaluate_boolean, evaluate_variant
from evaluator.engine.model import (
    CompiledDistribution,
    CompiledFlag,
    CompiledNamespace,
    CompiledRollout,
    CompiledRule,
    CompiledSegment,
)
from evaluator.engine.results import (
    BooleanResult,
    ErrorReason,
    Reason,
    Result,
    VariantResult,
)
from evaluator.engine.trace import Trace

__all__ = [
    "BooleanResult",
    "CompiledDistribution",
    "CompiledFlag",
    "CompiledNamespace",
    "CompiledRollout",
    "CompiledRule",
    "CompiledSegment",
    "ErrorReason",
    "EvaluationError",
    "FlagNotFound",
    "Reason",
    "Result",
    "Trace",
    "VariantResult",
    "WrongFlagType",
    "attachment_text",
    "compile_namespace",
    "evaluate",
    "evaluate_boolean",
    "evaluate_variant",
]
