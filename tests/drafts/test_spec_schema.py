"""The spec schema: version 2's sign-in and press/select/check steps, and version 1 specs still loading."""

from __future__ import annotations

import pytest
import yaml

from triagebot.errors import SpecError
from triagebot.spec import (
    Check,
    Fill,
    Locator,
    Press,
    Select,
    Spec,
    dump_spec,
    parse_spec,
    required_version,
)

V1 = {
    "version": 1,
    "id": "shop-1",
    "issue": {"id": "1"},
    "start": "/",
    "steps": [
        {"action": "click", "locator": {"strategy": "testid", "value": "go"}},
        {"action": "fill", "locator": {"strategy": "name", "value": "q"}, "value": "test"},
    ],
}


def test_version_1_specs_still_load_and_dump_as_version_1() -> None:
    spec = parse_spec(V1)
    assert spec.version == 1 and not spec.sign_in
    dumped = yaml.safe_load(dump_spec(spec))
    assert dumped["version"] == 1
    assert "sign_in" not in dumped  # a version 1 file stays readable by version 1 readers
    assert parse_spec(dumped) == spec


def test_version_2_steps_round_trip() -> None:
    data = {
        **V1,
        "version": 2,
        "sign_in": True,
        "steps": [
            {
                "action": "fill",
                "locator": {"strategy": "name", "value": "q"},
                "value": "mug",
                "synthetic": False,
                "source": "GET /api/search",
            },
            {"action": "press", "locator": {"strategy": "name", "value": "q"}, "key": "Enter"},
            {"action": "select", "locator": {"strategy": "name", "value": "country"}, "value": "NO"},
            {"action": "select", "locator": {"strategy": "name", "value": "size"}},
            {"action": "check", "locator": {"strategy": "name", "value": "gift"}},
        ],
    }
    spec = parse_spec(data)
    assert [type(step) for step in spec.steps] == [Fill, Press, Select, Select, Check]
    assert spec.steps[3] == Select(locator=Locator(strategy="name", value="size"), value=None)
    assert parse_spec(yaml.safe_load(dump_spec(spec))) == spec


def test_version_1_cannot_use_version_2_fields() -> None:
    with pytest.raises(SpecError, match="need version: 2"):
        parse_spec({**V1, "sign_in": True})
    press = {"action": "press", "locator": {"strategy": "name", "value": "q"}}
    with pytest.raises(SpecError, match="need version: 2"):
        parse_spec({**V1, "steps": [press]})


@pytest.mark.parametrize("version", [0, 3, "2", True, None])
def test_unknown_versions_are_refused_naming_the_field(version: object) -> None:
    with pytest.raises(SpecError, match=r"version: unsupported schema version .*expected 1 or 2"):
        parse_spec({**V1, "version": version})


def test_a_spec_built_in_code_takes_the_lowest_version_that_holds_it() -> None:
    plain = Spec(id="a", issue={"id": "1"}, start="/")  # type: ignore[arg-type]
    signed = Spec(id="a", issue={"id": "1"}, start="/", sign_in=True)  # type: ignore[arg-type]
    pressing = Spec(
        id="a",
        issue={"id": "1"},  # type: ignore[arg-type]
        start="/",
        steps=[Press(locator=Locator(strategy="name", value="q"))],
    )
    assert (plain.version, signed.version, pressing.version) == (1, 2, 2)
    assert [required_version(s) for s in (plain, signed, pressing)] == [1, 2, 2]


def test_press_keys_are_a_closed_set() -> None:
    press = {"action": "press", "locator": {"strategy": "name", "value": "q"}, "key": "Control+W"}
    with pytest.raises(SpecError, match=r"steps\.0\.press\.key"):
        parse_spec({**V1, "version": 2, "steps": [press]})
