#!/usr/bin/env node
// The browser tests of the web user port: a real federation (started by test_browser.py),
// Debian's Chromium driven by playwright-core, what a user does and sees.
//
//   node tests/browser/run.mjs --base http://127.0.0.1:PORT/ --user alice --password P \
//     [--other-user bob --other-password Q] [--text MEMBER:PATH:LINES] [--segy MEMBER:PATH:TRACES] \
//     [--terminal MEMBER] [--app hello] [--out DIR] [--only NAME,NAME] [--browser chromium|firefox]
//
// Each scenario prints "ok - NAME" or "not ok - NAME: why"; the last line is
// "N passed, N failed, N skipped"; the exit code is 1 when one failed. A screenshot of every
// page goes to --out.

import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { launch, signIn } from './lib.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    'other-user': { type: 'string' },
    'other-password': { type: 'string' },
    'other-workflow': { type: 'string' },
    text: { type: 'string' },
    segy: { type: 'string' },
    terminal: { type: 'string' },
    app: { type: 'string', default: 'hello' },
    members: { type: 'string', default: '3' },
    out: { type: 'string', default: 'browser-artifacts' },
    only: { type: 'string' },
    browser: { type: 'string', default: 'chromium' },
    probe: { type: 'boolean', default: false },
  },
});
// --probe: can this browser be driven here at all? Exit 0, or print why and exit 77.
if (opt.probe) {
  try {
    const b = await launch(opt.browser);
    await (await b.newContext()).newPage();
    await b.close();
    process.exit(0);
  } catch (e) {
    console.log(String(e && e.message ? e.message : e).split('\n')[0]);
    process.exit(77);
  }
}
if (!opt.base || !opt.user || !opt.password) {
  console.error('usage: run.mjs --base URL --user NAME --password PASSWORD [options]');
  process.exit(2);
}
const base = opt.base.endsWith('/') ? opt.base : `${opt.base}/`;
const at = (hash) => new URL(hash, base).href;
fs.mkdirSync(opt.out, { recursive: true });
const only = opt.only ? new Set(opt.only.split(',')) : null;

function expect(cond, what) {
  if (!cond) throw new Error(what);
}

const browser = await launch(opt.browser);
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, locale: 'en-US' });
const page = await context.newPage();
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(e.message));
page.setDefaultTimeout(15000);

async function shot(name, full = false) {
  await page.screenshot({ path: path.join(opt.out, `${name}.png`), fullPage: full });
}

const shared = {}; // what one scenario leaves for the next (the workflow submitted)
const results = [];
async function scenario(name, fn, needs) {
  if (only && !only.has(name)) return;
  if (needs !== undefined && !needs) {
    results.push({ name, status: 'skipped' });
    console.log(`skip - ${name}: not configured`);
    return;
  }
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, status: 'passed' });
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    results.push({ name, status: 'failed' });
    console.log(`not ok - ${name}: ${(e && e.message ? e.message : String(e)).split('\n').slice(0, 6).join('\n    ')}`);
    await shot(`failed-${name}`).catch(() => {});
  }
}

// --- the scenarios -------------------------------------------------------------------------

await scenario('login', async () => {
  await page.goto(at('#/federation'));
  await page.locator('[data-testid=login-form]').waitFor();
  await shot('login');
  await page.locator('[data-testid=login-user]').fill(opt.user);
  await page.locator('[data-testid=login-password]').fill(`${opt.password}-wrong`);
  await page.locator('[data-testid=login-submit]').click();
  await page.locator('[data-testid=login-error]').waitFor();
  await page.locator('[data-testid=login-password]').fill(opt.password);
  await page.locator('[data-testid=login-submit]').click();
  await page.locator('[data-testid=nav-federation]').waitFor();
  const fed = (await page.locator('[data-testid=header-federation]').textContent())?.trim();
  expect(fed, 'the header names no federation');
  // A reload keeps the session (and finds the CSRF token again through /api/me).
  await page.reload();
  await page.locator('[data-testid=nav-federation]').waitFor();
});

