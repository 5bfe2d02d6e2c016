// A host's load over time (uPlot): load1 and slots in use on the left axis, CPU use in % on
// the right. Starts from /api/history and grows with every "members" event.

import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import { api } from '../lib/api';
import { subscribe } from '../lib/events';
import { useT } from '../lib/i18n';
import type { History } from '../lib/types';

const windowMs = 15 * 60 * 1000;
const maxPoints = 2000;

export function LoadChart({ member }: { member: string }) {
  const t = useT();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const data: [number[], number[], number[], number[]] = [[], [], [], []];
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: 150,
      legend: { show: true, live: false },
      cursor: { drag: { x: false, y: false } },
      // Always the last 15 minutes (one sample alone would otherwise span years), from 0 up.
      scales: {
        x: { time: true, range: () => [(Date.now() - windowMs) / 1000, Date.now() / 1000] },
        y: { range: (_u, _min, max) => [0, Math.max(1, Math.ceil(max * 1.2))] },
        pct: { range: [0, 100] },
      },
      axes: [
        { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 30 },
        { stroke: '#6b7280', grid: { stroke: '#eef0f3' }, size: 44 },
        { scale: 'pct', side: 1, stroke: '#6b7280', grid: { show: false }, size: 50, values: (_u, v) => v.map((x) => `${x}%`) },
      ],
      series: [
        {},
        { label: t('chart.load1'), stroke: '#2563eb', width: 1.5, fill: 'rgba(37,99,235,0.08)' },
        { label: t('chart.slots'), stroke: '#16a34a', width: 1.5 },
        { label: t('chart.cpu'), stroke: '#f59e0b', width: 1.5, scale: 'pct' },
      ],
    };
    const plot = new uPlot(opts, data, el);
    const push = (ts: number, load: number, slots: number, cpu: number) => {
      data[0].push(ts / 1000);
      data[1].push(load);
      data[2].push(slots);
      data[3].push(cpu * 100);
      const cut = data[0].length - maxPoints;
      const old = ts / 1000 - windowMs / 1000;
      let drop = Math.max(0, cut);
      while (drop < data[0].length && data[0][drop]! < old) drop++;
      if (drop > 0) data.forEach((s) => s.splice(0, drop));
      plot.setData(data);
    };
    const ctl = new AbortController();
    api
      .get<History>('/api/history', { member, since_ms: Date.now() - windowMs }, ctl.signal)
      .then((h) => {
        const n = h.t.length;
        const before: [number[], number[], number[], number[]] = [[], [], [], []];
        for (let i = 0; i < n; i++) {
          const ts = h.t[i]!;
          if (data[0].length && ts / 1000 >= data[0][0]!) break;
          before[0].push(ts / 1000);
          before[1].push(h.load1[i] ?? 0);
          before[2].push(h.slots_used[i] ?? 0);
          before[3].push((h.cpu[i] ?? 0) * 100);
        }
        data.forEach((s, k) => s.unshift(...before[k]!));
        plot.setData(data);
        el.dataset.points = String(data[0].length);
      })
      .catch(() => {
        /* the chart fills from events */
      });
    const unsub = subscribe('members', (members) => {
      const m = members.find((x) => x.name === member);
      if (!m) return;
      push(Date.now(), m.load1 ?? 0, m.slots_used ?? 0, m.cpu ?? 0);
      el.dataset.points = String(data[0].length);
    });
    const ro = new ResizeObserver(() => plot.setSize({ width: Math.max(200, el.clientWidth), height: 150 }));
    ro.observe(el);
    return () => {
      ctl.abort();
      unsub();
      ro.disconnect();
      plot.destroy();
    };
    // The labels are read once; a change of language builds the chart again (key on the parent).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [member]);
  return <div class="chart" ref={box} data-testid="load-chart" data-member={member} />;
}
