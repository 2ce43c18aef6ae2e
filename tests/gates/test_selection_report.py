"""Selection by changed files, and the reports a gate run produces (text, markdown, JUnit)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

from tests.gates.helpers import make_spec
from triagebot.gates.models import Attempt, Evidence, Failure, GateResult, SpecResult
from triagebot.gates.report import junit_xml, markdown_summary, summary_text
from triagebot.gates.selection import path_glob_matches, route_matches, route_of_file, select_specs


def test_selection_by_paths_routes_spec_files_and_always_run() -> None:
    specs = [
        make_spec("cart", covers={"paths": ["src/cart/**"], "routes": ["/cart"]}),
        make_spec("orders", covers={"routes": ["/orders/42"]}),
        make_spec("smoke", always_run=True),
        make_spec("other", covers={"paths": ["lib/*.py"]}),
    ]

    chosen, selection = select_specs(
        specs, ["src/cart/coupon/apply.ts", "pages/orders/[id].tsx", ".triagebot/tests/other.yml"]
    )

    assert [spec.id for spec in chosen] == ["cart", "orders", "smoke", "other"]
    reasons = {s.spec_id: s.reasons for s in selection.selected}
    assert reasons["cart"] == ["covers src/cart/** (src/cart/coupon/apply.ts)"]
    assert reasons["orders"] == ["covers route /orders/42 (pages/orders/[id].tsx)"]
    assert reasons["smoke"] == ["always runs"]
    assert reasons["other"] == ["its spec file changed"]

    chosen, selection = select_specs(specs, ["README.md"])
    assert [spec.id for spec in chosen] == ["smoke"] and selection.skipped == ["cart", "orders", "other"]
    assert selection.reason == "1 of 4 specs match 1 changed file or always run"

    chosen, selection = select_specs(specs, None)
    assert len(chosen) == 4 and selection.reason == "all 4 specs (changed files unknown)"

    chosen, selection = select_specs(specs[:1], None)
    assert len(chosen) == 1 and selection.reason == "all 1 spec (changed files unknown)"


def test_globs_and_routes() -> None:
    assert path_glob_matches("src/**/*.ts", "src/a/b/c.ts") and path_glob_matches("src/**/*.ts", "src/c.ts")
    assert not path_glob_matches("src/*.ts", "src/a/c.ts") and path_glob_matches("docs/", "docs/x/y.md")
    assert route_of_file("app/(shop)/cart/page.tsx") == "/cart"
    assert route_of_file("src/routes/cart/+page.svelte") == "/cart"
    assert route_of_file("app/routes/orders.$id.tsx") == "/orders/$id"
    assert route_of_file("pages/index.tsx") == "/" and route_of_file("lib/util.ts") is None
    assert route_matches("/orders/42", "/orders/[id]") and not route_matches("/orders", "/orders/[id]")
    assert route_matches("/docs/a/b", "/docs/[...slug]")


def _gate() -> GateResult:
    evidence = Evidence(
        page_errors=["TypeError: x | <b>y</b>\x00"],
        screenshot="data/evidence/r1/cart/attempt-2-screenshot.png",
        trace="data/evidence/r1/cart/attempt-2-trace.zip",
    )
    failure = Failure(
        step_index=1, step="click testid=apply", message="page error TypeError: x | <b>", evidence=evidence
    )
    fail = [Attempt(number=1, passed=False, duration_ms=900, failure=failure)] * 2
    results = [
        SpecResult(
            spec_id="cart", issue_id="11", short_id="SHOP-1", status="failed", attempts=fail, duration_ms=1800
        ),
        SpecResult(
            spec_id="flaky",
            issue_id="12",
            status="flaky",
            attempts=[fail[0], Attempt(number=2, passed=True, duration_ms=500)],
            duration_ms=1400,
        ),
        SpecResult(
            spec_id="q", issue_id="13", status="failed", quarantined=True, attempts=fail, duration_ms=1800
        ),
        SpecResult(
            spec_id="ok", issue_id="14", short_id="SHOP-4", status="passed", attempts=[], duration_ms=300
        ),
    ]
    return GateResult(
        run_id="r1",
        base_url="http://127.0.0.1:1",
        started_at=datetime(2026, 1, 1, tzinfo=UTC),
        duration_ms=2500,
        results=results,
    )


def test_junit_names_carry_spec_and_issue_and_only_gating_failures_fail() -> None:
    suite = ET.fromstring(junit_xml(_gate()).encode())

    assert suite.get("tests") == "4" and suite.get("failures") == "1" and suite.get("errors") == "0"
    cases = {case.get("name"): case for case in suite.findall("testcase")}
    assert list(cases) == ["cart (SHOP-1)", "flaky (issue 12)", "q (issue 13)", "ok (SHOP-4)"]
    failure = cases["cart (SHOP-1)"].find("failure")
    assert failure is not None and failure.get("type") == "click testid=apply"
    assert "page error: TypeError: x | <b>y</b>\ufffd" in (failure.text or "")
    for name in ("flaky (issue 12)", "q (issue 13)"):
        case = cases[name]
        assert case.find("failure") is None and "not gating" in (case.findtext("system-out") or "")
    props = {p.get("name"): p.get("value") for p in cases["cart (SHOP-1)"].iter("property")}
    assert props["spec_id"] == "cart" and props["short_id"] == "SHOP-1" and props["attempts"] == "2"


def test_text_and_markdown_summaries() -> None:
    gate = _gate()
    text = summary_text(gate)
    assert text.startswith("Gate FAILED: 4 specs: 1 passed, 2 failed, 1 flaky, 0 error in 2.5s")
    assert "       step 2 (click testid=apply): page error TypeError: x | <b>" in text  # numbered from 1
    assert "Flaky (passed on retry, not gating): flaky" in text
    assert "Quarantined (reported, not gating): q" in text

    markdown = markdown_summary(gate, link=lambda path: "https://t.example/" + path)
    row = next(line for line in markdown.splitlines() if "`cart`" in line)
    assert "x \\| &lt;b&gt;" in row  # a pipe or tag from the page cannot break the table
    assert "[trace](https://t.example/data/evidence/r1/cart/attempt-2-trace.zip)" in row
    assert "Quarantined (reported, not gating): `q`" in markdown