await scenario('federation', async () => {
  const want = Number(opt.members);
  await page.goto(at('#/federation'));
  await page.waitForFunction((n) => document.querySelectorAll('[data-testid=member-row]').length === n, want, { timeout: 15000 });
  const states = await page.locator('[data-testid=member-state]').allTextContents();
  expect(states.every((s) => s.trim() === 'alive'), `member states: ${states.join(', ')}`);
  const charts = page.locator('[data-testid=load-chart]');
  expect((await charts.count()) === want, `${await charts.count()} load charts, want ${want}`);
  // Each chart is a uPlot canvas with points from /api/history or the "members" events.
  await page.waitForFunction(
    (n) => [...document.querySelectorAll('[data-testid=load-chart]')].filter((c) => c.querySelector('canvas') && Number(c.dataset.points) > 0).length === n,
    want,
    { timeout: 20000 },
  );
  await page.locator('[data-testid=totals]').waitFor();
  await page.locator('[data-testid=live].on').waitFor({ timeout: 10000 });
  await shot('federation', true);
});

await scenario('bad-form-value', async () => {
  await page.goto(at(`#/submit?app=${encodeURIComponent(opt.app)}`));
  await page.locator(`[data-testid=app-form][data-app="${opt.app}"]`).waitFor();
  // The first number (else required) field of the form gets a value it cannot take.
  const target = await page.evaluate(() => {
    const fields = [...document.querySelectorAll('[data-testid^="field-"]:not([data-testid^="field-error"])')];
    const num = fields.find((f) => f instanceof HTMLInputElement && (f.inputMode === 'numeric' || f.inputMode === 'decimal'));
    const text = fields.find((f) => f instanceof HTMLInputElement && f.type === 'text');
    const f = num ?? text;
    return f ? { name: f.getAttribute('name'), numeric: f === num } : null;
  });
  expect(target, 'the form has no number or text field');
  let posted = 0;
  const count = (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname.startsWith('/api/apps/submit')) posted++;
  };
  page.on('request', count);
  const field = page.locator(`[data-testid="field-${target.name}"]`);
  await field.fill(target.numeric ? 'twelve' : '');
  await page.locator('[data-testid=form-submit]').click();
  const error = page.locator(`[data-testid="field-error-${target.name}"]`);
  await error.waitFor();
  expect((await error.textContent()).trim().length > 0, 'the error beside the field is empty');
  // Beside the field: inside the same field row.
  const beside = await page.evaluate((n) => {
    const row = document.querySelector(`[data-field="${n}"]`);
    return !!row?.querySelector(`[data-testid="field-error-${n}"]`) && !!row.querySelector(`[data-testid="field-${n}"]`);
  }, target.name);
  expect(beside, 'the error is not beside its field');
  await page.waitForTimeout(300);
  page.off('request', count);
  expect(posted === 0, `${posted} submission(s) were sent for a bad value`);
  expect(page.url().includes('#/submit'), `left the form: ${page.url()}`);
  await shot('submit-error');
});

