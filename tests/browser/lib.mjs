// Shared by the browser tests and the page benchmark: playwright-core from web/'s locked
// dependencies, driving Debian's Chromium (never a downloaded browser).

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(repo, 'web', 'package.json'));

export const chromiumPath = process.env.FVCE_CHROMIUM || '/usr/bin/chromium';

export function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${path.join(repo, 'web', 'node_modules')} ` +
      `(run npm ci there, or build the fvce_web target): ${e.message}`);
  }
}

export async function launch() {
  if (!fs.existsSync(chromiumPath)) throw new Error(`no Chromium at ${chromiumPath} (Debian: apt-get install chromium)`);
  const { chromium } = loadPlaywright();
  return chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

/** Signs in through the login page; resolves once the shell is shown. */
export async function signIn(page, base, user, password) {
  await page.goto(new URL('#/federation', base).href);
  await page.locator('[data-testid=login-user]').fill(user);
  await page.locator('[data-testid=login-password]').fill(password);
  await page.locator('[data-testid=login-submit]').click();
  await page.locator('[data-testid=nav-federation]').waitFor({ timeout: 15000 });
}
