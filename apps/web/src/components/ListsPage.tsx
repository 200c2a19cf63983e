// The lists on this device: create one, open a shared one by its link, and each list with its
// progress and sync badge; and this device's name, which its changes carry in each list's history.
import { useState, type FormEvent } from 'react';
import { deviceName, limits } from '@trolley/core';
import { saveDeviceName, savedDeviceName } from '../history.ts';
import { navigate, useAction, useEngine, useSnapshot } from '../hooks.ts';
import { t } from '../strings.ts';
import { SyncBadge } from './SyncBadge.tsx';

export function ListsPage() {
  const engine = useEngine();
  const snapshot = useSnapshot();
  const [title, setTitle] = useState('');
  const [link, setLink] = useState('');
  const create = useAction();
  const join = useAction();
  const [name, setName] = useState(savedDeviceName);
  const [nameTold, setNameTold] = useState<string | undefined>();

  const onName = (e: FormEvent): void => {
    e.preventDefault();
    const clean = deviceName(name);
    saveDeviceName(clean);
    engine.client.deviceName = clean;
    setName(clean);
    setNameTold(t.nameSaved(clean));
  };

  const onCreate = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    let id = '';
    if (await create.run(async () => (id = await engine.createList(title.trim() || t.defaultListTitle)))) {
      setTitle('');
      navigate({ page: 'list', ref: id });
    }
  };
  const onJoin = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    let id = '';
    if (await join.run(async () => (id = await engine.join(link)))) {
      setLink('');
      navigate({ page: 'list', ref: id });
    }
  };

  const byTitle = [...snapshot.lists].sort(
    (a, b) => a.title.localeCompare(b.title) || (a.listId < b.listId ? -1 : a.listId > b.listId ? 1 : 0),
  );
  const lists = byTitle.filter((l) => !l.deleted);
  const deleted = byTitle.filter((l) => l.deleted);
  return (
    <main className="page" aria-labelledby="lists-heading">
      <h1 id="lists-heading">{t.yourLists}</h1>
      <form className="row-form" onSubmit={(e) => void onCreate(e)} aria-label={t.createList}>
        <label className="visually-hidden" htmlFor="new-list-title">
          {t.newListName}
        </label>
        <input
          id="new-list-title"
          value={title}
          maxLength={limits.titleLengthMax}
          placeholder={t.newListName}
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit" className="primary">
          {t.createList}
        </button>
      </form>
      {create.error !== undefined && (
        <p role="alert" className="error">
          {create.error}
        </p>
      )}

      {lists.length === 0 ? (
        deleted.length === 0 && <p className="empty">{t.noLists}</p>
      ) : (
        <ul className="cards" aria-label={t.listsOnDevice}>
          {lists.map((l) => {
            const view = engine.client.view(l.listId);
            const toBuy = view.items.filter((i) => i.remaining > 0).length;
            return (
              <li key={l.listId} className="card">
                <a href={`#/list/${l.listId}`} className="card-link">
                  <span className="card-title">
                    {l.title || (l.status === 'joining' ? t.sharedList : t.untitled)}
                  </span>
                  <span className="card-meta">
                    {l.status === 'joining' && l.items === 0
                      ? t.waitingForList
                      : t.itemsCount(l.items, toBuy)}
                  </span>
                </a>
                <SyncBadge status={l.status} pending={l.outbox} />
              </li>
            );
          })}
        </ul>
      )}

      <h2 id="join-heading">{t.openShared}</h2>
      <form className="row-form" onSubmit={(e) => void onJoin(e)} aria-labelledby="join-heading">
        <label className="visually-hidden" htmlFor="join-link">
          {t.shareLinkOrId}
        </label>
        <input
          id="join-link"
          value={link}
          placeholder={t.pasteShareLink}
          onChange={(e) => setLink(e.target.value)}
          required
        />
        <button type="submit">{t.open}</button>
      </form>
      {join.error !== undefined && (
        <p role="alert" className="error">
          {join.error}
        </p>
      )}

      {deleted.length > 0 && (
        <>
          <h2>{t.deletedLists}</h2>
          <ul className="cards" aria-label={t.deletedLists}>
            {deleted.map((l) => (
              <li key={l.listId} className="card card-deleted">
                <a href={`#/list/${l.listId}`} className="card-link">
                  <span className="card-title">{l.title || t.untitled}</span>
                  <span className="card-meta">{t.deleted}</span>
                </a>
                <SyncBadge status={l.status} pending={l.outbox} />
              </li>
            ))}
          </ul>
        </>
      )}

      <h2 id="name-heading">{t.yourName}</h2>
      <form className="row-form" onSubmit={onName} aria-labelledby="name-heading">
        <label className="visually-hidden" htmlFor="device-name">
          {t.yourName}
        </label>
        <input
          id="device-name"
          value={name}
          maxLength={limits.deviceNameLengthMax}
          autoComplete="nickname"
          aria-describedby="name-hint"
          onChange={(e) => {
            setName(e.target.value);
            setNameTold(undefined);
          }}
        />
        <button type="submit">{t.save}</button>
      </form>
      <p id="name-hint" className="quiet">
        {nameTold ?? t.yourNameHint}
      </p>
    </main>
  );
}
