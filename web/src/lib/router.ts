// Hash routing: #/page/rest?query. A page reads its parameters from the route, so a link or
// a reload brings the same view back.

import { useEffect, useState } from 'preact/hooks';

export interface Route {
  page: string;
  rest: string[];
  query: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const h = hash.replace(/^#\/?/, '');
  const [path = '', q = ''] = h.split('?', 2);
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  return { page: parts[0] ?? '', rest: parts.slice(1), query: new URLSearchParams(q) };
}

export function href(page: string, rest: string[] = [], query?: Record<string, string | number | undefined>): string {
  let h = '#/' + [page, ...rest].map(encodeURIComponent).join('/');
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    if (s) h += '?' + s;
  }
  return h;
}

export function navigate(to: string, replace = false): void {
  if (replace) history.replaceState(null, '', to);
  else if (location.hash !== to) location.hash = to;
  if (replace) window.dispatchEvent(new HashChangeEvent('hashchange'));
}

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const on = () => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}
