"""Run a draft against a build with the bug, exactly as the gate would, and keep the verdict in the spec.

The draft runs first with the gate's own options (its retry included), so "reproduced" means the
gate would fail on that build with the issue's error. When it does not reproduce, the alternatives
(`variants`) are screened a few at a time with one attempt each, within a time budget; the first
that reproduces in rank order is run again with the gate's options before it is kept.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from triagebot.drafts.config import PreviewConfig
from triagebot.drafts.derive import STEP_NOTE, step_notes
from triagebot.errors import BadInput, RefusedHost
from triagebot.gates.models import GateResult
from triagebot.gates.runner import GateOptions, new_run_id, run_gate_async
from triagebot.integrations.ports import BrowserLauncher, BrowserUnavailable
from triagebot.integrations.reachability import probe_origin
from triagebot.integrations.sentry.event import SentryEvent
from triagebot.origin import preview_origin
from triagebot.settings import Settings
from triagebot.spec import SPEC_ID, Spec, Verification
from triagebot.verify.variants import Variant, further, variants
from triagebot.verify.verdict import ERROR, NOT_REPRODUCED, Verdict, classify

SCREEN_AT_ONCE = 4  # alternatives run side by side; more would starve a small machine's cores
MIN_SCREEN_MS = 2_000  # below this, an alternative could not get past its first page
CONNECT_TIMEOUT_SECONDS = 10.0
VERIFICATION_NOTES = ("Verification kept an alternative: ", "Verification also tried: ")


@dataclass(frozen=True)
class Outcome:
    """The spec to keep (verification recorded, notes telling what was tried) and its verdict."""

    spec: Spec
    verdict: Verdict
    base_url: str
    tried: list[str] = field(default_factory=list)  # each alternative and what it did, in words
    kept: str | None = None  # the alternative kept instead of the first draft, in words

    @property
    def verification(self) -> Verification:
        """The `verification:` block written into the spec."""
        assert self.spec.verification is not None
        return self.spec.verification


def verify_or_refuse(
    spec: Spec,
    *,
    base_url: str,
    settings: Settings,
    event: SentryEvent | None = None,
    launcher: BrowserLauncher | None = None,
    preview: PreviewConfig | None = None,
) -> Outcome:
    """Verify as `verify_draft` does, a URL that is not a usable origin giving the verdict `error`."""
    try:
        return verify_draft(
            spec, base_url=base_url, settings=settings, event=event, launcher=launcher, preview=preview
        )
    except BadInput as exc:
        return _finish(spec.model_copy(update={"verification": None}), Verdict(ERROR, str(exc)), base_url)


def verify_draft(
    spec: Spec,
    *,
    base_url: str,
    settings: Settings,
    event: SentryEvent | None = None,
    options: GateOptions | None = None,
    launcher: BrowserLauncher | None = None,
    budget_seconds: float | None = None,
    preview: PreviewConfig | None = None,
) -> Outcome:
    """Verify a draft against the build at `base_url` (blocking); BadInput for an unusable URL.

    `preview` is the repository's `preview:` config (sign-in, flags, headers): the draft enters the
    build exactly as the gate would.
    """
    if options is None:
        options = GateOptions.from_settings(settings, preview=preview)
    return asyncio.run(
        verify_draft_async(
            spec,
            base_url=base_url,
            settings=settings,
            event=event,
            options=options,
            launcher=launcher,
            budget_seconds=budget_seconds,
        )
    )


async def verify_draft_async(
    spec: Spec,
    *,
    base_url: str,
    settings: Settings,
    event: SentryEvent | None = None,
    options: GateOptions | None = None,
    launcher: BrowserLauncher | None = None,
    budget_seconds: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Outcome:
    """Verify a draft, trying its alternatives within the budget when the draft itself does not reproduce."""
    # A spec verified before (`/triage verify`) drops that run's notes: this run writes its own.
    notes = [note for note in spec.notes if not note.startswith(VERIFICATION_NOTES)]
    spec = spec.model_copy(update={"verification": None, "notes": notes})
    try:
        origin = preview_origin(base_url, settings)
    except RefusedHost as exc:
        return _finish(spec, Verdict(ERROR, str(exc)), base_url.strip())
    # Checked first: behind the egress proxy a refused connection comes back as the proxy's own 502,
    # and "the preview is down" must not read as "the app failed".
    problem = await probe_origin(origin, CONNECT_TIMEOUT_SECONDS)
    if problem is not None:
        return _finish(spec, Verdict(ERROR, f"the preview at {origin} is unreachable: {problem}"), origin)
    options = options or GateOptions.from_settings(settings)
    budget = settings.verify_budget_seconds if budget_seconds is None else budget_seconds
    deadline = clock() + budget

    async def run(specs: Sequence[Spec], run_options: GateOptions) -> GateResult:
        return await run_gate_async(
            specs,
            base_url=origin,
            settings=settings,
            options=run_options,
            launcher=launcher,
            run_id="verify-" + new_run_id(),
        )

    try:
        first = classify(spec, (await run([spec], options)).results[0])
        if first.result != NOT_REPRODUCED:
            return _finish(spec, first, origin)
        tried: list[str] = []
        screen_options = replace(options, retries=0, concurrency=SCREEN_AT_ONCE)
        pending = variants(spec, event=event, failed_step=first.step_index)
        seen = {variant.spec.model_dump_json() for variant in pending}
        while pending:
            left_ms = int((deadline - clock()) * 1000)
            if left_ms < MIN_SCREEN_MS:
                tried.append(f"{len(pending)} more alternatives were left untried: the time budget ran out")
                break
            batch, pending = pending[:SCREEN_AT_ONCE], pending[SCREEN_AT_ONCE:]
            named = [_renamed(v.spec, number) for number, v in enumerate(batch, start=len(tried) + 1)]
            batch_options = replace(screen_options, spec_timeout_ms=min(options.spec_timeout_ms, left_ms))
            results = (await run(named, batch_options)).results
            for variant, result in zip(batch, results, strict=True):
                screened = classify(variant.spec, result)
                if screened.reproduced:
                    confirmed = classify(variant.spec, (await run([variant.spec], options)).results[0])
                    if confirmed.reproduced:
                        return _finish(
                            variant.spec,
                            confirmed,
                            origin,
                            tried=tried,
                            kept=variant,
                            first=first,
                            draft=spec,
                        )
                    screened = confirmed
                tried.append(f"{variant.change}: {_said(screened)}")
                if _got_further(screened, first):
                    assert screened.step_index is not None
                    chained = [v for v in further(variant, screened.step_index) if _new(v, seen)]
                    pending = chained + pending
        return _finish(spec, first, origin, tried=tried)
    except BrowserUnavailable as exc:
        return _finish(spec, Verdict(ERROR, f"no browser: {exc}"), origin)


_TESTID_ADVICE = re.compile(r"give it a (\S+) and list")


def _renumbered(notes: list[str], spec: Spec) -> list[str]:
    """The draft's notes on its steps, written again for the steps the kept alternative has."""
    advice = next((m for n in notes if (m := _TESTID_ADVICE.search(n))), None)
    attribute = advice.group(1) if advice else "data-testid"
    kept = [note for note in notes if not STEP_NOTE.match(note)]
    return step_notes(list(spec.steps), attribute) + kept


