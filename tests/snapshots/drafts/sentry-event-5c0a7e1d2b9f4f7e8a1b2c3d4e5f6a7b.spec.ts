// Regression test drafted by triagebot from a Sentry issue. The spec in
// .triagebot/tests/sentry-event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b.yml is the source of truth; this file is for people and their own CI.
// It runs against Playwright's baseURL: `use: { baseURL: process.env.BASE_URL }` in playwright.config.ts.
import { test, expect, type Page } from "@playwright/test";

// The uncaught error Sentry saw: same name, and a message containing Sentry's (when it is known).
const SENTRY_ERROR: { type: string | null; message: string | null } = {
  type: "TypeError",
  message: "Cannot read properties of null (reading 'textContent')",
};

function matchesSentryError(error: Error): boolean {
  if (SENTRY_ERROR.type !== null && error.name !== SENTRY_ERROR.type) return false;
  if (SENTRY_ERROR.message === null) return true;
  const squash = (text: string) => text.split(/\s+/).filter(Boolean).join(" ");
  const expected = squash(SENTRY_ERROR.message);
  const actual = squash(error.message);
  return actual.includes(expected) || (actual.length >= 8 && expected.includes(actual));
}

/** Record what the page does while the test drives it: uncaught errors and 5xx answers from the app. */
function observe(page: Page, baseURL: string | undefined) {
  if (!baseURL) throw new Error("Set use.baseURL in playwright.config.ts to the app under test.");
  const origin = new URL(baseURL).origin;
  const seen = { pageErrors: [] as Error[], serverErrors: [] as string[] };
  page.on("pageerror", (error) => seen.pageErrors.push(error));
  page.on("response", (response) => {
    if (response.status() >= 500 && new URL(response.url()).origin === origin) {
      seen.serverErrors.push(`${response.status()} ${response.request().method()} ${response.url()}`);
    }
  });
  return seen;
}

declare global {
  interface Window {
    pendingPageWork?: number;
  }
}

/**
 * Runs in the page before its own scripts: counts the work it has outstanding (fetches and their body
 * reads, XHRs, timers of up to ten seconds) so the test judges only after that work's callbacks ran.
 * An answer arriving is not the end: the handler that throws runs after it.
 */
function trackPageWork(): void {
  const realSetTimeout = window.setTimeout.bind(window);
  const realClearTimeout = window.clearTimeout.bind(window);
  let pending = 0;
  let inTimer = false;
  const begin = () => {
    pending += 1;
    window.pendingPageWork = pending;
  };
  // Ended in a task of its own, so the callbacks chained on the work have run first.
  const end = () => {
    realSetTimeout(() => {
      pending -= 1;
      window.pendingPageWork = pending;
    }, 0);
  };
  // A new promise carries the outcome on, so a rejection nobody handles is still reported.
  const tracked = <T>(work: Promise<T>): Promise<T> => {
    begin();
    return work.then(
      (value) => {
        end();
        return value;
      },
      (error: unknown) => {
        end();
        throw error;
      },
    );
  };
  window.pendingPageWork = 0;
  const realFetch = window.fetch.bind(window);
  window.fetch = (input: RequestInfo | URL, init?: RequestInit) => tracked(realFetch(input, init));
  for (const name of ["json", "text", "arrayBuffer", "blob", "formData"] as const) {
    const read = Response.prototype[name] as (this: Response) => Promise<unknown>;
    Response.prototype[name] = function (this: Response) {
      return tracked(read.call(this));
    } as never;
  }
  const realSend = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (this: XMLHttpRequest, body?: Document | XMLHttpRequestBodyInit | null) {
    begin();
    this.addEventListener("loadend", end, { once: true });
    realSend.call(this, body);
  };
  const timers = new Set<number>();
  window.setTimeout = ((handler: TimerHandler, timeout?: number, ...rest: unknown[]) => {
    // A timer set from a timer is a polling loop, not the step's work; long timers are not awaited.
    if (inTimer || typeof handler !== "function" || (timeout ?? 0) > 10_000) {
      return realSetTimeout(handler, timeout, ...rest);
    }
    begin();
    const id = realSetTimeout(() => {
      timers.delete(id);
      inTimer = true;
      try {
        handler(...rest);
      } finally {
        inTimer = false;
        end();
      }
    }, timeout);
    timers.add(id);
    return id;
  }) as typeof window.setTimeout;
  window.clearTimeout = ((id?: number) => {
    if (id !== undefined && timers.delete(id)) end();
    realClearTimeout(id);
  }) as typeof window.clearTimeout;
}

/** Wait until the page's calls, their handlers and its short timers are done. */
async function pageWorkDone(page: Page, message: string): Promise<void> {
  await expect
    .poll(() => page.evaluate(() => window.pendingPageWork ?? 0), { message, timeout: 20_000 })
    .toBe(0);
}

test(
  "Sentry issue event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b: TypeError: Cannot read properties of null (reading 'textContent')",
  {
    annotation: [
      { type: "sentry issue", description: "event-5c0a7e1d2b9f4f7e8a1b2c3d4e5f6a7b" },
      { type: "sentry release", description: "shop@1.4.2" },
    ],
  },
  async ({ page, baseURL }) => {
    const seen = observe(page, baseURL);
    await page.addInitScript(trackPageWork);
    await page.goto("/");
    await pageWorkDone(page, "the page finishes loading before it is used");
    await page.getByTestId("open-cart").click();
    await expect(page).toHaveURL("/cart");
    await pageWorkDone(page, "the page finishes loading before it is used");
    await page.getByRole("textbox", { name: "Coupon code" }).fill("test");
    await page.getByRole("button", { name: "Apply coupon" }).click();

    // Judge once the page's work for the last step (its calls, their handlers, its timers) is done,
    // on the page the user was on.
    await pageWorkDone(page, "the page finishes the work the last step started");
    await expect(page).toHaveURL((url) => url.pathname === "/cart");
    expect(
      seen.pageErrors.filter(matchesSentryError).map(String),
      "the Sentry exception must not be thrown again",
    ).toEqual([]);
    expect(seen.serverErrors, "the app must not answer with a 5xx").toEqual([]);
    await expect(page.locator("body")).not.toContainText("Cannot read properties of null (reading 'textContent')");
  },
);
