#!/usr/bin/env node
// How long a workflow's page takes to show its DAG and its Gantt chart, in headless Chromium.
//
//   node bench/web/bench_page.mjs --base http://127.0.0.1:PORT/ --user U --password P \
//     --workflow ID [--runs 5] [--json]
//
// Each run opens the page in a fresh tab (signed in already) and reads what the page marks
// once both are drawn: document.body.dataset.ganttDrawnMs (ms since the navigation began)
// and workflowDrawMs (since the page's component mounted), the Gantt canvas's own draw time
// and the number of attempts it drew.

import { parseArgs } from 'node:util';
import { launch, signIn } from '../../tests/browser/lib.mjs';

const { values: opt } = parseArgs({
  options: {
    base: { type: 'string' },
    user: { type: 'string' },
    password: { type: 'string' },
    workflow: { type: 'string' },
    runs: { type: 'string', default: '5' },
    json: { type: 'boolean', default: false },
  },
});
if (!opt.base || !opt.user || !opt.password || !opt.workflow) {
  console.error('usage: bench_page.mjs --base URL --user NAME --password PASSWORD --workflow ID [--runs N] [--json]');
  process.exit(2);
}
const base = opt.base.endsWith('/') ? opt.base : `${opt.base}/`;
const browser = await launch();
const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
const login = await context.newPage();
await signIn(login, base, opt.user, opt.password);
await login.close();

const rows = [];
for (let run = 1; run <= Number(opt.runs); run++) {
  const page = await context.newPage();
  await page.goto(new URL(`#/workflow/${encodeURIComponent(opt.workflow)}`, base).href);
  await page.waitForFunction(() => document.body.dataset.ganttDrawnMs, null, { timeout: 120000 });
  rows.push(
    await page.evaluate(() => {
      const gantt = document.querySelector('[data-testid=gantt]');
      return {
        navigation_ms: Number(document.body.dataset.ganttDrawnMs),
        page_ms: Number(document.body.dataset.workflowDrawMs),
        gantt_draw_ms: Number(gantt?.dataset.drawMs ?? NaN),
        attempts: Number(gantt?.dataset.attempts ?? 0),
        dag_nodes: document.querySelectorAll('[data-testid=dag-node]').length,
      };
    }),
  );
  await page.close();
}
await browser.close();

const median = (k) => {
  const v = rows.map((r) => r[k]).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)];
};
if (opt.json) {
  console.log(JSON.stringify({ workflow: opt.workflow, runs: rows }, null, 2));
} else {
  console.log(`workflow ${opt.workflow}: ${rows[0]?.attempts ?? 0} attempts, ${rows[0]?.dag_nodes ?? 0} DAG nodes`);
  console.log('run  navigation→drawn  page→drawn  gantt draw');
  rows.forEach((r, i) => console.log(`${String(i + 1).padStart(3)}  ${String(r.navigation_ms).padStart(13)} ms  ${String(r.page_ms).padStart(7)} ms  ${r.gantt_draw_ms.toFixed(1).padStart(7)} ms`));
  console.log(`median: ${median('navigation_ms')} ms from navigation to DAG and Gantt drawn (${median('page_ms')} ms from the page's start)`);
}
