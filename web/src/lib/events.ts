// One EventSource on /api/events for the whole page; components subscribe by event name.
// The stream reconnects by itself (EventSource does, with the server's retry); `status`
// tells the header whether the page is live.

import type { App, Member, Workflow } from './types';

export interface EventMap {
  members: Member[];
  workflow: Workflow;
  apps: App[];
}

type Name = keyof EventMap;
type Listener<K extends Name> = (data: EventMap[K]) => void;

const listeners: { [K in Name]: Set<Listener<K>> } = {
  members: new Set(),
  workflow: new Set(),
  apps: new Set(),
};
const statusListeners = new Set<(live: boolean) => void>();
let source: EventSource | null = null;
let live = false;

function setLive(v: boolean): void {
  if (live === v) return;
  live = v;
  statusListeners.forEach((fn) => fn(v));
}

function dispatch<K extends Name>(name: K, raw: string): void {
  let data: unknown;
  try {
    data = JSON.parse(raw);
  } catch {
    return;
  }
  // A members event may be the bare list or {"members": [...]}; apps likewise.
  if (name === 'members' && !Array.isArray(data) && data && typeof data === 'object') {
    data = (data as { members?: unknown }).members ?? [];
  }
  if (name === 'apps' && !Array.isArray(data) && data && typeof data === 'object') {
    data = (data as { apps?: unknown }).apps ?? [];
  }
  listeners[name].forEach((fn) => (fn as Listener<K>)(data as EventMap[K]));
}

export function connectEvents(): void {
  if (source) return;
  source = new EventSource('/api/events', { withCredentials: true });
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(source?.readyState === EventSource.OPEN);
  for (const name of Object.keys(listeners) as Name[]) {
    source.addEventListener(name, (e) => dispatch(name, (e as MessageEvent<string>).data));
  }
  // A stream that sends unnamed events with {"type", "data"}.
  source.onmessage = (e: MessageEvent<string>) => {
    try {
      const m = JSON.parse(e.data) as { type?: string; data?: unknown };
      if (m.type && m.type in listeners) dispatch(m.type as Name, JSON.stringify(m.data));
    } catch {
      /* not ours */
    }
  };
}

export function disconnectEvents(): void {
  source?.close();
  source = null;
  setLive(false);
}

export function subscribe<K extends Name>(name: K, fn: Listener<K>): () => void {
  listeners[name].add(fn);
  return () => {
    listeners[name].delete(fn);
  };
}

export function onLive(fn: (live: boolean) => void): () => void {
  statusListeners.add(fn);
  fn(live);
  return () => statusListeners.delete(fn);
}
