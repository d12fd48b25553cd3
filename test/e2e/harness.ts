// Drives the real UI: the built renderer served by the real browser host over a temporary catalogue, in Debian's
// Chromium through playwright-core. On failure a screenshot goes to test-output/.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { createServices } from '../../electron/services/index';
import type { Services } from '../../electron/services/index';
import { startWebHost } from '../../electron/host/web';
import type { WebHost } from '../../electron/host/web';
import { projectRoot, rendererRoot } from '../../electron/build-paths';
import { tempDir, tempPaths } from '../support/temp';

export const CHROMIUM = process.env.PAWPRINT_CHROMIUM ?? '/usr/bin/chromium';
export const outputDir = join(projectRoot(), 'test-output');

export interface AppUnderTest {
  page: Page;
  services: Services;
  web: WebHost;
  dir: string;
  /** Saves a screenshot to test-output/<name>.png and returns its path. */
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function launchApp(): Promise<AppUnderTest> {
  const dir = tempDir('pawprint-e2e-');
  const services = createServices({ paths: tempPaths(dir.path), host: { kind: 'web' } });
  const web = await startWebHost({ services, staticRoot: rendererRoot() });
  let browser: Browser | undefined;
  try {
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(error.message));
    await page.goto(web.launchUrl);
    const opened = browser;
    return {
      page,
      services,
      web,
      dir: dir.path,
      async screenshot(name) {
        mkdirSync(outputDir, { recursive: true });
        const path = join(outputDir, `${name}.png`);
        await page.screenshot({ path, fullPage: false });
        return path;
      },
      async close() {
        await opened.close();
        await web.close();
        await services.close();
        dir.cleanup();
        if (problems.length > 0) throw new Error(`Uncaught errors in the page: ${problems.join(' | ')}`);
      },
    };
  } catch (error) {
    await browser?.close();
    await web.close();
    await services.close();
    dir.cleanup();
    throw error;
  }
}

/** Runs a test body and writes a screenshot named after the test when it fails. */
export async function withScreenshotOnFailure(app: AppUnderTest, name: string, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const path = await app.screenshot(`FAILED-${name.replace(/[^a-z0-9-]+/gi, '-')}`).catch(() => 'screenshot failed');
    (error as Error).message += `\n(screenshot: ${path})`;
    throw error;
  }
}
