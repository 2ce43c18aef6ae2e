"""Breadcrumb selector paths -> locators, best strategy first."""

from __future__ import annotations

import pytest

from triagebot.drafts.locators import choose_locator, parse_selector, synthetic_value


def locate(selector: str) -> tuple[str, str, str | None, bool]:
    locator = choose_locator(parse_selector(selector), selector=selector)
    assert locator is not None
    return locator.strategy, locator.value, locator.name, locator.weak


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ('div > button.btn[data-testid="save"][aria-label="Save"]', ("testid", "save", None, False)),
        ('button[data-cy="pay"]', ("testid", "pay", None, False)),
        ('div > button.btn[aria-label="Close dialog"]', ("role", "button", "Close dialog", False)),
        ('img[alt="Company logo"]', ("role", "img", "Company logo", False)),
        ('input[type="checkbox"][title="Remember me"]', ("role", "checkbox", "Remember me", False)),
        ('button[aria-label="Say "hi" > now"]', ("role", "button", 'Say "hi" > now', False)),
        ('div.menu[aria-label="Main menu"]', ("label", "Main menu", None, False)),
        ('div > form#new > input[type="email"][name="email"]', ("name", "email", None, False)),
        # A button's or a radio's name is shared (each row's Reserve, a radio group): never alone.
        (
            'div > form[name="post"] > button.btn.btn-small[name="submit"]',
            ("css", 'div > form[name="post"] > button.btn.btn-small[name="submit"]', None, True),
        ),
        (
            'fieldset > input#digest-weekly[type="radio"][name="digest"]',
            ("css", "input#digest-weekly", None, False),
        ),
        ('div.cart > button#checkout[type="submit"]', ("css", "button#checkout", None, False)),
        ('button[title="Help"]', ("css", 'button[title="Help"]', None, False)),
        # A bare name is a component annotation: a component's root or an element inside one.
        (
            "CheckoutButton",
            (
                "css",
                ':is([data-sentry-component="CheckoutButton"], [data-sentry-element="CheckoutButton"])',
                None,
                False,
            ),
        ),
        # Generated ids and classes are dropped; what is left is a weak path.
        ("div#ember412.css-1x2y3z > span.sc-bdVaJa.label", ("css", "div > span.label", None, True)),
        ("div.css-bsbdc4-TextOverflow.e1kpcezi0", ("css", "div", None, True)),
        ("main > ul > li.active.Item_row__3xYz1 > a#\\:r1\\:", ("css", "main > ul > li > a", None, True)),
        ("body > app-root > ol > li > button", ("css", "body > app-root > ol > li > button", None, True)),
    ],
)
def test_locator_priority(selector: str, expected: tuple[str, str, str | None, bool]) -> None:
    assert locate(selector) == expected


def test_unknown_targets_have_no_locator() -> None:
    assert choose_locator(parse_selector("<unknown>"), selector="<unknown>") is None


@pytest.mark.parametrize(
    ("selector", "value"),
    [
        ('input[type="email"]', "qa@example.com"),
        ('input[name="user_email"]', "qa@example.com"),
        ('input[type="password"][name="pw"]', "Regression-Test-1"),
        ('input[type="number"][name="qty"]', "1"),
        ('input[name="full_name"]', "Test User"),
        ('input[type="date"]', "2024-01-15"),
        ("textarea", "test"),
    ],
)
def test_inputs_get_synthetic_values(selector: str, value: str) -> None:
    assert synthetic_value(parse_selector(selector)[-1]) == value
