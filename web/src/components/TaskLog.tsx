import { useState } from 'preact/hooks';
import { api } from '../lib/api';
import { useT } from '../lib/i18n';
import { useLoad } from '../lib/hooks';

/** A task's stdout or stderr, wherever it ran. */
export function TaskLog({ workflow, task, onClose }: { workflow: string; task: string; onClose: () => void }) {
  const t = useT();
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const log = useLoad((signal) => api.text('/api/workflow/log', { id: workflow, task, stream }, signal), [workflow, task, stream]);
  return (
    <div class="card log-panel" data-testid="task-log-panel" data-task={task}>
      <div class="panel-head">
        <strong class="mono">{task}</strong>
        <div class="tabs">
          {(['stdout', 'stderr'] as const).map((s) => (
            <button key={s} class={stream === s ? 'tab active' : 'tab'} onClick={() => setStream(s)} data-testid={`log-${s}`}>
              {s}
            </button>
          ))}
        </div>
        <button class="ghost" onClick={onClose} aria-label={t('common.close')}>
          ✕
        </button>
      </div>
      {log.error ? (
        <p class="error">{log.error.message}</p>
      ) : (
        <pre class="log" data-testid="task-log" data-stream={stream} data-loaded={log.loading ? 'false' : 'true'}>
          {log.loading ? t('app.loading') : log.data || t('log.empty')}
        </pre>
      )}
    </div>
  );
}
