// The timeline of a workflow's attempts, one band per host, each band split into as many
// lanes as the host ran attempts at once. Drawn on a canvas from the columnar Timeline,
// batched by state (one path and one fill per colour), so 100,000 attempts draw in a few
// tens of milliseconds. Wheel zooms around the pointer, drag pans, double-click resets.

import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { colorOf, stateNames } from '../lib/colors';
import { duration } from '../lib/format';
import { useT } from '../lib/i18n';
import type { Timeline } from '../lib/types';

interface Layout {
  n: number;
  lane: Int32Array; // lane of each attempt within its host
  laneTop: Int32Array; // first lane of each host in the whole chart
  lanes: number; // all lanes
  end: Float64Array; // end of each attempt (running ones: now)
  tmax: number;
  byState: Map<string, Int32Array>;
  hostLanes: Int32Array;
}

function stateName(s: string | number | undefined): string {
  if (typeof s === 'number') return stateNames[s] ?? 'pending';
  return s ?? 'pending';
}

export function layout(tl: Timeline, now: number): Layout {
  const n = Math.min(tl.task.length, tl.host.length, tl.start.length);
  const hosts = tl.hosts.length;
  const end = new Float64Array(n);
  const running = Math.max(0, now - tl.t0_ms);
  let tmax = 0;
  for (let i = 0; i < n; i++) {
    const e = tl.end[i];
    end[i] = e === null || e === undefined ? Math.max(running, tl.start[i]!) : e;
    if (end[i]! > tmax) tmax = end[i]!;
  }
  // Per host, attempts by start time; each goes to the first lane free by then.
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  order.sort((a, b) => tl.host[a]! - tl.host[b]! || tl.start[a]! - tl.start[b]!);
  const lane = new Int32Array(n);
  const hostLanes = new Int32Array(Math.max(1, hosts));
  let laneEnds: number[] = [];
  let curHost = -1;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const h = tl.host[i]!;
    if (h !== curHost) {
      curHost = h;
      laneEnds = [];
    }
    const s = tl.start[i]!;
    let l = 0;
    while (l < laneEnds.length && laneEnds[l]! > s) l++;
    laneEnds[l] = end[i]!;
    lane[i] = l;
    if (h >= 0 && h < hostLanes.length && l + 1 > hostLanes[h]!) hostLanes[h] = l + 1;
  }
  const laneTop = new Int32Array(hostLanes.length);
  let lanes = 0;
  for (let h = 0; h < hostLanes.length; h++) {
    laneTop[h] = lanes;
    lanes += Math.max(1, hostLanes[h]!);
  }
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const s = stateName(tl.state[i]);
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  const byState = new Map<string, Int32Array>();
  const fill = new Map<string, number>();
  for (const [s, c] of counts) {
    byState.set(s, new Int32Array(c));
    fill.set(s, 0);
  }
  for (let i = 0; i < n; i++) {
    const s = stateName(tl.state[i]);
    const at = fill.get(s)!;
    byState.get(s)![at] = i;
    fill.set(s, at + 1);
  }
  return { n, lane, laneTop, lanes, end, tmax: Math.max(1, tmax), byState, hostLanes };
}

const labelW = 110;
const axisH = 22;

