import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, onUnauthorized, setCsrf } from './lib/api';
import { connectEvents, disconnectEvents, onLive } from './lib/events';
import { languages, setLanguage, useT } from './lib/i18n';
import i18n from './lib/i18n';
import { href, navigate, useRoute } from './lib/router';
import { SessionContext } from './lib/session';
import type { Me } from './lib/types';
import type { Route } from './lib/router';
import type { ComponentType } from 'preact';
import { Login } from './pages/Login';
import { FederationPage } from './pages/Federation';
import { SubmitPage } from './pages/Submit';
import { WorkflowsPage } from './pages/Workflows';
import { WorkflowPage } from './pages/Workflow';
import { FilesPage } from './pages/Files';

const pages = ['federation', 'submit', 'workflows', 'files', 'terminal'] as const;

export function App() {
  const t = useT();
  const [me, setMe] = useState<Me | null | undefined>(undefined);
  const [bootError, setBootError] = useState<string | undefined>(undefined);

  useEffect(() => {
    api.get<Me>('/api/me').then(
      (m) => {
        setCsrf(m.csrf);
        setMe(m);
      },
      (e: unknown) => {
        if (e instanceof ApiError && e.status === 401) setMe(null);
        else setBootError(e instanceof Error ? e.message : String(e));
      },
    );
    return onUnauthorized(() => {
      disconnectEvents();
      setMe(null);
    });
  }, []);

  useEffect(() => {
    if (me) connectEvents();
  }, [me]);

  if (bootError)
    return (
      <div class="boot" data-testid="boot-error">
        <h1>fvce</h1>
        <p class="error">{t('app.unreachable', { message: bootError })}</p>
        <button onClick={() => location.reload()}>{t('app.retry')}</button>
      </div>
    );
  if (me === undefined) return <div class="boot">{t('app.loading')}</div>;
  if (me === null)
    return (
      <Login
        onSignedIn={async (answer) => {
          setCsrf(answer.csrf);
          // /api/me also names the node and the federation.
          const full = await api.get<Me>('/api/me').catch(() => answer);
          setCsrf(full.csrf || answer.csrf);
          setMe(full);
        }}
      />
    );
  return (
    <SessionContext.Provider value={me}>
      <Shell me={me} onSignedOut={() => setMe(null)} />
    </SessionContext.Provider>
  );
}

function Shell({ me, onSignedOut }: { me: Me; onSignedOut: () => void }) {
  const t = useT();
  const route = useRoute();
  const [live, setLive] = useState(false);
  const [menu, setMenu] = useState(false);
  useEffect(() => onLive(setLive), []);
  useEffect(() => {
    if (!route.page) navigate(href('federation'), true);
    setMenu(false);
  }, [route.page]);
  useEffect(() => {
    const close = () => setMenu(false);
    if (menu) document.addEventListener('click', close, { once: true });
    return () => document.removeEventListener('click', close);
  }, [menu]);

  const logout = async () => {
    try {
      await api.post('/api/logout');
    } catch {
      /* the session may already be gone */
    }
    disconnectEvents();
    setCsrf('');
    onSignedOut();
  };

  const active = route.page === 'workflow' ? 'workflows' : route.page;
  let page;
  switch (route.page) {
    case 'submit':
      page = <SubmitPage route={route} />;
      break;
    case 'workflows':
      page = <WorkflowsPage route={route} />;
      break;
    case 'workflow':
      page = <WorkflowPage key={route.rest[0]} id={route.rest[0] ?? ''} />;
      break;
    case 'files':
      page = <FilesPage route={route} />;
      break;
    case 'terminal':
      page = <TerminalLoader route={route} />;
      break;
    default:
      page = <FederationPage />;
  }

  return (
    <div class="shell">
      <header class="topbar">
        <a class="brand" href={href('federation')}>
          <span class="logo" aria-hidden="true">◆</span>
          <span class="product">fvce</span>
          <span class="federation" data-testid="header-federation" title={t('header.federation')}>
            {me.node?.federation ?? ''}
          </span>
        </a>
        <nav class="nav">
          {pages.map((p) => (
            <a key={p} href={href(p)} class={active === p ? 'active' : ''} data-testid={`nav-${p}`}>
              {t(`nav.${p}`)}
            </a>
          ))}
        </nav>
        <div class="right">
          <span class={`live ${live ? 'on' : ''}`} title={live ? t('header.live') : t('header.offline')} data-testid="live">
            ●
          </span>
          {me.node && (
            <span class="via" title={me.node.address}>
              {t('header.via', { node: me.node.name })}
            </span>
          )}
          <div class="usermenu">
            <button
              class="ghost"
              data-testid="user-menu"
              onClick={(e) => {
                e.stopPropagation();
                setMenu(!menu);
              }}
            >
              {me.user} <span class="role">{t(`role.${me.role}`, { defaultValue: me.role })}</span> ▾
            </button>
            {menu && (
              <div class="menu" onClick={(e) => e.stopPropagation()}>
                <label>
                  {t('header.language')}
                  <select
                    data-testid="lang-select"
                    value={i18n.language}
                    onChange={(e) => {
                      setLanguage((e.target as HTMLSelectElement).value);
                      setMenu(false);
                    }}
                  >
                    {languages.map((l) => (
                      <option key={l.code} value={l.code}>
                        {l.label}
                      </option>
                    ))}
                  </select>
                </label>
                <button data-testid="logout" onClick={logout}>
                  {t('header.logout')}
                </button>
              </div>
            )}
          </div>
        </div>
      </header>
      <main class="content">{page}</main>
    </div>
  );
}

// xterm.js is the largest dependency and only the terminal needs it: loaded on first use.
let terminalPage: ComponentType<{ route: Route }> | undefined;
function TerminalLoader({ route }: { route: Route }) {
  const t = useT();
  const [Page, setPage] = useState(() => terminalPage);
  const [error, setError] = useState<string | undefined>(undefined);
  useEffect(() => {
    if (Page) return;
    import('./pages/Terminal').then(
      (m) => {
        terminalPage = m.TerminalPage;
        setPage(() => m.TerminalPage);
      },
      (e: unknown) => setError(e instanceof Error ? e.message : String(e)),
    );
  }, [Page]);
  if (error) return <p class="error">{error}</p>;
  return Page ? <Page route={route} /> : <p class="muted">{t('app.loading')}</p>;
}
