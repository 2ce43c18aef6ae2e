// Regression test drafted by triagebot from a Sentry issue. The spec in
// .triagebot/tests/sentry-64.yml is the source of truth; this file is for people and their own CI.
// It runs against Playwright's baseURL: `use: { baseURL: process.env.BASE_URL }` in playwright.config.ts.
import { test, expect } from "@playwright/test";

test(
  "Sentry issue 64: ZeroDivisionError: division by zero",
  {
    annotation: [
      { type: "sentry issue", description: "64" },
    ],
  },
  async ({ request }) => {
    const response = await request.fetch("/divide-zero/?foo=bar\u0026foo=bars\u0026lol=ha", {
      method: "GET",
      maxRedirects: 0,
    });
    expect(response.status(), "the replayed request must not fail with a 5xx").toBeLessThan(500);
    expect(await response.text()).not.toContain("division by zero");
  },
);
