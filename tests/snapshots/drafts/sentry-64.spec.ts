// Regression test drafted by triagebot from a Sentry issue. The spec in
// .triagebot/tests/sentry-64.yml
// is the source of truth; this file is for people and their own CI. The app under test comes from Playwright's baseURL or the BASE_URL environment variable.
import { test, expect } from "@playwright/test";

const SENTRY = {
  issueId: "64",
  shortId: null,
  link: null,
  culprit: "/divide-zero/",
  release: null,
};

test("Sentry issue 64: ZeroDivisionError: division by zero", async ({ request, baseURL }) => {
  const base = baseURL ?? process.env.BASE_URL;
  if (!base) throw new Error("Set Playwright's baseURL or BASE_URL to the app under test.");
  const at = (path: string) => new URL(path, base).href;
  {
    const response = await request.fetch(at("/divide-zero/?foo=bar\u0026foo=bars\u0026lol=ha"), {
      method: "GET",
      headers: {},
      maxRedirects: 0,
    });
    expect(response.status(), "the replayed request must not fail with a 5xx").toBeLessThan(500);
    expect(await response.text()).not.toContain("division by zero");
  }
});
