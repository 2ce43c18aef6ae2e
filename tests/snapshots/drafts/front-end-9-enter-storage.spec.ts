// Regression test drafted by triagebot from a Sentry issue. The spec in
// .triagebot/tests/front-end-9.yml is the source of truth; this file is for people and their own CI.
// It runs against Playwright's baseURL: `use: { baseURL: process.env.BASE_URL }` in playwright.config.ts.
import { test, expect, type Page, type Request } from "@playwright/test";

// The uncaught error Sentry saw: same name, and a message containing Sentry's (when it is known).
const SENTRY_ERROR: { type: string | null; message: string | null } = {
  type: "ReferenceError",
  message: "blooopy is not defined",
};

function matchesSentryError(error: Error): boolean {
  if (SENTRY_ERROR.type !== null && error.name !== SENTRY_ERROR.type) return false;
  if (SENTRY_ERROR.message === null) return true;
  const squash = (text: string) => text.split(/\s+/).filter(Boolean).join(" ");
  const expected = squash(SENTRY_ERROR.message);
  const actual = squash(error.message);
  return actual.includes(expected) || (actual.length >= 8 && expected.includes(actual));
}

/** Record what the page does while the test drives it: uncaught errors, 5xx answers, its calls to the app. */
function observe(page: Page, baseURL: string | undefined) {
  if (!baseURL) throw new Error("Set use.baseURL in playwright.config.ts to the app under test.");
  const origin = new URL(baseURL).origin;
  const seen = { pageErrors: [] as Error[], serverErrors: [] as string[], appCalls: [] as Request[] };
  page.on("pageerror", (error) => seen.pageErrors.push(error));
  page.on("request", (request) => {
    const call = ["fetch", "xhr"].includes(request.resourceType());
    if (call && new URL(request.url()).origin === origin) seen.appCalls.push(request);
  });
  page.on("response", (response) => {
    if (response.status() >= 500 && new URL(response.url()).origin === origin) {
      seen.serverErrors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  return seen;
}

/** Wait until the page's calls to the app have been answered and the page has handled the answers. */
async function answered(page: Page, calls: Request[]): Promise<void> {
  for (let index = 0; index < calls.length; index += 1) await calls[index].response();
  // Two animation frames later, the page's own handlers for those answers have run.
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** A value from the environment, named in .triagebot/config.yml; values are never written here. */
function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`Set ${name} in the environment: .triagebot/config.yml reads it.`);
  return value;
}

/** Sign in as .triagebot/config.yml says (preview.login), with values from the environment. */
async function signIn(page: Page): Promise<void> {
  await page.goto("/sign-in");
  await page.locator("css=#email").fill(env("E2E_USER"));
  await page.locator("css=#email").press("Enter");
  await expect(page).not.toHaveURL((url) => url.pathname === "/sign-in");
}

test(
  "FRONT-END-9: ReferenceError: blooopy is not defined",
  {
    annotation: [
      { type: "issue", description: "https://sentry.io/organizations/test-org/issues/1170820242/" },
    ],
  },
  async ({ page, baseURL }) => {
    const seen = observe(page, baseURL);
    await signIn(page);
    await page.goto("/runner");

    // Judge once the page's calls to the app have been answered, on the page the user was on.
    await answered(page, seen.appCalls);
    await expect(page).toHaveURL((url) => url.pathname === "/runner");
    expect(
      seen.pageErrors.filter(matchesSentryError).map(String),
      "the Sentry exception must not be thrown again",
    ).toEqual([]);
    expect(seen.serverErrors, "the app must not answer with a 5xx").toEqual([]);
    await expect(page.locator("body")).not.toContainText("blooopy is not defined");
  },
);
