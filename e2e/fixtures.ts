/**
 * The base test for every e2e spec: fails on any page error or unhandled rejection (reliability item 16),
 * and keeps console errors for the failure report.
 */
import { test as base, expect, type Page } from '@playwright/test';

export interface PageProblems {
  readonly errors: string[];
  readonly console: string[];
}

export const test = base.extend<{ problems: PageProblems }>({
  problems: [
    async ({ page }, use) => {
      const problems: PageProblems = { errors: [], console: [] };
      page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.console.push(m.text());
      });
      await page.addInitScript(() => {
        window.addEventListener('unhandledrejection', (ev) => {
          const r: unknown = ev.reason;
          const w = window as unknown as { __unhandled?: string[] };
          w.__unhandled ??= [];
          w.__unhandled.push(r instanceof Error ? r.message : String(r));
        });
      });
      await use(problems);
      const unhandled = await page
        .evaluate(() => (window as unknown as { __unhandled?: string[] }).__unhandled ?? [])
        .catch(() => [] as string[]);
      expect(
        [...problems.errors, ...unhandled.map((u) => `unhandledrejection: ${u}`)],
        'page errors during the test',
      ).toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
export type { Page };