await scenario('submit-hello', async () => {
  await page.goto(at(`#/submit?app=${encodeURIComponent(opt.app)}`));
  await page.locator(`[data-testid=app-form][data-app="${opt.app}"]`).waitFor();
  // The form still holds the bad value of the scenario before: start again from the defaults.
  await page.locator('[data-testid=form-reset]').click();
  await shot('submit');
  await page.locator('[data-testid=form-submit]').click();
  await page.waitForURL(/#\/workflow\//, { timeout: 15000 });
  shared.workflow = decodeURIComponent(page.url().split('#/workflow/')[1].split('?')[0]);
  await page.locator('[data-testid=workflow-state]').waitFor();
  // Watch it complete: the page follows the "workflow" events.
  await page.waitForFunction(() => {
    const s = document.querySelector('[data-testid=workflow-state]')?.dataset.state;
    return s && s !== 'running';
  }, null, { timeout: 120000 });
  const state = await page.locator('[data-testid=workflow-state]').getAttribute('data-state');
  expect(state === 'done', `workflow ${shared.workflow} ended ${state}`);
});

await scenario('workflow-dag-timeline', async () => {
  expect(shared.workflow, 'no workflow was submitted');
  await page.goto(at(`#/workflow/${encodeURIComponent(shared.workflow)}`));
  await page.waitForFunction(() => document.body.dataset.ganttDrawnMs, null, { timeout: 20000 });
  const nodes = await page.locator('[data-testid=dag-node]').count();
  expect(nodes > 0, 'the DAG has no node');
  // The graph shows the end the page was told of.
  const allDone = () => [...document.querySelectorAll('[data-testid=dag-node]')].every((e) => e.getAttribute('data-state') === 'done');
  await page.waitForFunction(allDone, null, { timeout: 5000 }).catch(() => {});
  const states = await page.locator('[data-testid=dag-node]').evaluateAll((els) => els.map((e) => e.getAttribute('data-state')));
  expect(states.every((s) => s === 'done'), `DAG node states: ${states.join(',')}`);
  const attempts = Number(await page.locator('[data-testid=gantt]').getAttribute('data-attempts'));
  expect(attempts > 0, 'the timeline draws no attempt');
  // An array expands into a page of its tasks.
  const array = page.locator('[data-testid=dag-node][data-kind=array]').first();
  if (await array.count()) {
    const label = await array.textContent();
    expect(/\[\d+\.\.\d+\]\s*\d+\/\d+/.test(label), `array label "${label}"`);
    await array.click();
    await page.locator('[data-testid=array-panel] [data-testid=task-row]').first().waitFor();
  }
  await page.locator('[data-testid=task-row]').first().waitFor();
  await shot('workflow', true);
});

await scenario('task-stdout', async () => {
  expect(shared.workflow, 'no workflow was submitted');
  await page.goto(at(`#/workflow/${encodeURIComponent(shared.workflow)}`));
  const row = page.locator('[data-testid=tasks] [data-testid=task-row]').first();
  const task = await row.getAttribute('data-task');
  await row.click();
  const panel = page.locator(`[data-testid=task-log-panel][data-task="${task}"]`);
  await panel.waitFor();
  await page.locator('[data-testid=task-log][data-stream=stdout][data-loaded=true]').waitFor();
  await page.locator('[data-testid=log-stderr]').click();
  await page.locator('[data-testid=task-log][data-stream=stderr][data-loaded=true]').waitFor();
  await page.locator('[data-testid=log-stdout]').click();
  await page.locator('[data-testid=task-log][data-stream=stdout][data-loaded=true]').waitFor();
  await panel.scrollIntoViewIfNeeded();
  await shot('task-log');
});

await scenario('workflows-list', async () => {
  await page.goto(at('#/workflows'));
  await page.locator('[data-testid=workflow-row]').first().waitFor();
  if (shared.workflow) {
    await page.locator('[data-testid=filter-q]').fill(shared.workflow);
    await page.locator('[data-testid=filter-apply]').click();
    await page.locator(`[data-testid=workflow-row][data-id="${shared.workflow}"]`).waitFor();
    expect((await page.locator('[data-testid=workflow-row]').count()) === 1, 'the search matched more than the one workflow');
    await page.locator('[data-testid=filter-state-failed]').check();
    await page.locator('[data-testid=workflows-empty]').waitFor();
    await page.goto(at('#/workflows'));
    await page.locator('[data-testid=workflow-row]').first().waitFor();
  }
  await shot('workflows');
});

const text = opt.text?.split(':');
await scenario('file-100k-lines', async () => {
  const [member, file, lines] = text;
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  await page.goto(at(`#/files?member=${encodeURIComponent(member)}&path=${encodeURIComponent(dir)}`));
  const name = file.split('/').pop();
  await page.locator(`[data-testid=file-entry][data-name="${name}"]`).click();
  const viewer = page.locator('[data-testid=text-viewer]');
  await page.waitForFunction((n) => document.querySelector('[data-testid=text-viewer]')?.dataset.total === n, lines);
  await page.locator('[data-testid=file-line][data-line="1"]').waitFor();
  // Page through it by scrolling: the lines in view arrive, nothing else is fetched.
  for (const f of [0.25, 0.5, 0.75]) {
    await page.locator('[data-testid=file-scroller]').evaluate((el, x) => (el.scrollTop = x * (el.scrollHeight - el.clientHeight)), f);
    // The rows in view follow the scroll (at the next frame).
    const inView = await page
      .waitForFunction(
        ([lo, hi]) => {
          const n = Number(document.querySelector('[data-testid=file-line]')?.getAttribute('data-line'));
          return n > lo && n < hi ? n : 0;
        },
        [Number(lines) * f * 0.9, Number(lines) * f * 1.1],
        { timeout: 5000 },
      )
      .then((h) => h.jsonValue())
      .catch(() => page.locator('[data-testid=file-line]').first().getAttribute('data-line'));
    const first = Number(inView);
    expect(first > Number(lines) * f * 0.9 && first < Number(lines) * f * 1.1, `at ${f * 100}% the first line is ${first}`);
    await page.waitForFunction(() => {
      const l = document.querySelector('[data-testid=file-line] .lt');
      return l && l.textContent !== '…';
    });
  }
  const target = Math.floor(Number(lines) * 0.87654);
  await page.locator('[data-testid=goto-line]').fill(String(target));
  await page.locator('[data-testid=goto-line-submit]').click();
  const line = page.locator(`[data-testid=file-line][data-line="${target}"]`);
  await line.waitFor();
  await page.waitForFunction((n) => document.querySelector(`[data-testid=file-line][data-line="${n}"] .lt`)?.textContent === `line ${n}`, target, { timeout: 10000 });
  expect(await line.evaluate((el) => el.classList.contains('marked')), 'the line gone to is not marked');
  const requests = Number(await viewer.getAttribute('data-requests'));
  expect(requests <= 12, `${requests} requests for lines: the viewer fetches more than the windows in view`);
  await shot('file-viewer');
}, text?.length === 3);

const segy = opt.segy?.split(':');
await scenario('segy-image', async () => {
  const [member, file, traces] = segy;
  const dir = file.includes('/') ? file.slice(0, file.lastIndexOf('/')) : '';
  await page.goto(at(`#/files?member=${encodeURIComponent(member)}&path=${encodeURIComponent(dir)}&file=${encodeURIComponent(file)}`));
  await page.locator('[data-testid=segy-image][data-state=loaded]').waitFor({ timeout: 20000 });
  const size = await page.locator('[data-testid=segy-image]').evaluate((img) => [img.naturalWidth, img.naturalHeight]);
  expect(size[0] > 0 && size[1] > 0, `the image is ${size.join('x')}`);
  const shown = (await page.locator('[data-testid=segy-traces]').textContent()).trim();
  expect(shown === traces, `the header says ${shown} traces, want ${traces}`);
  await page.locator('[data-testid=segy-palette]').selectOption('redblue');
  await page.locator('[data-testid=segy-image][data-state=loaded]').waitFor({ timeout: 20000 });
  expect((await page.locator('[data-testid=segy-image]').getAttribute('src')).includes('palette=redblue'), 'the palette is not asked for');
  await shot('segy');
}, segy?.length === 3);

await scenario('terminal', async () => {
  await page.goto(at(`#/terminal`));
  await page.locator('[data-testid=terminal-member]').selectOption(opt.terminal);
  await page.locator('[data-testid=terminal-connect]').click();
  await page.locator('[data-testid=terminal-status][data-status=open]').waitFor({ timeout: 15000 });
  await page.locator('[data-testid=terminal] .xterm-helper-textarea').focus();
  await page.waitForTimeout(500); // the shell's prompt
  await page.keyboard.type('echo hi$((6*7))');
  await page.keyboard.press('Enter');
  // The answer is a line of its own, not the echoed command line.
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid=terminal] .xterm-rows > div')].some((r) => r.textContent.trim() === 'hi42'), null, { timeout: 15000 });
  await shot('terminal');
}, !!opt.terminal);

