// One colour per task state, shared by the DAG, the Gantt chart and the badges (style.css
// uses the same values).

export const stateColors: Record<string, string> = {
  pending: '#cbd5e1',
  ready: '#93c5fd',
  running: '#3b82f6',
  done: '#22c55e',
  failed: '#ef4444',
  cancelled: '#a3a3a3',
  lost: '#f97316',
};

export const stateNames = ['pending', 'ready', 'running', 'done', 'failed', 'cancelled', 'lost'];

export function colorOf(state: string | number): string {
  const name = typeof state === 'number' ? stateNames[state] ?? 'pending' : state;
  return stateColors[name] ?? '#94a3b8';
}
