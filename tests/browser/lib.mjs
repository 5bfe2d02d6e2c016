// Shared by the browser tests and the page benchmark: playwright-core from web/'s locked
// dependencies, driving Debian's Chromium or Firefox ESR (never a downloaded browser). Firefox
// is driven over WebDriver BiDi (playwright-core's "moz-firefox" channel), which Debian's
// firefox-esr speaks as it is.

import { createRequire } from 'node:module';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const repo = path.resolve(here, '..', '..');
const require = createRequire(path.join(repo, 'web', 'package.json'));

export const chromiumPath = process.env.FVCE_CHROMIUM || '/usr/bin/chromium';
export const firefoxPath = process.env.FVCE_FIREFOX || '/usr/bin/firefox-esr';

export function loadPlaywright() {
  try {
    return require('playwright-core');
  } catch (e) {
    throw new Error(`playwright-core is not installed in ${path.join(repo, 'web', 'node_modules')} ` +
      `(run npm ci there, or build the fvce_web target): ${e.message}`);
  }
}

/** Headless Chromium (the default) or, with which = 'firefox', Firefox ESR. */
export async function launch(which = 'chromium') {
  if (which === 'firefox') {
    if (!fs.existsSync(firefoxPath)) throw new Error(`no Firefox at ${firefoxPath} (Debian: apt-get install firefox-esr)`);
    const { firefox } = loadPlaywright();
    return firefox.launch({ channel: 'moz-firefox', executablePath: firefoxPath, headless: true });
  }
  if (which !== 'chromium') throw new Error(`unknown browser '${which}' (chromium or firefox)`);
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
