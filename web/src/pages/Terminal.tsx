import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import '@xterm/xterm/css/xterm.css';
import { useT } from '../lib/i18n';
import { useMembers } from '../lib/hooks';
import { href, navigate, type Route } from '../lib/router';

type Status = 'idle' | 'connecting' | 'open' | 'closed';

export function TerminalPage({ route }: { route: Route }) {
  const t = useT();
  const { members } = useMembers();
  const member = route.query.get('member') ?? '';
  const [chosen, setChosen] = useState(member);
  const [session, setSession] = useState(0);
  useEffect(() => {
    if (!chosen && members[0]) setChosen(members[0].name);
  }, [members, chosen]);
  return (
    <div class="page terminal-page">
      <div class="page-head">
        <h2>{t('terminal.title')}</h2>
        <div class="actions">
          <label>
            {t('files.member')}{' '}
            <select value={chosen} onChange={(e) => setChosen((e.target as HTMLSelectElement).value)} data-testid="terminal-member">
              {members.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <button
            class="primary"
            disabled={!chosen}
            onClick={() => {
              navigate(href('terminal', [], { member: chosen }), true);
              setSession((s) => s + 1);
            }}
            data-testid="terminal-connect"
          >
            {member && session ? t('terminal.reconnect') : t('terminal.connect')}
          </button>
        </div>
      </div>
      {member && session > 0 ? <Shell key={`${member}-${session}`} member={member} /> : <p class="muted">{t('terminal.pick')}</p>}
    </div>
  );
}

function Shell({ member }: { member: string }) {
  const t = useT();
  const box = useRef<HTMLDivElement>(null);
  const [status, setStatus] = useState<Status>('connecting');
  const [reason, setReason] = useState('');
  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace',
      fontSize: 13,
      scrollback: 5000,
      theme: { background: '#0f172a', foreground: '#e2e8f0' },
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    fit.fit();
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const q = new URLSearchParams({ member, cols: String(term.cols), rows: String(term.rows) });
    const ws = new WebSocket(`${proto}//${location.host}/api/terminal?${q}`);
    ws.binaryType = 'arraybuffer';
    const enc = new TextEncoder();
    ws.onopen = () => {
      setStatus('open');
      term.focus();
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data === 'string') term.write(e.data);
      else term.write(new Uint8Array(e.data));
    };
    ws.onclose = (e) => {
      setStatus('closed');
      setReason(e.reason || (e.code !== 1000 ? String(e.code) : ''));
      term.write(`\r\n\x1b[2m[${t('terminal.closedLine')}]\x1b[0m\r\n`);
    };
    const input = term.onData((d) => ws.readyState === WebSocket.OPEN && ws.send(enc.encode(d)));
    const binary = term.onBinary((d) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const b = new Uint8Array(d.length);
      for (let i = 0; i < d.length; i++) b[i] = d.charCodeAt(i) & 0xff;
      ws.send(b);
    });
    const resized = term.onResize(({ cols, rows }) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ resize: [cols, rows] })));
    const ro = new ResizeObserver(() => fit.fit());
    ro.observe(el);
    return () => {
      ro.disconnect();
      input.dispose();
      binary.dispose();
      resized.dispose();
      ws.close();
      term.dispose();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [member]);
  return (
    <div class="card term-card">
      <div class="panel-head">
        <span>
          {t('terminal.on', { member })} ·{' '}
          <span class={`status-${status}`} data-testid="terminal-status" data-status={status}>
            {t(`terminal.${status}`)}
          </span>
          {reason && <span class="muted"> ({reason})</span>}
        </span>
      </div>
      <div class="term" ref={box} data-testid="terminal" />
    </div>
  );
}
