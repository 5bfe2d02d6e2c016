// A text file of any length, fetched by windows of lines (/api/files/lines) as they scroll
// into view. The scroll area is as tall as the whole file (scaled down past what a browser
// can lay out), and only the visible lines are in the DOM.

import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { int } from '../lib/format';
import { useT } from '../lib/i18n';
import type { Lines } from '../lib/types';

const lineH = 18;
const block = 500; // lines per request
const maxHeight = 8_000_000; // px: below every browser's limit for an element's height
const keepBlocks = 40;

export function TextViewer({ member, path }: { member: string; path: string }) {
  const t = useT();
  const scroller = useRef<HTMLDivElement>(null);
  const cache = useRef(new Map<number, string[]>());
  const pending = useRef(new Set<number>());
  const [total, setTotal] = useState<number | undefined>(undefined);
  const [top, setTop] = useState(0); // first visible line, 0-based
  const [viewH, setViewH] = useState(480);
  const [tick, setTick] = useState(0);
  const [error, setError] = useState<string | undefined>(undefined);
  const [goto, setGoto] = useState('');
  const [mark, setMark] = useState<number | undefined>(undefined);
  const [requests, setRequests] = useState(0);

  const fetchBlock = (b: number) => {
    if (cache.current.has(b) || pending.current.has(b)) return;
    pending.current.add(b);
    setRequests((r) => r + 1);
    api
      .get<Lines>('/api/files/lines', { member, path, first: b * block + 1, count: block })
      .then((r) => {
        cache.current.set(b, r.lines);
        if (cache.current.size > keepBlocks) {
          const far = [...cache.current.keys()].sort((x, y) => Math.abs(y - b) - Math.abs(x - b))[0]!;
          cache.current.delete(far);
        }
        setTotal(r.total);
        setTick((x) => x + 1);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => pending.current.delete(b));
  };

  useEffect(() => {
    cache.current.clear();
    pending.current.clear();
    setTotal(undefined);
    setTop(0);
    setMark(undefined);
    setError(undefined);
    if (scroller.current) scroller.current.scrollTop = 0;
    fetchBlock(0);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [member, path]);

  const n = total ?? 0;
  const fullH = n * lineH;
  const virtH = Math.min(fullH, maxHeight);
  const visible = Math.ceil(viewH / lineH) + 1;
  // scrollTop ↔ first line, linear over the scrollable range.
  const lineAt = (scrollTop: number) => {
    const range = virtH - viewH;
    if (range <= 0) return 0;
    return Math.min(Math.max(0, n - visible + 1), Math.round((scrollTop / range) * Math.max(0, n - visible + 1)));
  };
  const scrollFor = (line: number) => {
    const range = virtH - viewH;
    const last = Math.max(1, n - visible + 1);
    return range <= 0 ? 0 : (Math.min(line, last) / last) * range;
  };

  useLayoutEffect(() => {
    const el = scroller.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setViewH(el.clientHeight));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const first = top;
  const last = Math.min(n, first + visible);
  useEffect(() => {
    if (total === undefined) return;
    for (let b = Math.floor(first / block); b <= Math.floor(Math.max(first, last - 1) / block); b++) fetchBlock(b);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [first, last, total]);

  const jump = (e: Event) => {
    e.preventDefault();
    const line = Math.floor(Number(goto));
    if (!Number.isFinite(line) || line < 1 || line > n) {
      setError(t('viewer.badLine', { total: int(n) }));
      return;
    }
    setError(undefined);
    setMark(line);
    const target = Math.max(0, line - 1 - Math.floor(visible / 3));
    if (scroller.current) scroller.current.scrollTop = scrollFor(target);
    setTop(Math.min(target, Math.max(0, n - visible + 1)));
  };

  const rows = [];
  for (let i = first; i < last; i++) {
    const lines = cache.current.get(Math.floor(i / block));
    const text = lines ? lines[i % block] : undefined;
    rows.push(
      <div key={i} class={`line ${mark === i + 1 ? 'marked' : ''}`} data-testid="file-line" data-line={i + 1}>
        <span class="ln">{i + 1}</span>
        <span class="lt">{text ?? (lines ? '' : '…')}</span>
      </div>,
    );
  }
  void tick;

  return (
    <div class="text-viewer" data-testid="text-viewer" data-total={n} data-requests={requests}>
      <div class="viewer-bar">
        <span class="muted">{total === undefined ? t('app.loading') : t('viewer.lines', { total: int(n) })}</span>
        <form onSubmit={jump} class="goto">
          <input
            type="text"
            inputMode="numeric"
            placeholder={t('viewer.gotoPlaceholder')}
            value={goto}
            onInput={(e) => setGoto((e.target as HTMLInputElement).value)}
            data-testid="goto-line"
          />
          <button type="submit" data-testid="goto-line-submit">
            {t('viewer.goto')}
          </button>
        </form>
      </div>
      {error && <p class="error">{error}</p>}
      <div class="scroller" ref={scroller} onScroll={(e) => setTop(lineAt((e.target as HTMLDivElement).scrollTop))} data-testid="file-scroller">
        <div style={{ height: `${virtH}px`, position: 'relative' }}>
          <div class="lines" style={{ transform: `translateY(${scroller.current?.scrollTop ?? 0}px)` }}>
            {rows}
          </div>
        </div>
      </div>
    </div>
  );
}
