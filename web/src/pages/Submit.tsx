import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { subscribe } from '../lib/events';
import { useT } from '../lib/i18n';
import { useLoad } from '../lib/hooks';
import { href, navigate, type Route } from '../lib/router';
import type { App, Submitted } from '../lib/types';
import { AppForm } from '../components/AppForm';
import { ErrorBox } from '../components/State';

export function SubmitPage({ route }: { route: Route }) {
  const t = useT();
  const loaded = useLoad((s) => api.get<{ apps: App[] }>('/api/apps', undefined, s), []);
  const [apps, setApps] = useState<App[] | undefined>(undefined);
  useEffect(() => setApps(loaded.data?.apps), [loaded.data]);
  useEffect(() => subscribe('apps', setApps), []);
  const chosen = route.query.get('app') ?? '';
  const mode = route.query.get('mode') === 'upload' ? 'upload' : 'app';
  const list = apps ?? [];
  const app = list.find((a) => a.name === chosen) ?? (mode === 'app' ? list[0] : undefined);
  const done = (s: Submitted) => navigate(href('workflow', [s.id]));

  return (
    <div class="page">
      <div class="page-head">
        <h2>{t('submit.title')}</h2>
      </div>
      <ErrorBox error={loaded.error} />
      <div class="split">
        <aside class="card side" data-testid="app-list">
          <div class="side-title">{t('submit.apps')}</div>
          {loaded.loading && !apps && <p class="muted">{t('app.loading')}</p>}
          {apps && !list.length && <p class="muted">{t('submit.noApps')}</p>}
          {list.map((a) => (
            <a
              key={a.name}
              href={href('submit', [], { app: a.name })}
              class={`side-item ${mode === 'app' && app?.name === a.name ? 'active' : ''}`}
              data-testid={`app-${a.name}`}
            >
              <strong>{a.title || a.name}</strong>
              {a.description && <span class="muted small">{a.description}</span>}
            </a>
          ))}
          <hr />
          <a href={href('submit', [], { mode: 'upload' })} class={`side-item ${mode === 'upload' ? 'active' : ''}`} data-testid="upload-mode">
            <strong>{t('submit.uploadTitle')}</strong>
            <span class="muted small">{t('submit.uploadHint')}</span>
          </a>
        </aside>
        <section class="card main-pane">
          {mode === 'upload' ? <WorkflowUpload onSubmitted={done} /> : app ? <AppForm app={app} onSubmitted={done} /> : null}
        </section>
      </div>
    </div>
  );
}

function detectFormat(text: string): 'fvce' | 'jsdl' {
  return /schemas\.ggf\.org\/jsdl|<\s*(\w+:)?JobDefinition\b/.test(text) ? 'jsdl' : 'fvce';
}

function WorkflowUpload({ onSubmitted }: { onSubmitted: (s: Submitted) => void }) {
  const t = useT();
  const [document, setDocument] = useState('');
  const [fileName, setFileName] = useState('');
  const [format, setFormat] = useState<'auto' | 'fvce' | 'jsdl'>('auto');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const pick = async (e: Event) => {
    const f = (e.target as HTMLInputElement).files?.[0];
    if (!f) return;
    setFileName(f.name);
    setDocument(await f.text());
    setError(undefined);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (!document.trim()) {
      setError(t('submit.noDocument'));
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const fmt = format === 'auto' ? detectFormat(document) : format;
      onSubmitted(await api.post<Submitted>('/api/workflows', { format: fmt, document }));
    } catch (err) {
      setError(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form class="app-form" onSubmit={submit} data-testid="workflow-upload">
      <div class="app-head">
        <h3>{t('submit.uploadTitle')}</h3>
      </div>
      <p class="muted">{t('submit.uploadText')}</p>
      <div class="field">
        <label for="wf-file">{t('submit.file')}</label>
        <div class="control">
          <input id="wf-file" type="file" accept=".xml,.jsdl,application/xml,text/xml" onChange={pick} data-testid="workflow-file" />
          {fileName && <span class="help">{t('submit.fileRead', { name: fileName, size: document.length })}</span>}
        </div>
      </div>
      <div class="field">
        <label for="wf-format">{t('submit.format')}</label>
        <div class="control">
          <select id="wf-format" value={format} onChange={(e) => setFormat((e.target as HTMLSelectElement).value as 'auto')} data-testid="workflow-format">
            <option value="auto">{t('submit.formatAuto')}</option>
            <option value="fvce">fvce XML</option>
            <option value="jsdl">JSDL</option>
          </select>
        </div>
      </div>
      <div class="field">
        <label for="wf-doc">{t('submit.document')}</label>
        <div class="control">
          <textarea
            id="wf-doc"
            class="mono"
            rows={12}
            value={document}
            onInput={(e) => setDocument((e.target as HTMLTextAreaElement).value)}
            data-testid="workflow-document"
          />
        </div>
      </div>
      {error && (
        <p class="error" role="alert" data-testid="form-error">
          {error}
        </p>
      )}
      <div class="actions">
        <button class="primary" type="submit" disabled={busy} data-testid="workflow-upload-submit">
          {busy ? t('submit.submitting') : t('submit.submit')}
        </button>
      </div>
    </form>
  );
}