await scenario('other-user-isolation', async () => {
  const ctx = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const p = await ctx.newPage();
  try {
    await signIn(p, base, opt['other-user'], opt['other-password']);
    await p.goto(at('#/workflows'));
    await p.waitForFunction(() => document.querySelector('[data-testid=workflow-row], [data-testid=workflows-empty]'));
    const ids = await p.locator('[data-testid=workflow-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    if (shared.workflow) expect(!ids.includes(shared.workflow), `${opt['other-user']} sees ${shared.workflow}`);
    if (opt['other-workflow']) expect(ids.includes(opt['other-workflow']), `${opt['other-user']} does not see their own ${opt['other-workflow']}`);
    // Nor by its address.
    if (shared.workflow) {
      await p.goto(at(`#/workflow/${encodeURIComponent(shared.workflow)}`));
      await p.locator('[data-testid=error]').first().waitFor();
      expect((await p.locator('[data-testid=dag-node]').count()) === 0, 'the other user sees its graph');
    }
    await p.screenshot({ path: path.join(opt.out, 'other-user.png') });
  } finally {
    await ctx.close();
  }
  // And the first user does not see the other's.
  if (opt['other-workflow']) {
    await page.goto(at('#/workflows'));
    await page.locator('[data-testid=workflow-row]').first().waitFor();
    const mine = await page.locator('[data-testid=workflow-row]').evaluateAll((els) => els.map((e) => e.getAttribute('data-id')));
    expect(!mine.includes(opt['other-workflow']), `${opt.user} sees ${opt['other-workflow']}`);
  }
}, !!opt['other-user'] && !!opt['other-password']);

await scenario('chinese', async () => {
  await page.goto(at('#/federation'));
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=lang-select]').selectOption('zh-CN');
  await page.waitForFunction(() => document.querySelector('[data-testid=nav-federation]')?.textContent === '联邦');
  expect((await page.locator('[data-testid=nav-workflows]').textContent()) === '工作流', 'the nav is not in Chinese');
  await page.reload();
  await page.locator('[data-testid=nav-federation]').waitFor();
  expect((await page.locator('[data-testid=nav-federation]').textContent()) === '联邦', 'the language is not remembered');
  expect(await page.evaluate(() => document.documentElement.lang) === 'zh-CN', 'html lang is not zh-CN');
  await page.waitForTimeout(1000);
  await shot('federation-zh', true);
  if (shared.workflow) {
    await page.goto(at(`#/workflow/${encodeURIComponent(shared.workflow)}`));
    await page.waitForFunction(() => document.body.dataset.ganttDrawnMs, null, { timeout: 20000 });
    await shot('workflow-zh', true);
  }
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=lang-select]').selectOption('en');
});

await scenario('logout', async () => {
  await page.goto(at('#/federation'));
  await page.locator('[data-testid=user-menu]').click();
  await page.locator('[data-testid=logout]').click();
  await page.locator('[data-testid=login-form]').waitFor();
  await page.reload();
  await page.locator('[data-testid=login-form]').waitFor();
});

await scenario('no-page-errors', async () => {
  expect(pageErrors.length === 0, `uncaught errors in the page: ${pageErrors.join(' | ')}`);
});

await browser.close();
const n = (s) => results.filter((r) => r.status === s).length;
console.log(`${n('passed')} passed, ${n('failed')} failed, ${n('skipped')} skipped`);
process.exit(n('failed') ? 1 : 0);
