import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isAbort } from './api';
import { subscribe } from './events';
import type { Federation, Member } from './types';

export interface Loaded<T> {
  data: T | undefined;
  error: Error | undefined;
  loading: boolean;
  reload: () => void;
}

/** Runs load(signal) whenever deps change; the previous request is aborted. */
export function useLoad<T>(load: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<Error | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  useEffect(() => {
    const ctl = new AbortController();
    setLoading(true);
    load(ctl.signal).then(
      (v) => {
        if (ctl.signal.aborted) return;
        setData(v);
        setError(undefined);
        setLoading(false);
      },
      (e: unknown) => {
        if (isAbort(e) || ctl.signal.aborted) return;
        setError(e instanceof Error ? e : new Error(String(e)));
        setLoading(false);
      },
    );
    return () => ctl.abort();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [...deps, tick]);
  return { data, error, loading, reload: () => setTick((x) => x + 1) };
}

/** The federation's members, loaded once and kept current by "members" events. */
export function useMembers(): { members: Member[]; federation: Federation | undefined; error: Error | undefined } {
  const fed = useLoad((s) => api.get<Federation>('/api/federation', undefined, s), []);
  const [live, setLive] = useState<Member[] | undefined>(undefined);
  useEffect(() => subscribe('members', setLive), []);
  return { members: live ?? fed.data?.members ?? [], federation: fed.data, error: fed.error };
}

/** Calls fn at most once per `ms`, the last call winning. */
export function useThrottled(fn: () => void, ms: number): () => void {
  const timer = useRef<number | undefined>(undefined);
  const latest = useRef(fn);
  latest.current = fn;
  useEffect(() => () => window.clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      latest.current();
    }, ms);
  };
}
