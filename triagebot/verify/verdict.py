"""From one gate run of a draft to its verdict: reproduced, not_reproduced or error, never a guess.

A run reproduces the Sentry issue only when every attempt failed with the issue's own error: the
uncaught page error of the same type (and message, where Sentry has one), or a 5xx answer to the
request the event names. Any other failure (an element not found, a timeout, another exception,
a 5xx elsewhere) is not_reproduced, and the detail says what was seen instead. A run that could not
happen at all (preview unreachable, no browser, setup refused) is an error.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from triagebot.gates.models import Evidence, Failure, SpecResult
from triagebot.gates.runner import UNREACHABLE, page_error_matches
from triagebot.integrations.ports import PageErrorSeen
from triagebot.spec import PageError, Request, Spec

Result = Literal["reproduced", "not_reproduced", "error"]
REPRODUCED: Result = "reproduced"
NOT_REPRODUCED: Result = "not_reproduced"
ERROR: Result = "error"
DETAIL_MAX = 4000
_PAGE_ERROR = re.compile(r"^page error (?P<name>[^:]*): (?P<message>.*)$", re.DOTALL)
_SERVER_ERROR = re.compile(r"^(?P<method>[A-Z]+) (?P<url>\S+) answered (?P<status>5[0-9]{2})$")


@dataclass(frozen=True)
class Verdict:
    """What one verification run showed, in words a reviewer can check against the evidence."""

    result: Result
    detail: str
    step_index: int | None = None  # -1: the start navigation; None: after the steps or not started
    screenshot: str | None = None
    trace: str | None = None

    @property
    def reproduced(self) -> bool:
        """Say whether the run failed with the issue's own error."""
        return self.result == REPRODUCED


def own_error(spec: Spec) -> PageError | None:
    """The page error that counts as the issue's own: its type, and its message where Sentry has one."""
    wanted = spec.assertions.page_error
    if wanted is None or not wanted.type:
        # Without a type there is nothing to tell the issue's error from any other uncaught error.
        return None
    if spec.issue.exception.type and spec.issue.exception.type != wanted.type:
        return None  # the assertion was edited away from the issue's error: it proves nothing about it
    return wanted


def named_requests(spec: Spec) -> list[tuple[str, str]]:
    """The (method, path) of the requests the event names: the replayed ones of a server spec."""
    return [(step.method, urlsplit(step.path).path) for step in spec.steps if isinstance(step, Request)]


def classify(spec: Spec, result: SpecResult) -> Verdict:
    """Turn a spec's gate result into a verdict."""
    failure = result.failure
    screenshot, trace = _files(failure.evidence if failure else None)
    if result.status in ("passed", "flaky"):
        detail = "the test passed: " + _what_passed(spec)
        if result.status == "flaky":
            detail = "the test failed once and then passed, which the gate does not count as a failure"
        return Verdict(NOT_REPRODUCED, detail)
    assert failure is not None
    where = step_words(failure)
    if result.status == "error" or _unreachable(failure):
        return Verdict(ERROR, _clip(f"could not run ({where}): {failure.message}"), failure.step_index)
    attempts = [attempt.failure for attempt in result.attempts if attempt.failure is not None]
    matched = [_own_failure(spec, seen) for seen in attempts]
    if attempts and all(matched):
        return Verdict(
            REPRODUCED,
            _clip(f"{where}: {matched[-1]}"),
            failure.step_index,
            screenshot=screenshot,
            trace=trace,
        )
    return Verdict(
        NOT_REPRODUCED,
        _clip(f"{where}: {_instead(spec, failure)}"),
        failure.step_index,
        screenshot=screenshot,
        trace=trace,
    )


def step_words(failure: Failure) -> str:
    """Name the failing step as people count them: `step 3 (click testid=apply-coupon)`."""
    return f"{failure.step_label} ({failure.step})" if failure.step_label else failure.step


def _own_failure(spec: Spec, failure: Failure) -> str | None:
    """Return the failure in words when it is the issue's own error, else None."""
    page = _PAGE_ERROR.match(failure.message)
    wanted = own_error(spec)
    if page and wanted is not None:
        seen = PageErrorSeen(name=page["name"], message=page["message"], step=None)
        if page_error_matches(wanted, seen):
            return f"{seen.name}: {seen.message}"
        return None
    server = _SERVER_ERROR.match(failure.message)
    if server:
        path = urlsplit(server["url"]).path
        if (server["method"], path) in named_requests(spec):
            return f"{server['method']} {path} answered {server['status']}"
    return None


def _instead(spec: Spec, failure: Failure) -> str:
    """Say what the run saw instead of the issue's error."""
    page = _PAGE_ERROR.match(failure.message)
    if page:
        return f"a different page error, {page['name']}: {page['message']}"
    server = _SERVER_ERROR.match(failure.message)
    if server:
        return f"{failure.message}, which is not the request the event names"
    wanted = own_error(spec)
    if wanted is None and spec.assertions.page_error is not None:
        return f"{failure.message} (the event names no exception type to compare with)"
    return failure.message


def _what_passed(spec: Spec) -> str:
    wanted = own_error(spec)
    if wanted is not None:
        return f"no uncaught {wanted.type} was thrown"
    requests = named_requests(spec)
    if requests:
        return " and ".join(f"{method} {path}" for method, path in requests) + " answered without a 5xx"
    return "no error was seen"


def _unreachable(failure: Failure) -> bool:
    return any(code in failure.message for code in UNREACHABLE)


def _files(evidence: Evidence | None) -> tuple[str | None, str | None]:
    return (evidence.screenshot, evidence.trace) if evidence else (None, None)


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= DETAIL_MAX else text[: DETAIL_MAX - 1] + "…"
