import i18n from '../lib/i18n';
import { useT } from '../lib/i18n';
import { bytes, int, num, percent } from '../lib/format';
import { useMembers } from '../lib/hooks';
import type { Member, Totals } from '../lib/types';
import { LoadChart } from '../components/LoadChart';
import { ErrorBox } from '../components/State';

function totalsOf(members: Member[]): Totals {
  const alive = members.filter((m) => m.state === 'alive');
  const sum = (f: (m: Member) => number | undefined) => members.reduce((a, m) => a + (f(m) ?? 0), 0);
  return {
    members: members.length,
    alive: alive.length,
    cores: sum((m) => m.cores),
    slots: sum((m) => m.slots),
    slots_used: sum((m) => m.slots_used),
    queue: sum((m) => m.queue),
    memory: sum((m) => m.memory),
    mem_free: sum((m) => m.mem_free),
  };
}

export function FederationPage() {
  const t = useT();
  const { members, federation, error } = useMembers();
  const sorted = [...members].sort((a, b) => a.name.localeCompare(b.name));
  // Live events bring the members only: the totals follow them.
  const totals = members.length ? totalsOf(members) : federation?.totals;

  return (
    <div class="page">
      <div class="page-head">
        <h2>{t('federation.title', { name: federation?.federation ?? '' })}</h2>
      </div>
      <ErrorBox error={error} />
      {federation?.unreachable?.length ? (
        <div class="alert warn" data-testid="unreachable">
          {t('common.unreachable', { names: federation.unreachable.map((u) => u.node || u.address).join(', ') })}
        </div>
      ) : null}
      {totals && (
        <div class="stats" data-testid="totals">
          <Stat label={t('federation.members')} value={`${totals.alive} / ${totals.members}`} hint={t('federation.aliveOfAll')} />
          <Stat label={t('federation.cores')} value={int(totals.cores)} />
          <Stat
            label={t('federation.slots')}
            value={`${int(totals.slots_used)} / ${int(totals.slots)}`}
            hint={percent(totals.slots ? totals.slots_used / totals.slots : 0)}
            testid="totals-slots"
          />
          <Stat label={t('federation.queue')} value={int(totals.queue)} />
          <Stat
            label={t('federation.memory')}
            value={`${bytes(totals.memory - totals.mem_free)} / ${bytes(totals.memory)}`}
            hint={t('federation.memUsed')}
          />
        </div>
      )}
      <div class="card">
        <table class="table" data-testid="members">
          <thead>
            <tr>
              <th>{t('federation.name')}</th>
              <th>{t('federation.address')}</th>
              <th>{t('federation.state')}</th>
              <th class="num">{t('federation.cores')}</th>
              <th>{t('federation.cpu')}</th>
              <th class="num">{t('federation.cpuUse')}</th>
              <th class="num">{t('federation.memory')}</th>
              <th class="num">{t('federation.slots')}</th>
              <th class="num">{t('federation.queue')}</th>
              <th class="num">{t('federation.load')}</th>
            </tr>
          </thead>
          <tbody>
            {sorted.map((m) => (
              <tr key={m.id || m.name} data-testid="member-row" data-member={m.name}>
                <td>
                  <strong>{m.name}</strong>
                  {federation?.self && (m.id === federation.self || m.name === federation.self) ? (
                    <span class="tag">{t('federation.self')}</span>
                  ) : null}
                </td>
                <td class="mono">{m.address}</td>
                <td>
                  <span class={`badge member-${m.state}`} data-testid="member-state">
                    {t(`member.${m.state}`, { defaultValue: m.state })}
                  </span>
                </td>
                <td class="num">{int(m.cores)}</td>
                <td class="ellipsis" title={m.cpu_model}>
                  {m.cpu_model ?? '—'}
                  {m.cpu_mhz ? <span class="muted"> · {int(m.cpu_mhz)} MHz</span> : null}
                </td>
                <td class="num">{percent(m.cpu)}</td>
                <td class="num">
                  {m.memory !== undefined ? `${bytes((m.memory ?? 0) - (m.mem_free ?? 0))} / ${bytes(m.memory)}` : '—'}
                </td>
                <td class="num" data-testid="member-slots">
                  {int(m.slots_used)} / {int(m.slots)}
                </td>
                <td class="num">{int(m.queue)}</td>
                <td class="num">{num(m.load1)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <h3>{t('federation.charts')}</h3>
      <div class="charts">
        {sorted.map((m) => (
          <div class="card chart-card" key={`${m.name}-${i18n.language}`}>
            <div class="chart-title">
              <strong>{m.name}</strong> <span class="muted">{m.address}</span>
            </div>
            <LoadChart member={m.name} />
          </div>
        ))}
      </div>
    </div>
  );
}

function Stat({ label, value, hint, testid }: { label: string; value: string; hint?: string; testid?: string }) {
  return (
    <div class="stat card" data-testid={testid}>
      <div class="stat-label">{label}</div>
      <div class="stat-value">{value}</div>
      {hint && <div class="stat-hint">{hint}</div>}
    </div>
  );
}
