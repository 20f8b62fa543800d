/**
 * Tests that open a report in headless Chromium through playwright-core. Where Chromium is
 * missing they are ignored, never counted as passed (tests/_tools.ts).
 */
import type { Page } from "playwright-core";
import { needTool } from "../_tools.ts";

const chromiumTool = await needTool("chromium");

/** Opens a fresh page of the test's browser, at `viewport` if given. */
export type NewPage = (viewport?: { width: number; height: number }) => Promise<Page>;

/** A Deno test that gets pages of one headless Chromium, closed after `fn` whatever happens. */
export function browserTest(name: string, fn: (newPage: NewPage) => Promise<void>): void {
  Deno.test({
    name,
    ignore: chromiumTool.ignore,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn() {
      const { chromium } = await import("playwright-core");
      const browser = await chromium.launch({
        executablePath: chromiumTool.path!,
        args: ["--no-sandbox"],
      });
      try {
        await fn((viewport) => browser.newPage(viewport ? { viewport } : {}));
      } finally {
        await browser.close();
      }
    },
  });
}
