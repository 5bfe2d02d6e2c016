import { useState } from 'preact/hooks';
import { api } from '../lib/api';
import { bytes, duration, time } from '../lib/format';
import { useT } from '../lib/i18n';
import { useLoad } from '../lib/hooks';
import type { TaskPage } from '../lib/types';
import { ErrorBox, Pager, StateBadge } from './State';

const limit = 100;
const states = ['pending', 'ready', 'running', 'done', 'failed', 'cancelled'];

/** The tasks of a workflow (or of one of its arrays), paged on the server. */
export function TaskTable({
  workflow,
  array,
  version,
  selected,
  onSelect,
  testid = 'tasks',
}: {
  workflow: string;
  array?: string;
  version: number;
  selected?: string;
  onSelect: (task: string) => void;
  testid?: string;
}) {
  const t = useT();
  const [offset, setOffset] = useState(0);
  const [state, setState] = useState('');
  const [q, setQ] = useState('');
  const [query, setQuery] = useState('');
  const page = useLoad(
    (signal) => api.get<TaskPage>('/api/workflow/tasks', { id: workflow, array, offset, limit, state, q: query }, signal),
    [workflow, array, offset, state, query, version],
  );
  return (
    <div data-testid={testid}>
      <div class="filter-row">
        <select
          value={state}
          onChange={(e) => {
            setState((e.target as HTMLSelectElement).value);
            setOffset(0);
          }}
          data-testid={`${testid}-state`}
        >
          <option value="">{t('tasks.allStates')}</option>
          {states.map((s) => (
            <option key={s} value={s}>
              {t(`state.${s}`)}
            </option>
          ))}
        </select>
        <form
          onSubmit={(e) => {
            e.preventDefault();
            setQuery(q);
            setOffset(0);
          }}
        >
          <input type="search" placeholder={t('tasks.search')} value={q} onInput={(e) => setQ((e.target as HTMLInputElement).value)} data-testid={`${testid}-q`} />
        </form>
      </div>
      <ErrorBox error={page.error} />
      <div class="table-scroll">
        <table class="table compact">
          <thead>
            <tr>
              <th>{t('tasks.task')}</th>
              <th>{t('tasks.state')}</th>
              <th>{t('tasks.host')}</th>
              <th class="num">{t('tasks.attempts')}</th>
              <th class="num">{t('tasks.exit')}</th>
              <th class="num">{t('tasks.wall')}</th>
              <th class="num">{t('tasks.cpu')}</th>
              <th class="num">{t('tasks.rss')}</th>
              <th>{t('tasks.started')}</th>
              <th>{t('tasks.finished')}</th>
            </tr>
          </thead>
          <tbody>
            {(page.data?.tasks ?? []).map((task) => (
              <tr
                key={task.id}
                class={`clickable ${selected === task.id ? 'selected' : ''}`}
                onClick={() => onSelect(task.id)}
                data-testid="task-row"
                data-task={task.id}
                data-state={task.state}
                title={task.message ?? ''}
              >
                <td class="mono">{task.id}</td>
                <td>
                  <StateBadge state={task.state} />
                </td>
                <td>{task.host || '—'}</td>
                <td class="num">{task.attempts}</td>
                <td class="num">{task.exit_code ?? '—'}</td>
                <td class="num">{duration(task.wall_ms)}</td>
                <td class="num">{duration(task.cpu_ms)}</td>
                <td class="num">{task.max_rss ? bytes(task.max_rss) : '—'}</td>
                <td>{time(task.started_ms)}</td>
                <td>{time(task.finished_ms)}</td>
              </tr>
            ))}
            {page.data && !page.data.tasks.length && (
              <tr>
                <td colSpan={10} class="empty">
                  {t('tasks.none')}
                </td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <Pager offset={offset} limit={limit} total={page.data?.total ?? 0} onChange={setOffset} testid={`${testid}-pager`} />
    </div>
  );
}
