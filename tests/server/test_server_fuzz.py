"""Fuzz the evaluator from its own /openapi.json with schemathesis: valid and invalid inputs for every operation
(streams excluded: they never end) must never give a 5xx, and answers must match the documented statuses, content
types and schemas. Bounded: 12 examples per operation (about 250 requests), deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from .conftest import initial_files
from .harness import FlagRepo, ServerThread, write_config

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def fuzzed_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    directory: Path = tmp_path_factory.mktemp("fuzz")
    repo = FlagRepo(directory / "flags")
    repo.commit(initial_files(), "initial flags")
    server = ServerThread(write_config(directory, repo.path), max_body=64 * 1024)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_schema(fuzzed_server: ServerThread):  # noqa: ANN201
    schema = schemathesis.openapi.from_url(fuzzed_server.url + "/openapi.json")
    schema.config.update(base_url=fuzzed_server.url)
    schema.config.generation.update(modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=12,
                                    deterministic=True, database="none")
    return schema.exclude(path_regex=r"(/stream|/events)$")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_api_never_fails_and_matches_its_document(case, fuzzed_server: ServerThread) -> None:  # noqa: ANN001
    case.call_and_validate(base_url=fuzzed_server.url, checks=CHECKS, timeout=10)
