"""Spec builders for gate tests (hand-written specs, validated by the real schema)."""

from __future__ import annotations

from typing import Any

from triagebot.spec import Spec, parse_spec

COUPON_ERROR = "Cannot read properties of undefined (reading 'discount')"


def make_spec(spec_id: str, **fields: Any) -> Spec:
    """Build a valid spec with an issue reference derived from the id."""
    data: dict[str, Any] = {
        "version": 1,
        "id": spec_id,
        "issue": {"id": f"{abs(hash(spec_id)) % 100000}", "short_id": f"SHOP-{spec_id.upper()}"},
    }
    data.update(fields)
    if data.get("kind", "browser") == "browser":
        data.setdefault("start", "/")
    return parse_spec(data, file=f"{spec_id}.yml")


def coupon_spec(spec_id: str = "coupon") -> Spec:
    """The regression test for the coupon TypeError: open the cart, click Apply coupon."""
    return make_spec(
        spec_id,
        start="/",
        covers={"routes": ["/cart"], "paths": ["triagebot/demo/sampleapp/app.js"]},
        steps=[
            {"action": "click", "locator": {"strategy": "testid", "value": "cart-link"}},
            {"action": "expect_url", "path": "/cart"},
            {
                "action": "fill",
                "locator": {"strategy": "placeholder", "value": "e.g. SAVE10"},
                "value": "bogus",
            },
            {"action": "click", "locator": {"strategy": "role", "value": "button", "name": "Apply coupon"}},
        ],
        assertions={"page_error": {"type": "TypeError", "message": COUPON_ERROR}},
    )


def order_ui_spec(spec_id: str = "order-ui") -> Spec:
    """Place an order from the cart page: the buggy server answers 500."""
    return make_spec(
        spec_id,
        start="/cart",
        steps=[{"action": "click", "locator": {"strategy": "testid", "value": "place-order"}}],
        assertions={"text_absent": ["Order failed"]},
    )


def order_api_spec(spec_id: str = "order-api") -> Spec:
    """Replay the order request directly."""
    return make_spec(
        spec_id,
        kind="http",
        steps=[
            {
                "action": "request",
                "method": "POST",
                "path": "/api/orders",
                "headers": {"Content-Type": "application/json"},
                "body": '{"items": ["mug"]}',
            }
        ],
    )


def seeded_order_spec(spec_id: str = "seeded-order") -> Spec:
    """Needs a record: data setup seeds order ord-77, the page must show it."""
    return make_spec(
        spec_id,
        setup={"fixture": "order", "data": {"id": "ord-77", "total": 42}},
        start="/orders/ord-77",
        steps=[{"action": "click", "locator": {"strategy": "text", "value": "Total: $42"}}],
        assertions={"text_absent": ["Order not found"]},
    )


def flaky_spec(spec_id: str = "flaky") -> Spec:
    """Hits an endpoint that fails only the first time it sees its key."""
    return make_spec(
        spec_id,
        kind="http",
        steps=[{"action": "request", "path": f"/api/flaky?key={spec_id}"}],
    )
