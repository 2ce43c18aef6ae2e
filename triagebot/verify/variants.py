"""The alternatives a verification tries when the first draft does not reproduce, best guess first.

The derivation keeps one choice where it had several: the most stable locator of an element, one
made-up input value, the event's flags, the first page the user saw. Each variant here changes one
of those choices and says so in words, so the notes and the PR body can list what was tried.
Everything still comes from the event's own data; the assertions never change.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

from triagebot.drafts.derive import to_path
from triagebot.drafts.locators import (
    Element,
    choose_locator,
    css_compound,
    css_string,
    link_locators,
    parse_selector,
)
from triagebot.gates.steps import describe_locator
from triagebot.integrations.sentry.event import SentryEvent
from triagebot.spec import Click, ExpectUrl, Fill, Goto, Locator, Press, Spec, Step

MAX_VARIANTS = 24
# Values that commonly take a different path through input handling than the made-up one.
OTHER_VALUES = ("", "0", "test", "1", "qa@example.com", "-1", "9999999999")


@dataclass(frozen=True)
class Variant:
    """A spec that differs from the draft in one choice, and that choice in words."""

    spec: Spec
    change: str


def variants(
    spec: Spec,
    *,
    event: SentryEvent | None = None,
    failed_step: int | None = None,
    limit: int = MAX_VARIANTS,
) -> list[Variant]:
    """List the draft's alternatives, at most `limit`, those that address the failing step first.

    `failed_step` is the index of the step where the draft failed some other way (None: it passed
    or failed after its steps). Steps before it found their elements, so only its own locator is
    worth replacing; when the draft passed, no locator is.
    """
    found: list[Variant] = []
    seen: set[str] = {spec.model_dump_json()}
    for variant in _all(spec, event, failed_step):
        key = variant.spec.model_dump_json()
        if key in seen:
            continue
        seen.add(key)
        found.append(variant)
        if len(found) >= limit:
            break
    return found


def further(variant: Variant, failed_step: int) -> list[Variant]:
    """Alternatives for the step where a variant that got further than the draft failed, each keeping
    the variant's own change: two look-alike links or buttons in one replay need two changes."""
    return [
        Variant(other.spec, f"{variant.change}, and {other.change}")
        for other in _other_locators(variant.spec, failed_step)
    ]


def _all(spec: Spec, event: SentryEvent | None, failed_step: int | None) -> Iterator[Variant]:
    if failed_step is not None and failed_step >= 0:
        yield from _other_locators(spec, failed_step)
    yield from _with_enter(spec)
    yield from _other_values(spec)
    if spec.flags:
        yield Variant(spec.model_copy(update={"flags": []}), "without the event's feature flags")
    if spec.sign_in:
        yield Variant(spec.model_copy(update={"sign_in": False}), "without signing in first")
    started = _from_event_page(spec, event)
    if started is not None:
        yield started
    checks = [step for step in spec.steps if not isinstance(step, ExpectUrl)]
    if spec.kind == "browser" and len(checks) != len(spec.steps):
        yield Variant(spec.model_copy(update={"steps": checks}), "without waiting for the URL changes")


def _other_locators(spec: Spec, index: int) -> Iterator[Variant]:
    if index >= len(spec.steps):
        return
    if isinstance(spec.steps[index], ExpectUrl) and index > 0:
        index -= 1  # the URL never came: the click before it likely found the wrong link
    step = spec.steps[index]
    if not isinstance(step, Click | Fill) or not step.locator.source:
        return
    following = spec.steps[index + 1] if index + 1 < len(spec.steps) else None
    leads_to = following.path if isinstance(step, Click) and isinstance(following, ExpectUrl) else None
    for locator in alternative_locators(step.locator, leads_to=leads_to):
        changed = step.model_copy(update={"locator": locator})
        yield Variant(
            _with_step(spec, index, changed),
            f"step {index + 1} finds its element by {describe_locator(locator)} "
            f"instead of {describe_locator(step.locator)}",
        )


def _with_enter(spec: Spec) -> Iterator[Variant]:
    """Press Enter after typing: the SDK folds the key into the typing's breadcrumb, and a search box
    whose handler throws sends no request that would have told the draft."""
    for index, step in enumerate(spec.steps):
        following = spec.steps[index + 1] if index + 1 < len(spec.steps) else None
        if isinstance(step, Fill) and not isinstance(following, Press):
            enter = Press(locator=step.locator, key="Enter")
            steps = [*spec.steps[: index + 1], enter, *spec.steps[index + 1 :]]
            # Press needs schema 2; the copy is not validated again, so say so here.
            changed = spec.model_copy(update={"steps": steps, "version": 2})
            yield Variant(changed, f"step {index + 1} is followed by pressing Enter")


