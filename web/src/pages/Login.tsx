import { useState } from 'preact/hooks';
import { api, ApiError } from '../lib/api';
import { languages, setLanguage, useT } from '../lib/i18n';
import i18n from '../lib/i18n';
import type { Me } from '../lib/types';

export function Login({ onSignedIn }: { onSignedIn: (me: Me) => Promise<void> }) {
  const t = useT();
  const [user, setUser] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>(undefined);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const answer = await api.post<Me>('/api/login', { user, password });
      await onSignedIn(answer);
    } catch (err) {
      if (err instanceof ApiError && (err.status === 401 || err.status === 403)) setError(t('login.bad'));
      else if (err instanceof ApiError && err.status === 429) setError(t('login.tooMany'));
      else setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <div class="login">
      <form class="card login-card" onSubmit={submit} data-testid="login-form">
        <h1>
          <span class="logo">◆</span> fvce
        </h1>
        <p class="muted">{t('login.subtitle')}</p>
        <label>
          {t('login.user')}
          <input
            data-testid="login-user"
            autocomplete="username"
            value={user}
            required
            autofocus
            onInput={(e) => setUser((e.target as HTMLInputElement).value)}
          />
        </label>
        <label>
          {t('login.password')}
          <input
            data-testid="login-password"
            type="password"
            autocomplete="current-password"
            value={password}
            required
            onInput={(e) => setPassword((e.target as HTMLInputElement).value)}
          />
        </label>
        {error && (
          <p class="error" data-testid="login-error" role="alert">
            {error}
          </p>
        )}
        <button class="primary" type="submit" disabled={busy} data-testid="login-submit">
          {busy ? t('login.signingIn') : t('login.signIn')}
        </button>
        <select
          class="lang"
          aria-label={t('header.language')}
          value={i18n.language}
          onChange={(e) => setLanguage((e.target as HTMLSelectElement).value)}
        >
          {languages.map((l) => (
            <option key={l.code} value={l.code}>
              {l.label}
            </option>
          ))}
        </select>
      </form>
    </div>
  );
}