def _got_further(screened: Verdict, first: Verdict) -> bool:
    """Say whether an alternative failed at a later step than the draft did (its change worked)."""
    return (
        screened.result == NOT_REPRODUCED
        and screened.step_index is not None
        and first.step_index is not None
        and screened.step_index > first.step_index
    )


def _new(variant: Variant, seen: set[str]) -> bool:
    key = variant.spec.model_dump_json()
    if key in seen:
        return False
    seen.add(key)
    return True


def _renamed(spec: Spec, number: int) -> Spec:
    """Give an alternative its own id so its evidence does not overwrite its neighbours'."""
    suffix = f"-alt{number}"
    candidate = spec.id[: 100 - len(suffix)] + suffix
    return spec.model_copy(update={"id": candidate if SPEC_ID.match(candidate) else spec.id})


def _said(verdict: Verdict) -> str:
    return f"{verdict.result.replace('_', ' ')} ({verdict.detail})"


def _finish(
    spec: Spec,
    verdict: Verdict,
    base_url: str,
    *,
    tried: Sequence[str] = (),
    kept: Variant | None = None,
    first: Verdict | None = None,
    draft: Spec | None = None,
) -> Outcome:
    """Record the verdict in the spec, with notes saying what was tried."""
    notes = list(spec.notes)
    if draft is not None and spec.steps != draft.steps:
        notes = _renumbered(notes, spec)
    if kept is not None and first is not None:
        notes.append(
            f"Verification kept an alternative: {kept.change}. The first draft did not reproduce "
            f"the error ({first.detail})."
        )
    notes.extend(f"Verification also tried: {line}." for line in tried)
    verification = Verification(
        result=verdict.result,
        base_url=base_url[:2048],
        at=datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z"),
        detail=verdict.detail,
    )
    kept_spec = spec.model_copy(update={"notes": notes, "verification": verification})
    return Outcome(
        spec=kept_spec,
        verdict=verdict,
        base_url=base_url,
        tried=list(tried),
        kept=kept.change if kept else None,
    )
