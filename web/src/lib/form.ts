// The form of an App (docs/web.md, "App"): initial values, which params are shown, checks
// the browser can make before anything is sent, and the values the node receives.

import type { AppInput, AppParam } from './types';
import type { T } from './i18n';

export type Value = string | boolean;
export type Values = Record<string, Value>;

/** An App's inputs are file paths the user names; the form treats them as "path" params. */
export function inputParams(inputs: AppInput[] | undefined): AppParam[] {
  return (inputs ?? []).map((i) => ({
    name: i.name,
    label: i.label ?? i.name,
    type: 'path',
    required: i.required ?? false,
    help: i.help ?? '',
  }));
}

export function initialValues(params: AppParam[]): Values {
  const v: Values = {};
  for (const p of params) {
    if (p.type === 'checkbox') v[p.name] = p.default === true || p.default === 'true' || p.default === '1';
    else if (p.default !== undefined && p.default !== null) v[p.name] = String(p.default);
    else if (p.type === 'select' && p.required && p.options?.length) v[p.name] = p.options[0]!.value;
    else v[p.name] = '';
  }
  return v;
}

function asText(v: Value | undefined): string {
  if (v === undefined) return '';
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  return v;
}

/** Whether a param is shown (and so checked and sent): its show_if holds, transitively. */
export function visible(p: AppParam, params: AppParam[], values: Values, depth = 0): boolean {
  if (!p.show_if) return true;
  if (depth > params.length) return false;
  const other = params.find((x) => x.name === p.show_if!.param);
  if (!other) return true;
  if (!visible(other, params, values, depth + 1)) return false;
  return asText(values[other.name]) === p.show_if.equals;
}

/** The message for one param's value, or undefined when it is acceptable. */
export function check(p: AppParam, value: Value | undefined, t: T): string | undefined {
  if (p.type === 'checkbox') return undefined;
  const s = asText(value).trim();
  if (!s) return p.required ? t('form.required') : undefined;
  if (p.type === 'number' || p.type === 'integer') {
    if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return t(p.type === 'integer' ? 'form.notInteger' : 'form.notNumber');
    const n = Number(s);
    if (!Number.isFinite(n)) return t('form.notNumber');
    if (p.type === 'integer' && !Number.isInteger(n)) return t('form.notInteger');
    if (p.min !== undefined && p.min !== null && n < p.min) return t('form.min', { min: p.min });
    if (p.max !== undefined && p.max !== null && n > p.max) return t('form.max', { max: p.max });
  }
  if (p.type === 'select' && p.options?.length && !p.options.some((o) => o.value === s)) return t('form.notOption');
  if (p.type === 'path' || p.type === 'file') {
    if (s.split('/').includes('..')) return t('form.dotdot');
  }
  if (p.pattern) {
    let re: RegExp | undefined;
    try {
      re = new RegExp(`^(?:${p.pattern})$`, 'u');
    } catch {
      re = undefined; // a pattern the browser cannot read is left to the node
    }
    if (re && !re.test(s)) return t('form.pattern', { pattern: p.pattern });
  }
  return undefined;
}

export function checkAll(params: AppParam[], values: Values, t: T): Record<string, string> {
  const errors: Record<string, string> = {};
  for (const p of params) {
    if (!visible(p, params, values)) continue;
    const e = check(p, values[p.name], t);
    if (e) errors[p.name] = e;
  }
  return errors;
}

/** The values sent to POST /api/apps/submit: shown params only, numbers as numbers, empty left out. */
export function toSubmit(params: AppParam[], values: Values): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const p of params) {
    if (!visible(p, params, values)) continue;
    const v = values[p.name];
    if (p.type === 'checkbox') {
      out[p.name] = v === true;
      continue;
    }
    const s = asText(v).trim();
    if (!s) continue;
    out[p.name] = p.type === 'number' || p.type === 'integer' ? Number(s) : s;
  }
  return out;
}
