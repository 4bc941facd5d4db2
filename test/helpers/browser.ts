/**
 * Opening an HTML report in headless Chromium (Debian's system browser driven by playwright-core) and
 * reading back what rendered: console messages, page errors, network requests and each plot container's
 * SVG marks. Tests skip, with a message, only when no Chromium binary exists.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';
import { packageRoot } from '../../src/package.js';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/snap/bin/chromium'];

/** The Chromium binary: $CHROMIUM_PATH, else the usual system locations; null if none. */
export function findChromium(): string | null {
  const env = process.env.CHROMIUM_PATH;
  if (env && existsSync(env)) return env;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

export const NO_CHROMIUM_MESSAGE =
  'no Chromium binary found (looked at $CHROMIUM_PATH and ' + CANDIDATES.join(', ') + '): install Debian\'s "chromium" package to run this test';

export interface PlotState {
  id: string;
  svgs: number;
  canvases: number;
  /** Drawn data marks (paths, lines, rects) in the plot's Vega data-mark groups (axes and legends excluded). */
  marks: number;
  /** Mark groups by Vega mark type (symbol, rule, line, rect...), with their drawn element counts. */
  markTypes: Record<string, number>;
}

export interface PageReport {
  status: { total: number; rendered: number; failed: string[]; done: boolean };
  plots: PlotState[];
  consoleMessages: { type: string; text: string }[];
  pageErrors: string[];
  /** Every request other than the report file itself (a self-contained report makes none). */
  externalRequests: string[];
  screenshot: string;
}

/** Where screenshots go: test-artifacts/ at the package root (git-ignored). */
export function artifactPath(...parts: string[]): string {
  const p = join(packageRoot(), 'test-artifacts', ...parts);
  mkdirSync(dirname(p), { recursive: true });
  return p;
}

export async function openReport(htmlPath: string, screenshot: string, executablePath: string): Promise<PageReport> {
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const consoleMessages: PageReport['consoleMessages'] = [];
    const pageErrors: string[] = [];
    const externalRequests: string[] = [];
    const self = pathToFileURL(htmlPath).href;
    page.on('console', (m) => consoleMessages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url === self) return route.continue();
      externalRequests.push(url);
      return route.abort();
    });
    await page.goto(self, { waitUntil: 'load' });
    // The page-side code is a string: this project compiles without the DOM library.
    await page.waitForFunction('window.__laborLlmReport !== undefined && window.__laborLlmReport.done === true', null, {
      timeout: 60_000,
    });
    const status = (await page.evaluate('window.__laborLlmReport')) as PageReport['status'];
    const plots = (await page.evaluate(`Array.from(document.querySelectorAll('.plot')).map((el) => {
      const markTypes = {};
      let marks = 0;
      for (const g of el.querySelectorAll('svg g.role-mark[class*="mark-"]')) {
        const m = /mark-(\\w+)/.exec(g.getAttribute('class') || '');
        const type = m ? m[1] : '?';
        const drawn = Array.from(g.children).filter((c) => ['path', 'line', 'rect', 'text', 'g'].includes(c.tagName)).length;
        markTypes[type] = (markTypes[type] || 0) + drawn;
        if (type !== 'group' && type !== 'text') marks += drawn;
      }
      return { id: el.id, svgs: el.querySelectorAll('svg').length, canvases: el.querySelectorAll('canvas').length, marks, markTypes };
    })`)) as PlotState[];
    await page.screenshot({ path: screenshot, fullPage: true });
    return { status, plots, consoleMessages, pageErrors, externalRequests, screenshot };
  } finally {
    await browser.close();
  }
}
