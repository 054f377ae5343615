/**
 * The base test for every e2e spec: fails on any page error or unhandled rejection (reliability item 16)
 * and on any Content-Security-Policy violation (item 19) — seen in the page by a listener, and from
 * workers through the reports the preview server collects (vite.config.ts) — and keeps console errors
 * for the failure report.
 */
import { test as base, expect, type Page } from '@playwright/test';

export interface PageProblems {
  readonly errors: string[];
  readonly console: string[];
}

const CSP_REPORTS = 'http://127.0.0.1:4173/__csp-reports';
const cspReports = async (): Promise<unknown[]> => (await (await fetch(CSP_REPORTS)).json()) as unknown[];

export const test = base.extend<{ problems: PageProblems }>({
  problems: [
    async ({ page }, use) => {
      const problems: PageProblems = { errors: [], console: [] };
      page.on('pageerror', (e) => problems.errors.push(`pageerror: ${e.message}`));
      page.on('console', (m) => {
        if (m.type() === 'error') problems.console.push(m.text());
      });
      const reportsBefore = (await cspReports()).length;
      await page.addInitScript(() => {
        document.addEventListener('securitypolicyviolation', (ev) => {
          const w = window as unknown as { __csp?: string[] };
          w.__csp ??= [];
          w.__csp.push(
            `${ev.violatedDirective} blocked ${ev.blockedURI} (${ev.sourceFile}:${ev.lineNumber})`,
          );
        });
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
      const csp = await page
        .evaluate(() => (window as unknown as { __csp?: string[] }).__csp ?? [])
        .catch(() => [] as string[]);
      const reported = (await cspReports()).slice(reportsBefore).map((r) => JSON.stringify(r));
      expect(
        [
          ...problems.errors,
          ...unhandled.map((u) => `unhandledrejection: ${u}`),
          ...csp.map((c) => `CSP violation: ${c}`),
          ...reported.map((r) => `CSP report: ${r}`),
        ],
        'page errors and CSP violations during the test',
      ).toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };
export type { Page };