def _other_values(spec: Spec) -> Iterator[Variant]:
    for index, step in enumerate(spec.steps):
        if not isinstance(step, Fill) or not step.synthetic:
            continue
        for value in OTHER_VALUES:
            if value != step.value:
                changed = step.model_copy(update={"value": value})
                yield Variant(
                    _with_step(spec, index, changed),
                    f"step {index + 1} types {value!r} instead of {step.value!r}",
                )


def _from_event_page(spec: Spec, event: SentryEvent | None) -> Variant | None:
    """Start at the page the error happened on (request.url), keeping only the steps taken there."""
    if spec.kind != "browser" or event is None or not event.url:
        return None
    page = to_path(event.url, None) if event.url.startswith("/") else _own_path(event.url)
    if page is None or page == spec.start:
        return None
    route = urlsplit(page).path.rstrip("/")
    last_arrival = -1
    for index, step in enumerate(spec.steps):
        if isinstance(step, Goto | ExpectUrl) and urlsplit(step.path).path.rstrip("/") == route:
            last_arrival = index
    steps = spec.steps[last_arrival + 1 :]
    return Variant(
        spec.model_copy(update={"start": page, "steps": steps}),
        f"starting at {page} (the event's request.url) instead of {spec.start}",
    )


def _own_path(url: str) -> str | None:
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower() if parts.scheme and parts.netloc else None
    return to_path(url, origin)


def alternative_locators(locator: Locator, *, leads_to: str | None = None) -> list[Locator]:
    """Other ways to find the element a breadcrumb named, strongest first, the draft's own left out.

    `leads_to` is the path the click went to, when the next breadcrumb says: a link among many
    alike (a nav bar, a table's rows) is then the one whose `href` is that path.
    """
    source = locator.source or ""
    elements = parse_selector(source)
    if not elements:
        return []
    target = elements[-1]
    found: list[Locator] = []
    first = choose_locator(elements, selector=source, test_id_attribute=locator.attribute or "data-testid")
    by_href = link_locators(locator, leads_to) if leads_to else []
    for candidate in [*by_href, first, *_by_attribute(target, source), *_by_css(elements, source)]:
        if candidate is None:
            continue
        same = (candidate.strategy, candidate.value, candidate.name) == (
            locator.strategy,
            locator.value,
            locator.name,
        )
        if not same and all(candidate != other for other in found):
            found.append(candidate)
    return found


def _by_attribute(target: Element, source: str) -> list[Locator]:
    found: list[Locator] = []
    role = target.role
    if role and target.attributes.get("aria-label"):
        found.append(
            Locator(strategy="role", value=role, name=target.attributes["aria-label"], source=source)
        )
    if target.attributes.get("aria-label"):
        found.append(Locator(strategy="label", value=target.attributes["aria-label"], source=source))
    if target.attributes.get("placeholder"):
        found.append(Locator(strategy="placeholder", value=target.attributes["placeholder"], source=source))
    if target.attributes.get("name"):
        found.append(Locator(strategy="name", value=target.attributes["name"], source=source))
    if target.id:
        found.append(Locator(strategy="css", value=f"[id={css_string(target.id)}]", source=source))
    return [locator.model_copy(update={"value": locator.value[:1024]}) for locator in found]


def _by_css(elements: list[Element], source: str) -> list[Locator]:
    last = css_compound(elements[-1])
    path = " > ".join(css_compound(element) for element in elements)
    # Every id kept: one numbered like `book-413` or `t-23` may be the very row the user clicked in.
    exact = " > ".join(css_compound(element, any_id=True) for element in elements)
    found = []
    for value in (last, path, exact, " ".join(css_compound(element) for element in elements[-2:])):
        if value and value != "*":
            found.append(Locator(strategy="css", value=value[:1024], weak=True, source=source))
    return found


def _with_step(spec: Spec, index: int, step: Step) -> Spec:
    steps = list(spec.steps)
    steps[index] = step
    return spec.model_copy(update={"steps": steps})
