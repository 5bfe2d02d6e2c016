import { useState } from 'preact/hooks';
import { api, url } from '../lib/api';
import { bytes, time } from '../lib/format';
import { useT } from '../lib/i18n';
import { useLoad, useMembers } from '../lib/hooks';
import { href, navigate, type Route } from '../lib/router';
import type { DirEntry, Listing } from '../lib/types';
import { SegyViewer } from '../components/SegyViewer';
import { TextViewer } from '../components/TextViewer';
import { ErrorBox } from '../components/State';
import { DownloadIcon, FileIcon, FolderIcon, TrashIcon } from '../components/Icons';

function join(dir: string, name: string): string {
  return dir ? `${dir.replace(/\/+$/, '')}/${name}` : name;
}

function parent(path: string): string {
  const i = path.replace(/\/+$/, '').lastIndexOf('/');
  return i <= 0 ? '' : path.slice(0, i);
}

export function viewerKind(name: string): 'png' | 'segy' | 'text' {
  const n = name.toLowerCase();
  if (n.endsWith('.png')) return 'png';
  if (n.endsWith('.sgy') || n.endsWith('.segy')) return 'segy';
  return 'text';
}

export function FilesPage({ route }: { route: Route }) {
  const t = useT();
  const { members } = useMembers();
  const member = route.query.get('member') ?? members[0]?.name ?? '';
  const dir = route.query.get('path') ?? '';
  const file = route.query.get('file') ?? '';
  const go = (q: { member?: string; path?: string; file?: string }) =>
    navigate(href('files', [], { member: q.member ?? member, path: q.path ?? dir, file: q.file }));
  const listing = useLoad(
    (s) => (member ? api.get<Listing>('/api/files', { member, path: dir }, s) : Promise.resolve(undefined)),
    [member, dir],
  );
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);

  const upload = async (e: Event) => {
    const input = e.target as HTMLInputElement;
    const files = [...(input.files ?? [])];
    if (!files.length) return;
    setBusy(true);
    setError(undefined);
    try {
      for (const f of files) await api.put('/api/files/upload', f, { member, path: join(dir, f.name) });
      listing.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
      input.value = '';
    }
  };

  const remove = async (entry: DirEntry) => {
    if (!window.confirm(t('files.confirmDelete', { name: entry.name }))) return;
    setError(undefined);
    try {
      await api.del('/api/files', { member, path: join(dir, entry.name) });
      if (file === join(dir, entry.name)) go({ file: '' });
      listing.reload();
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    }
  };

  const crumbs = dir.split('/').filter(Boolean);
  const entries = [...(listing.data?.entries ?? [])].sort((a, b) => (a.type === b.type ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1));
  const download = (path: string) => url('/api/files/download', { member, path });

  return (
    <div class="page">
      <div class="page-head">
        <h2>{t('files.title')}</h2>
        <div class="actions">
          <label>
            {t('files.member')}{' '}
            <select value={member} onChange={(e) => go({ member: (e.target as HTMLSelectElement).value, path: '', file: '' })} data-testid="member-select">
              {members.map((m) => (
                <option key={m.name} value={m.name}>
                  {m.name}
                </option>
              ))}
            </select>
          </label>
          <label class={`button ${busy ? 'disabled' : ''}`}>
            {busy ? t('files.uploading') : t('files.upload')}
            <input type="file" multiple hidden onChange={upload} disabled={busy || !member} data-testid="file-upload" />
          </label>
        </div>
      </div>
      <ErrorBox error={error ?? listing.error} />
      <div class={`files ${file ? 'with-viewer' : ''}`}>
        <div class="card">
          <div class="crumbs" data-testid="crumbs">
            <a href={href('files', [], { member, path: '' })}>{member || '—'}:~</a>
            {crumbs.map((c, i) => (
              <span key={i}>
                {' / '}
                <a href={href('files', [], { member, path: crumbs.slice(0, i + 1).join('/') })}>{c}</a>
              </span>
            ))}
          </div>
          <table class="table compact" data-testid="file-list">
            <thead>
              <tr>
                <th>{t('files.name')}</th>
                <th class="num">{t('files.size')}</th>
                <th>{t('files.modified')}</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {dir && (
                <tr class="clickable" onClick={() => go({ path: parent(dir), file: '' })}>
                  <td colSpan={4}>↰ ..</td>
                </tr>
              )}
              {entries.map((e) => {
                const path = join(dir, e.name);
                return (
                  <tr
                    key={e.name}
                    class={`clickable ${file === path ? 'selected' : ''}`}
                    data-testid="file-entry"
                    data-name={e.name}
                    data-type={e.type}
                    onClick={() => (e.type === 'dir' ? go({ path, file: '' }) : go({ file: path }))}
                  >
                    <td>
                      {e.type === 'dir' ? <FolderIcon /> : <FileIcon />} {e.name}
                    </td>
                    <td class="num">{e.type === 'dir' ? '—' : bytes(e.size)}</td>
                    <td>{time(e.mtime_ms)}</td>
                    <td class="row-actions" onClick={(ev) => ev.stopPropagation()}>
                      {e.type === 'file' && (
                        <a href={download(path)} download={e.name} title={t('files.download')} data-testid="file-download">
                          <DownloadIcon />
                        </a>
                      )}
                      <button class="ghost small danger" onClick={() => remove(e)} title={t('files.delete')} data-testid="file-delete">
                        <TrashIcon />
                      </button>
                    </td>
                  </tr>
                );
              })}
              {listing.data && !entries.length && (
                <tr>
                  <td colSpan={4} class="empty">
                    {t('files.empty')}
                  </td>
                </tr>
              )}
            </tbody>
          </table>
        </div>
        {file && (
          <div class="card viewer" data-testid="file-viewer" data-file={file}>
            <div class="panel-head">
              <strong class="mono">{file}</strong>
              <div class="actions">
                <a class="button" href={download(file)} download={file.split('/').pop()}>
                  {t('files.download')}
                </a>
                <button class="ghost" onClick={() => go({ file: '' })} aria-label={t('common.close')}>
                  ✕
                </button>
              </div>
            </div>
            {viewerKind(file) === 'png' ? (
              <img class="png" src={url('/api/files/download', { member, path: file })} alt={file} data-testid="png-image" />
            ) : viewerKind(file) === 'segy' ? (
              <SegyViewer member={member} path={file} />
            ) : (
              <TextViewer member={member} path={file} />
            )}
          </div>
        )}
      </div>
    </div>
  );
}
