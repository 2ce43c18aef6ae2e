// The configuration a team already has, plus the one line the rendered tests need: `baseURL`.
import { defineConfig } from "@playwright/test";

export default defineConfig({
  testDir: "tests",
  retries: 0,
  workers: 1,
  reporter: "line",
  use: {
    baseURL: process.env.BASE_URL,
    launchOptions: { executablePath: process.env.CHROMIUM_PATH || undefined },
  },
});
