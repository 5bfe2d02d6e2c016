import { useState } from 'preact/hooks';
import { api, url } from '../lib/api';
import { num } from '../lib/format';
import { useT } from '../lib/i18n';
import { useLoad } from '../lib/hooks';
import type { SegyHeader } from '../lib/types';

/** A SEG-Y file as an image (rendered by the node) with its header's summary. */
export function SegyViewer({ member, path }: { member: string; path: string }) {
  const t = useT();
  const [palette, setPalette] = useState<'grey' | 'redblue'>('grey');
  const [clip, setClip] = useState(99);
  const [clipInput, setClipInput] = useState('99');
  const [imgState, setImgState] = useState<'loading' | 'loaded' | 'error'>('loading');
  const header = useLoad((s) => api.get<SegyHeader>('/api/files/segy/header', { member, path }, s), [member, path]);
  const src = url('/api/files/segy', { member, path, palette, clip });
  const h = header.data;
  return (
    <div class="segy" data-testid="segy-viewer">
      <div class="viewer-bar">
        <label>
          {t('segy.palette')}{' '}
          <select
            value={palette}
            onChange={(e) => {
              setImgState('loading');
              setPalette((e.target as HTMLSelectElement).value as 'grey');
            }}
            data-testid="segy-palette"
          >
            <option value="grey">{t('segy.grey')}</option>
            <option value="redblue">{t('segy.redblue')}</option>
          </select>
        </label>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const v = Number(clipInput);
            if (Number.isFinite(v) && v > 0 && v <= 100) {
              setImgState('loading');
              setClip(v);
            }
          }}
        >
          <label>
            {t('segy.clip')}{' '}
            <input type="number" min="50" max="100" step="0.1" value={clipInput} onInput={(e) => setClipInput((e.target as HTMLInputElement).value)} data-testid="segy-clip" />
          </label>{' '}
          <button type="submit">{t('segy.apply')}</button>
        </form>
      </div>
      <div class="segy-body">
        <div class="segy-image">
          {imgState === 'loading' && <p class="muted">{t('segy.rendering')}</p>}
          {imgState === 'error' && <p class="error">{t('segy.failed')}</p>}
          <img
            key={src}
            src={src}
            alt={path}
            data-testid="segy-image"
            data-state={imgState}
            onLoad={() => setImgState('loaded')}
            onError={() => setImgState('error')}
          />
        </div>
        <aside class="segy-header" data-testid="segy-header">
          {header.error && <p class="error">{header.error.message}</p>}
          {h && (
            <dl>
              <dt>{t('segy.traces')}</dt>
              <dd data-testid="segy-traces">{h.traces}</dd>
              <dt>{t('segy.samples')}</dt>
              <dd>{h.samples}</dd>
              <dt>{t('segy.interval')}</dt>
              <dd>{h.interval_us} µs</dd>
              <dt>{t('segy.format')}</dt>
              <dd>{h.format}</dd>
              <dt>{t('segy.min')}</dt>
              <dd>{num(h.min, 4)}</dd>
              <dt>{t('segy.max')}</dt>
              <dd>{num(h.max, 4)}</dd>
              <dt>{t('segy.rms')}</dt>
              <dd>{num(h.rms, 4)}</dd>
              {Object.entries(h.headers ?? {}).map(([k, v]) => [
                <dt key={`k-${k}`}>{k.replace(/_/g, ' ')}</dt>,
                <dd key={`v-${k}`}>{headerValue(v)}</dd>,
              ])}
            </dl>
          )}
        </aside>
      </div>
    </div>
  );
}

/** A trace-header field over the traces read: its range ({min, max}), or a single value. */
function headerValue(v: unknown): string {
  if (v && typeof v === 'object' && 'min' in v && 'max' in v) {
    const { min, max } = v as { min: number | null; max: number | null };
    if (min === null || max === null) return '—';
    const f = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(2));
    return min === max ? f(min) : `${f(min)} … ${f(max)}`;
  }
  if (v === null || v === undefined) return '—';
  return String(v);
}
