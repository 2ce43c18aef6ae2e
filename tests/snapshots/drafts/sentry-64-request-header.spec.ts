// Regression test drafted by triagebot from a Sentry issue. The spec in
// .triagebot/tests/sentry-64.yml is the source of truth; this file is for people and their own CI.
// It runs against Playwright's baseURL: `use: { baseURL: process.env.BASE_URL }` in playwright.config.ts.
import { test, expect, type Page } from "@playwright/test";

/** A value from the environment, named in .triagebot/config.yml; values are never written here. */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} in the environment: .triagebot/config.yml reads it.`);
  return value;
}

/** The preview's own headers (preview.headers in .triagebot/config.yml). */
function previewHeaders(): Record<string, string> {
  return {
    "x-bypass": env("BYPASS"),
  };
}

/** Sign in as .triagebot/config.yml says (preview.login), with values from the environment. */
async function signIn(page: Page): Promise<void> {
  const response = await page.request.fetch("/api/login", {
    method: "POST",
    headers: previewHeaders(),
    data: {
      "email": env("E2E_USER"),
      "password": env("E2E_PASSWORD"),
    },
  });
  expect(response.status(), "signing in must succeed").toBeLessThan(400);
}

test(
  "Sentry issue 64: ZeroDivisionError: division by zero",
  {
    annotation: [
      { type: "sentry issue", description: "64" },
    ],
  },
  async ({ page }) => {
    await signIn(page);
    const response = await page.request.fetch("/divide-zero/?foo=bar\u0026foo=bars\u0026lol=ha", {
      method: "GET",
      headers: {
        ...previewHeaders(),
      },
      maxRedirects: 0,
    });
    expect(response.status(), "the replayed request must not fail with a 5xx").toBeLessThan(500);
    expect(await response.text()).not.toContain("division by zero");
  },
);
