import { useT } from '../lib/i18n';
import type { Counts } from '../lib/types';

export function StateBadge({ state, testid }: { state: string; testid?: string }) {
  const t = useT();
  return (
    <span class={`badge state-${state}`} data-testid={testid} data-state={state}>
      {t(`state.${state}`, { defaultValue: state })}
    </span>
  );
}

const order = ['done', 'running', 'failed', 'cancelled', 'ready', 'pending'] as const;

/** A stacked bar of the task states, with "done/total". */
export function Progress({ counts }: { counts: Counts }) {
  const t = useT();
  const total = Math.max(1, counts.tasks);
  return (
    <span class="progress" title={order.map((s) => `${t(`state.${s}`)}: ${counts[s] ?? 0}`).join('\n')}>
      <span class="bar">
        {order.map((s) => {
          const n = counts[s] ?? 0;
          return n > 0 ? <span key={s} class={`seg state-${s}`} style={{ width: `${(100 * n) / total}%` }} /> : null;
        })}
      </span>
      <span class="count">
        {counts.done ?? 0}/{counts.tasks}
      </span>
    </span>
  );
}

export function Pager({
  offset,
  limit,
  total,
  onChange,
  testid = 'pager',
}: {
  offset: number;
  limit: number;
  total: number;
  onChange: (offset: number) => void;
  testid?: string;
}) {
  const t = useT();
  const last = Math.min(total, offset + limit);
  return (
    <div class="pager" data-testid={testid}>
      <button class="ghost" disabled={offset <= 0} onClick={() => onChange(Math.max(0, offset - limit))} data-testid={`${testid}-prev`}>
        ‹ {t('pager.prev')}
      </button>
      <span data-testid={`${testid}-range`}>
        {t('pager.range', { first: total ? offset + 1 : 0, last, total })}
      </span>
      <button class="ghost" disabled={last >= total} onClick={() => onChange(offset + limit)} data-testid={`${testid}-next`}>
        {t('pager.next')} ›
      </button>
    </div>
  );
}

export function ErrorBox({ error }: { error: Error | string | undefined }) {
  if (!error) return null;
  return (
    <div class="alert error" role="alert" data-testid="error">
      {typeof error === 'string' ? error : error.message}
    </div>
  );
}
