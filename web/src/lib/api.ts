// The client of the node's JSON API (docs/web.md): cookies carry the session, every request
// that changes something carries the session's CSRF token, errors become ApiError.

export interface FieldError {
  field: string;
  message: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
    readonly errors: FieldError[] = [],
  ) {
    super(message);
    this.name = 'ApiError';
  }

  /** The message for one input of a form, if the node named it. */
  forField(name: string): string | undefined {
    const e = this.errors.find((x) => x.field === name);
    if (e) return e.message;
    return this.field === name ? this.message : undefined;
  }
}

type Query = Record<string, string | number | boolean | undefined | null>;

let csrf = '';
const unauthorizedListeners = new Set<() => void>();

export function setCsrf(token: string): void {
  csrf = token;
}

/** Called whenever the node answers 401 (the session ended or was revoked). */
export function onUnauthorized(fn: () => void): () => void {
  unauthorizedListeners.add(fn);
  return () => unauthorizedListeners.delete(fn);
}

export function url(path: string, query?: Query): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v !== undefined && v !== null && v !== '') params.set(k, String(v));
  }
  const s = params.toString();
  return s ? `${path}?${s}` : path;
}

async function toError(r: Response): Promise<ApiError> {
  let code = `http-${r.status}`;
  let message = r.statusText || `HTTP ${r.status}`;
  let field: string | undefined;
  let errors: FieldError[] = [];
  const text = await r.text().catch(() => '');
  try {
    const body = JSON.parse(text) as {
      error?: { code?: string; message?: string; field?: string };
      errors?: FieldError[];
    };
    if (body.error) {
      code = body.error.code ?? code;
      message = body.error.message ?? message;
      field = body.error.field;
    }
    if (Array.isArray(body.errors)) errors = body.errors;
  } catch {
    if (text.trim()) message = text.trim().slice(0, 500);
  }
  return new ApiError(r.status, code, message, field, errors);
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  raw?: BodyInit;
  signal?: AbortSignal;
  contentType?: string;
}

export async function request(method: string, path: string, opts: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['Content-Type'] = opts.contentType ?? 'application/octet-stream';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (method !== 'GET' && method !== 'HEAD' && csrf) headers['X-CSRF-Token'] = csrf;
  let r: Response;
  try {
    r = await fetch(url(path, opts.query), {
      method,
      headers,
      body,
      credentials: 'same-origin',
      signal: opts.signal,
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'unavailable', e instanceof Error ? e.message : String(e));
  }
  if (!r.ok) {
    const err = await toError(r);
    if (r.status === 401 && path !== '/api/login') unauthorizedListeners.forEach((fn) => fn());
    throw err;
  }
  return r;
}

async function json<T>(r: Response): Promise<T> {
  if (r.status === 204) return undefined as T;
  const text = await r.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

export const api = {
  get: async <T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> =>
    json<T>(await request('GET', path, { query, signal })),
  text: async (path: string, query?: Query, signal?: AbortSignal): Promise<string> =>
    (await request('GET', path, { query, signal })).text(),
  post: async <T>(path: string, body?: unknown, query?: Query): Promise<T> =>
    json<T>(await request('POST', path, { body: body ?? {}, query })),
  put: async (path: string, raw: BodyInit, query?: Query): Promise<void> => {
    await request('PUT', path, { raw, query });
  },
  del: async (path: string, query?: Query): Promise<void> => {
    await request('DELETE', path, { query });
  },
};

export function isAbort(e: unknown): boolean {
  return e instanceof DOMException && e.name === 'AbortError';
}
