import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Browser } from 'playwright-core';

/**
 * Headless Chromium from Debian (`apt-get install chromium`; `.ci/run` installs it), driven by
 * playwright-core. Never a downloaded browser. Without it the browser suites are skipped LOUDLY
 * on a developer's machine; with CI set, a missing browser fails the run.
 */

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const ARTIFACTS = resolve(__dirname, '../../test-results');

export function describeBrowser(name: string, fn: () => void): void {
  if (existsSync(CHROMIUM)) return describe(name, fn);
  const msg = `${name}: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM_PATH)`;
  if (process.env.CI) throw new Error(`${msg}: browser tests cannot be skipped in CI`);
  process.stderr.write(`\n  !!! SKIPPED: ${msg} !!!\n`);
  describe.skip(name, fn);
}

export async function launch(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-quic',
    ],
  });
}

/** Where a screenshot is kept as a test artifact. */
export function artifact(file: string): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return join(ARTIFACTS, file);
}
