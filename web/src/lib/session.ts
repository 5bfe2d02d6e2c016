// Who is signed in, shared by the shell and the pages.

import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { Me } from './types';

export const SessionContext = createContext<Me | null>(null);

export function useSession(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useSession outside a signed-in page');
  return me;
}
