"""How steps and assertions read in reports: one short line each."""

from __future__ import annotations

from triagebot.spec import Check, Click, ExpectUrl, Fill, Goto, Locator, Press, Request, Select, Step


def describe_locator(locator: Locator) -> str:
    """Render a locator as `strategy=value` (plus the accessible name for roles)."""
    text = f"{locator.strategy}={locator.value}"
    return f"{text}[name={locator.name}]" if locator.name else text


def describe_step(step: Step) -> str:
    """Render one step as a short line such as `click testid=apply-coupon`."""
    if isinstance(step, Goto):
        return f"goto {step.path}"
    if isinstance(step, Click):
        return f"click {describe_locator(step.locator)}"
    if isinstance(step, Fill):
        return f"fill {describe_locator(step.locator)}"
    if isinstance(step, Press):
        return f"press {step.key} in {describe_locator(step.locator)}"
    if isinstance(step, Select):
        option = "the first non-empty option" if step.value is None else f"option {step.value!r}"
        return f"select {option} in {describe_locator(step.locator)}"
    if isinstance(step, Check):
        return f"{'check' if step.checked else 'uncheck'} {describe_locator(step.locator)}"
    if isinstance(step, ExpectUrl):
        return f"expect url {step.path}"
    if isinstance(step, Request):
        return f"request {step.method} {step.path}"
    raise TypeError(f"unknown step {step!r}")
