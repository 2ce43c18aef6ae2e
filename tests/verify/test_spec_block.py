"""The optional `verification:` block of a spec: old specs load without it, bad ones name the field."""

from __future__ import annotations

import pytest
import yaml

from triagebot.errors import SpecError
from triagebot.spec import dump_spec, parse_spec

BASE = """
version: 1
id: shop-7
issue: {id: "4501"}
start: /cart
"""


def test_a_spec_without_verification_still_loads() -> None:
    assert parse_spec(yaml.safe_load(BASE)).verification is None


def test_the_block_round_trips_and_an_unquoted_timestamp_is_read_as_text() -> None:
    text = BASE + (
        "verification:\n  result: reproduced\n  base_url: https://main.preview.example.com\n"
        '  at: 2026-12-06T10:00:00Z\n  detail: "step 3 (click testid=apply-coupon): TypeError: x"\n'
    )
    spec = parse_spec(yaml.safe_load(text))
    assert spec.verification is not None
    assert spec.verification.at == "2026-12-06T10:00:00Z"
    assert parse_spec(yaml.safe_load(dump_spec(spec))) == spec


def test_an_unknown_result_names_the_field() -> None:
    text = BASE + "verification: {result: maybe, base_url: 'http://x', at: '2026-12-06T10:00:00Z'}\n"
    with pytest.raises(SpecError) as caught:
        parse_spec(yaml.safe_load(text), file="t.yml")
    assert "verification.result" in str(caught.value)
