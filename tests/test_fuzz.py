"""Schemathesis against the served /openapi.json: every operation, with a valid session.

The server is the real one on a real socket, once per store. Each operation gets a
bounded number of generated requests (LANDLINE_FUZZ_EXAMPLES, default 5), and every
answer is checked: no server error (zero 5xx is the bar), a status code and a content
type the document declares, and a body that matches the declared schema.

The longer run for the benchmark day is the same test with more examples:
`LANDLINE_FUZZ_EXAMPLES=500 python -m pytest tests/test_fuzz.py` (README, "Fuzzing").
Anything it finds becomes a plain regression test in the test file of its endpoint.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import schemathesis
from conftest import Landline
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import Case, GenerationMode

from landline import accounts

EXAMPLES = int(os.environ.get("LANDLINE_FUZZ_EXAMPLES", "5"))
# The suite's run is the same every time; a longer run asked for explores afresh.
REPEATABLE = "LANDLINE_FUZZ_EXAMPLES" not in os.environ

CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
]

_numbers = itertools.count(1)


@dataclass
class Fuzzed:
    server: Landline
    number: str
    key: str
    schema: Any

    def fresh_key(self) -> str:
        """A session of its own, for a call that ends the session it is given."""
        added = accounts.add_session(self.server.store, self.number)
        assert added is not None
        return added.session


@pytest.fixture(scope="module")
def fuzzed(shared_landline: Landline) -> Iterator[Fuzzed]:
    server = shared_landline
    number = f"+1206558{next(_numbers):04d}"
    _, key = server.add_line(number, password="correct horse")
    # Something to find: a text sent, one received, a contact saved.
    server.call("/message/send", session=key, contacts="2065550100", body="hello")
    server.handset_texts("2065550101", number, "hi there")
    server.settle()
    server.call("/contact/save", session=key, address="2065550102", firstName="Ada")
    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    yield Fuzzed(server, number, key, schema)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_every_operation_answers_as_documented(fuzzed: Fuzzed, mode: GenerationMode) -> None:
    """Valid requests (positive) and requests that break the document (negative)."""
    failures: list[str] = []
    operations = [result.ok() for result in fuzzed.schema.get_all_operations()]
    assert len(operations) > 20
    http = requests.Session()  # one connection, kept alive, for every request
    for operation in operations:

        @given(case=operation.as_strategy(generation_mode=mode))
        @settings(
            max_examples=EXAMPLES,
            suppress_health_check=list(HealthCheck),
            deadline=None,
            derandomize=REPEATABLE,
            database=None,
        )
        def run(case: Case) -> None:
            with_session(case, fuzzed)
            case.call_and_validate(
                base_url=fuzzed.server.url, session=http, checks=CHECKS, timeout=30
            )

        try:
            run()
        except Unsatisfiable:
            # Nothing to break: the operation takes no parameters.
            assert mode is GenerationMode.NEGATIVE and not list(operation.iter_parameters())
        except Exception as failure:  # every operation's failures, not the first only
            failures.append(f"{operation.method.upper()} {operation.path}: {failure}")
    assert not failures, "\n\n".join(failures)


def with_session(case: Case, fuzzed: Fuzzed) -> None:
    """Put a valid session key where the operation takes one."""
    names = {p.name for p in case.operation.iter_parameters()}
    if "session" not in names:
        return
    key = fuzzed.fresh_key() if case.operation.path == "/user/logout" else fuzzed.key
    if case.query is None:
        case.query = {}
    case.query["session"] = key