export function Gantt({ timeline, onDrawn, onPick }: { timeline: Timeline; onDrawn?: (ms: number) => void; onPick?: (task: string) => void }) {
  const t = useT();
  const canvas = useRef<HTMLCanvasElement>(null);
  const wrap = useRef<HTMLDivElement>(null);
  const lay = useMemo(() => layout(timeline, Date.now()), [timeline]);
  const [view, setView] = useState<[number, number]>([0, lay.tmax]);
  const [width, setWidth] = useState(800);
  const [tip, setTip] = useState<{ x: number; y: number; i: number } | null>(null);
  useEffect(() => setView([0, lay.tmax]), [lay]);

  const laneH = Math.max(2, Math.min(14, Math.floor(420 / Math.max(1, lay.lanes))));
  const bandGap = 4;
  const height = axisH + lay.lanes * laneH + lay.hostLanes.length * bandGap + 4;
  const rowY = (h: number, l: number) => axisH + (lay.laneTop[h]! + l) * laneH + h * bandGap + 2;

  useEffect(() => {
    const el = wrap.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(Math.max(300, el.clientWidth)));
    ro.observe(el);
    setWidth(Math.max(300, el.clientWidth));
    return () => ro.disconnect();
  }, []);

  useLayoutEffect(() => {
    const c = canvas.current;
    if (!c) return;
    const t0 = performance.now();
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(width * dpr);
    c.height = Math.round(height * dpr);
    c.style.width = `${width}px`;
    c.style.height = `${height}px`;
    const ctx = c.getContext('2d');
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, width, height);
    const plotW = width - labelW - 8;
    const [v0, v1] = view;
    const scale = plotW / Math.max(1, v1 - v0);
    // Host bands and names.
    ctx.font = '12px system-ui, sans-serif';
    ctx.textBaseline = 'middle';
    for (let h = 0; h < lay.hostLanes.length; h++) {
      const y = rowY(h, 0) - 2;
      const bh = Math.max(1, lay.hostLanes[h]!) * laneH + 4;
      ctx.fillStyle = h % 2 ? '#f8fafc' : '#f1f5f9';
      ctx.fillRect(labelW, y, plotW, bh);
      ctx.fillStyle = '#334155';
      ctx.fillText(timeline.hosts[h] ?? `#${h}`, 6, y + bh / 2, labelW - 12);
    }
    // Time axis.
    ctx.fillStyle = '#64748b';
    ctx.strokeStyle = '#e2e8f0';
    const span = v1 - v0;
    const step = niceStep(span / Math.max(2, Math.floor(plotW / 90)));
    ctx.beginPath();
    for (let x = Math.ceil(v0 / step) * step; x <= v1; x += step) {
      const px = labelW + (x - v0) * scale;
      ctx.moveTo(px + 0.5, axisH - 4);
      ctx.lineTo(px + 0.5, height);
      // A label that would not fit before the right edge is drawn ending at its tick.
      const label = duration(x);
      const w = ctx.measureText(label).width;
      ctx.fillText(label, px + 3 + w > labelW + plotW ? px - 3 - w : px + 3, axisH / 2);
    }
    ctx.stroke();
    // Attempts, one batch per state.
    ctx.save();
    ctx.beginPath();
    ctx.rect(labelW, axisH, plotW, height - axisH);
    ctx.clip();
    const hBar = Math.max(1, laneH - (laneH > 4 ? 2 : 0));
    for (const [state, idx] of lay.byState) {
      ctx.fillStyle = colorOf(state);
      ctx.beginPath();
      for (let k = 0; k < idx.length; k++) {
        const i = idx[k]!;
        const s = timeline.start[i]!;
        const e = lay.end[i]!;
        if (e < v0 || s > v1) continue;
        const x0 = labelW + (s - v0) * scale;
        const w = Math.max(1, (e - s) * scale);
        ctx.rect(x0, rowY(timeline.host[i]!, lay.lane[i]!), w, hBar);
      }
      ctx.fill();
    }
    ctx.restore();
    const ms = performance.now() - t0;
    c.dataset.drawMs = ms.toFixed(1);
    c.dataset.attempts = String(lay.n);
    onDrawn?.(ms);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [lay, view, width, height]);

  const pick = (ev: MouseEvent): number => {
    const c = canvas.current!;
    const r = c.getBoundingClientRect();
    const x = ev.clientX - r.left;
    const y = ev.clientY - r.top;
    if (x < labelW) return -1;
    const plotW = width - labelW - 8;
    const tm = view[0] + ((x - labelW) * (view[1] - view[0])) / plotW;
    const tol = (3 * (view[1] - view[0])) / plotW;
    for (let h = 0; h < lay.hostLanes.length; h++) {
      const top = rowY(h, 0);
      const lanes = Math.max(1, lay.hostLanes[h]!);
      if (y < top || y >= top + lanes * laneH) continue;
      const l = Math.floor((y - top) / laneH);
      for (let i = 0; i < lay.n; i++) {
        if (timeline.host[i] === h && lay.lane[i] === l && timeline.start[i]! - tol <= tm && lay.end[i]! + tol >= tm) return i;
      }
    }
    return -1;
  };

  const drag = useRef<{ x: number; v: [number, number] } | null>(null);
  return (
    <div class="gantt" ref={wrap}>
      <canvas
        ref={canvas}
        data-testid="gantt"
        onWheel={(e) => {
          e.preventDefault();
          const r = canvas.current!.getBoundingClientRect();
          const plotW = width - labelW - 8;
          const f = Math.min(1, Math.max(0, (e.clientX - r.left - labelW) / plotW));
          const [a, b] = view;
          const at = a + f * (b - a);
          const k = e.deltaY > 0 ? 1.25 : 0.8;
          const span = Math.min(lay.tmax * 1.05, Math.max(10, (b - a) * k));
          setView([Math.max(0, at - f * span), Math.max(0, at - f * span) + span]);
        }}
        onMouseDown={(e) => (drag.current = { x: e.clientX, v: view })}
        onMouseUp={(e) => {
          const d = drag.current;
          drag.current = null;
          if (d && Math.abs(e.clientX - d.x) < 3 && onPick) {
            const i = pick(e);
            if (i >= 0) onPick(timeline.task[i]!);
          }
        }}
        onMouseLeave={() => {
          drag.current = null;
          setTip(null);
        }}
        onMouseMove={(e) => {
          const d = drag.current;
          if (d) {
            const plotW = width - labelW - 8;
            const dt = ((e.clientX - d.x) * (d.v[1] - d.v[0])) / plotW;
            const a = Math.max(0, d.v[0] - dt);
            setView([a, a + (d.v[1] - d.v[0])]);
            return;
          }
          const i = pick(e);
          const r = wrap.current!.getBoundingClientRect();
          setTip(i >= 0 ? { x: e.clientX - r.left, y: e.clientY - r.top, i } : null);
        }}
        onDblClick={() => setView([0, lay.tmax])}
      />
      {tip && (
        <div class="tooltip" style={{ left: `${tip.x + 12}px`, top: `${tip.y + 12}px` }}>
          <strong>{timeline.task[tip.i]}</strong>
          <div>
            {t('gantt.host')}: {timeline.hosts[timeline.host[tip.i]!]}
          </div>
          <div>
            {t(`state.${stateName(timeline.state[tip.i])}`)} · {duration(lay.end[tip.i]! - timeline.start[tip.i]!)}
          </div>
          <div class="muted">
            +{duration(timeline.start[tip.i]!)} → +{duration(lay.end[tip.i]!)}
          </div>
        </div>
      )}
      <div class="legend">
        {[...lay.byState.keys()].map((s) => (
          <span key={s}>
            <i style={{ background: colorOf(s) }} /> {t(`state.${s}`, { defaultValue: s })} ({lay.byState.get(s)!.length})
          </span>
        ))}
        <span class="muted">{t('gantt.hint')}</span>
      </div>
    </div>
  );
}

function niceStep(raw: number): number {
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(1, raw))));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}
