import { useEffect, useState } from 'preact/hooks';
import { api } from '../lib/api';
import { subscribe } from '../lib/events';
import { duration, time } from '../lib/format';
import { useT } from '../lib/i18n';
import { useLoad, useMembers, useThrottled } from '../lib/hooks';
import { href, navigate, type Route } from '../lib/router';
import type { Workflow, WorkflowList } from '../lib/types';
import { ErrorBox, Pager, Progress, StateBadge } from '../components/State';

const states = ['running', 'done', 'failed', 'cancelled'] as const;
const limit = 50;
const keys = ['state', 'name', 'app', 'node', 'from', 'to', 'q', 'offset'] as const;
type Key = (typeof keys)[number];

function toLocalInput(ms: string | null): string {
  if (!ms) return '';
  const d = new Date(Number(ms));
  if (Number.isNaN(d.getTime())) return '';
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}`;
}

export function WorkflowsPage({ route }: { route: Route }) {
  const t = useT();
  const q = route.query;
  const get = (k: Key) => q.get(k) ?? '';
  const offset = Number(get('offset')) || 0;
  const { members } = useMembers();
  const [search, setSearch] = useState(get('q'));
  const [name, setName] = useState(get('name'));
  const [appName, setAppName] = useState(get('app'));

  const update = (changes: Partial<Record<Key, string>>) => {
    const next: Record<string, string> = {};
    for (const k of keys) next[k] = changes[k] ?? get(k);
    if (!('offset' in changes)) next.offset = '';
    navigate(href('workflows', [], next), true);
  };

  const list = useLoad(
    (signal) =>
      api.get<WorkflowList>(
        '/api/workflows',
        {
          state: get('state'),
          name: get('name'),
          app: get('app'),
          node: get('node'),
          from_ms: get('from'),
          to_ms: get('to'),
          q: get('q'),
          offset,
          limit,
        },
        signal,
      ),
    [q.toString()],
  );
  const [rows, setRows] = useState<Workflow[]>([]);
  useEffect(() => setRows(list.data?.workflows ?? []), [list.data]);
  const refresh = useThrottled(list.reload, 1500);
  useEffect(
    () =>
      subscribe('workflow', (w) => {
        let known = false;
        setRows((old) =>
          old.map((r) => {
            if (r.id !== w.id) return r;
            known = true;
            return { ...r, ...w };
          }),
        );
        // A workflow not on this page may now belong on it (a new one, or a state filter).
        if (!known || get('state')) refresh();
      }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [q.toString()],
  );

  const chosen = new Set(get('state').split(',').filter(Boolean));
  const toggleState = (s: string) => {
    if (chosen.has(s)) chosen.delete(s);
    else chosen.add(s);
    update({ state: [...chosen].join(',') });
  };

  return (
    <div class="page">
      <div class="page-head">
        <h2>{t('workflows.title')}</h2>
        <a class="button primary" href={href('submit')}>
          {t('workflows.new')}
        </a>
      </div>
      <div class="card filters" data-testid="workflow-filters">
        <form
          class="filter-row"
          onSubmit={(e) => {
            e.preventDefault();
            update({ q: search, name, app: appName });
          }}
        >
          <input
            type="search"
            placeholder={t('workflows.search')}
            value={search}
            onInput={(e) => setSearch((e.target as HTMLInputElement).value)}
            data-testid="filter-q"
          />
          <input placeholder={t('workflows.name')} value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} data-testid="filter-name" />
          <input placeholder={t('workflows.app')} value={appName} onInput={(e) => setAppName((e.target as HTMLInputElement).value)} data-testid="filter-app" />
          <select value={get('node')} onChange={(e) => update({ node: (e.target as HTMLSelectElement).value })} data-testid="filter-node">
            <option value="">{t('workflows.anyNode')}</option>
            {members.map((m) => (
              <option key={m.name} value={m.name}>
                {m.name}
              </option>
            ))}
          </select>
          <button type="submit" data-testid="filter-apply">
            {t('workflows.apply')}
          </button>
        </form>
        <div class="filter-row">
          <span class="muted">{t('workflows.state')}</span>
          {states.map((s) => (
            <label key={s} class="chip">
              <input type="checkbox" checked={chosen.has(s)} onChange={() => toggleState(s)} data-testid={`filter-state-${s}`} />
              {t(`state.${s}`)}
            </label>
          ))}
          <span class="muted">{t('workflows.submittedBetween')}</span>
          <input
            type="datetime-local"
            value={toLocalInput(get('from'))}
            onChange={(e) => {
              const v = (e.target as HTMLInputElement).value;
              update({ from: v ? String(new Date(v).getTime()) : '' });
            }}
            data-testid="filter-from"
          />
          <span class="muted">–</span>
          <input
            type="datetime-local"
            value={toLocalInput(get('to'))}
            onChange={(e) => {
              const v = (e.target as HTMLInputElement).value;
              update({ to: v ? String(new Date(v).getTime()) : '' });
            }}
            data-testid="filter-to"
          />
          <button
            class="ghost"
            onClick={() => {
              setSearch('');
              setName('');
              setAppName('');
              navigate(href('workflows'), true);
            }}
          >
            {t('workflows.clear')}
          </button>
        </div>
      </div>
      <ErrorBox error={list.error} />
      {list.data?.unreachable?.length ? (
        <div class="alert warn">{t('common.unreachable', { names: list.data.unreachable.map((u) => u.node || u.address).join(', ') })}</div>
      ) : null}
      <div class="card">
        <table class="table" data-testid="workflows">
          <thead>
            <tr>
              <th>{t('workflows.id')}</th>
              <th>{t('workflows.name')}</th>
              <th>{t('workflows.app')}</th>
              <th>{t('workflows.owner')}</th>
              <th>{t('workflows.node')}</th>
              <th>{t('workflows.state')}</th>
              <th>{t('workflows.progress')}</th>
              <th>{t('workflows.submitted')}</th>
              <th class="num">{t('workflows.duration')}</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((w) => (
              <tr key={w.id} data-testid="workflow-row" data-id={w.id} data-state={w.state} class="clickable" onClick={() => navigate(href('workflow', [w.id]))}>
                <td class="mono">
                  <a href={href('workflow', [w.id])}>{w.id}</a>
                </td>
                <td>{w.name}</td>
                <td>{w.app || '—'}</td>
                <td>{w.owner}</td>
                <td>{w.node}</td>
                <td>
                  <StateBadge state={w.state} />
                </td>
                <td>
                  <Progress counts={w.counts} />
                </td>
                <td>{time(w.submitted_ms)}</td>
                <td class="num">{duration((w.finished_ms || Date.now()) - w.submitted_ms)}</td>
              </tr>
            ))}
            {!rows.length && !list.loading && !list.data?.workflows.length && (
              <tr>
                <td colSpan={9} class="empty" data-testid="workflows-empty">
                  {t('workflows.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
        <Pager offset={offset} limit={limit} total={list.data?.total ?? 0} onChange={(o) => update({ offset: String(o) })} />
      </div>
    </div>
  );
}
