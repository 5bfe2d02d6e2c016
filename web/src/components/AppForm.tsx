import { useEffect, useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { checkAll, check, initialValues, inputParams, toSubmit, visible, type Value, type Values } from '../lib/form';
import { useT } from '../lib/i18n';
import type { App, AppParam, Submitted } from '../lib/types';

export function AppForm({ app, onSubmitted }: { app: App; onSubmitted: (s: Submitted) => void }) {
  const t = useT();
  const params: AppParam[] = [...inputParams(app.inputs), ...app.params];
  const [values, setValues] = useState<Values>(() => initialValues(params));
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [formError, setFormError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setValues(initialValues(params));
    setErrors({});
    setFormError(undefined);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [app.name, app.version]);

  const set = (p: AppParam, v: Value) => {
    const next = { ...values, [p.name]: v };
    setValues(next);
    if (errors[p.name]) {
      const e = { ...errors };
      const m = check(p, v, t);
      if (m) e[p.name] = m;
      else delete e[p.name];
      setErrors(e);
    }
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setFormError(undefined);
    const found = checkAll(params, values, t);
    setErrors(found);
    if (Object.keys(found).length) {
      setFormError(t('form.fix'));
      const first = params.find((p) => found[p.name]);
      if (first) document.querySelector<HTMLElement>(`[data-testid="field-${first.name}"]`)?.focus();
      return;
    }
    setBusy(true);
    try {
      const s = await api.post<Submitted>('/api/apps/submit', { app: app.name, values: toSubmit(params, values) });
      onSubmitted(s);
    } catch (err) {
      if (err instanceof ApiError) {
        const byField: Record<string, string> = {};
        for (const fe of err.errors) if (fe.field) byField[fe.field] = fe.message;
        if (err.field && !byField[err.field]) byField[err.field] = err.message;
        const known = Object.keys(byField).filter((f) => params.some((p) => p.name === f));
        setErrors(byField);
        setFormError(known.length ? t('form.serverFix') : err.message);
      } else setFormError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  const shown = params.filter((p) => visible(p, params, values));
  const basic = shown.filter((p) => !p.advanced);
  const advanced = shown.filter((p) => p.advanced);
  const openAdvanced = advanced.some((p) => errors[p.name]);

  return (
    <form class="app-form" onSubmit={submit} noValidate data-testid="app-form" data-app={app.name}>
      <div class="app-head">
        <h3>{app.title || app.name}</h3>
        {app.version && <span class="tag">v{app.version}</span>}
        {app.kind && <span class="tag">{t(`submit.kind.${app.kind}`)}</span>}
      </div>
      {app.description && <p class="muted">{app.description}</p>}
      {basic.map((p) => (
        <Field key={p.name} p={p} value={values[p.name]} error={errors[p.name]} onChange={(v) => set(p, v)} />
      ))}
      {advanced.length > 0 && (
        <details class="advanced" open={openAdvanced} data-testid="advanced">
          <summary>{t('form.advanced', { count: advanced.length })}</summary>
          {advanced.map((p) => (
            <Field key={p.name} p={p} value={values[p.name]} error={errors[p.name]} onChange={(v) => set(p, v)} />
          ))}
        </details>
      )}
      {formError && (
        <p class="error" role="alert" data-testid="form-error">
          {formError}
        </p>
      )}
      <div class="actions">
        <button class="primary" type="submit" disabled={busy} data-testid="form-submit">
          {busy ? t('submit.submitting') : t('submit.submit')}
        </button>
        <button
          type="button"
          class="ghost"
          data-testid="form-reset"
          onClick={() => {
            setValues(initialValues(params));
            setErrors({});
            setFormError(undefined);
          }}
        >
          {t('form.reset')}
        </button>
      </div>
    </form>
  );
}

function Field({ p, value, error, onChange }: { p: AppParam; value: Value | undefined; error?: string; onChange: (v: Value) => void }) {
  const t = useT();
  const id = `param-${p.name}`;
  const describedBy = [error ? `${id}-error` : '', p.help ? `${id}-help` : ''].filter(Boolean).join(' ') || undefined;
  const common = {
    id,
    name: p.name,
    'data-testid': `field-${p.name}`,
    'aria-invalid': error ? true : undefined,
    'aria-describedby': describedBy,
    class: error ? 'invalid' : '',
  };
  const text = typeof value === 'string' ? value : '';
  let control;
  switch (p.type) {
    case 'checkbox':
      control = (
        <input {...common} type="checkbox" checked={value === true} onChange={(e) => onChange((e.target as HTMLInputElement).checked)} />
      );
      break;
    case 'select':
      control = (
        <select {...common} value={text} onChange={(e) => onChange((e.target as HTMLSelectElement).value)}>
          {!p.required && <option value="">—</option>}
          {(p.options ?? []).map((o) => (
            <option key={o.value} value={o.value}>
              {o.label || o.value}
            </option>
          ))}
        </select>
      );
      break;
    case 'number':
    case 'integer':
      control = (
        <input
          {...common}
          type="text"
          inputMode={p.type === 'integer' ? 'numeric' : 'decimal'}
          value={text}
          placeholder={range(p, t)}
          onInput={(e) => onChange((e.target as HTMLInputElement).value)}
        />
      );
      break;
    default:
      control = (
        <input
          {...common}
          type="text"
          class={`${common.class} ${p.type === 'path' || p.type === 'file' ? 'mono' : ''}`}
          value={text}
          placeholder={p.type === 'path' || p.type === 'file' ? t('form.pathHint') : ''}
          onInput={(e) => onChange((e.target as HTMLInputElement).value)}
        />
      );
  }
  return (
    <div class={`field ${p.type === 'checkbox' ? 'check' : ''} ${error ? 'has-error' : ''}`} data-field={p.name}>
      <label for={id}>
        {p.label || p.name}
        {p.required && p.type !== 'checkbox' ? <span class="req" title={t('form.requiredMark')}> *</span> : null}
      </label>
      <div class="control">
        {control}
        {error && (
          <span class="field-error" id={`${id}-error`} data-testid={`field-error-${p.name}`} role="alert">
            {error}
          </span>
        )}
        {p.help && (
          <span class="help" id={`${id}-help`}>
            {p.help}
          </span>
        )}
      </div>
    </div>
  );
}

function range(p: AppParam, t: (k: string, o?: Record<string, unknown>) => string): string {
  const has = (x: number | null | undefined): x is number => x !== undefined && x !== null;
  if (has(p.min) && has(p.max)) return t('form.between', { min: p.min, max: p.max });
  if (has(p.min)) return `≥ ${p.min}`;
  if (has(p.max)) return `≤ ${p.max}`;
  return '';
}
