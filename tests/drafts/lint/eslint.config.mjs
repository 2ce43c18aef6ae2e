// What a Playwright reviewer runs: typescript-eslint's recommended rules and eslint-plugin-playwright's
// flat/recommended, over every TypeScript file here; `--max-warnings 0` makes warnings count too.
import playwright from "eslint-plugin-playwright";
import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**"] },
  { files: ["**/*.ts"], extends: [tseslint.configs.recommended] },
  { files: ["**/*.spec.ts"], ...playwright.configs["flat/recommended"] },
);
