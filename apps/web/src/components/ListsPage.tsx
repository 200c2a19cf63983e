// The lists on this device: create one, open a shared one by its link, and each list with its
// progress and sync badge.
import { useState, type FormEvent } from 'react';
import { limits } from '@trolley/core';
import { navigate, useAction, useEngine, useSnapshot } from '../hooks.ts';
import { SyncBadge } from './SyncBadge.tsx';

export function ListsPage() {
  const engine = useEngine();
  const snapshot = useSnapshot();
  const [title, setTitle] = useState('');
  const [link, setLink] = useState('');
  const create = useAction();
  const join = useAction();

  const onCreate = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    let id = '';
    if (await create.run(async () => (id = await engine.createList(title.trim() || 'Shopping')))) {
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
      <h1 id="lists-heading">Your lists</h1>
      <form className="row-form" onSubmit={(e) => void onCreate(e)} aria-label="Create a list">
        <label className="visually-hidden" htmlFor="new-list-title">
          New list name
        </label>
        <input
          id="new-list-title"
          value={title}
          maxLength={limits.titleLengthMax}
          placeholder="New list name"
          onChange={(e) => setTitle(e.target.value)}
        />
        <button type="submit" className="primary">
          Create list
        </button>
      </form>
      {create.error !== undefined && (
        <p role="alert" className="error">
          {create.error}
        </p>
      )}

      {lists.length === 0 ? (
        <p className="empty">No lists yet. Create one, or open a list someone shared with you.</p>
      ) : (
        <ul className="cards" aria-label="Lists on this device">
          {lists.map((l) => {
            const view = engine.client.view(l.listId);
            const toBuy = view.items.filter((i) => i.remaining > 0).length;
            return (
              <li key={l.listId} className="card">
                <a href={`#/list/${l.listId}`} className="card-link">
                  <span className="card-title">
                    {l.title || (l.status === 'joining' ? 'Shared list' : 'Untitled')}
                  </span>
                  <span className="card-meta">
                    {l.items} {l.items === 1 ? 'item' : 'items'}, {toBuy} to buy
                  </span>
                </a>
                <SyncBadge status={l.status} pending={l.outbox} />
              </li>
            );
          })}
        </ul>
      )}

      <h2 id="join-heading">Open a shared list</h2>
      <form className="row-form" onSubmit={(e) => void onJoin(e)} aria-labelledby="join-heading">
        <label className="visually-hidden" htmlFor="join-link">
          Share link or list ID
        </label>
        <input
          id="join-link"
          value={link}
          placeholder="Paste a share link"
          onChange={(e) => setLink(e.target.value)}
          required
        />
        <button type="submit">Open</button>
      </form>
      {join.error !== undefined && (
        <p role="alert" className="error">
          {join.error}
        </p>
      )}

      {deleted.length > 0 && (
        <>
          <h2>Deleted lists</h2>
          <ul className="cards" aria-label="Deleted lists">
            {deleted.map((l) => (
              <li key={l.listId} className="card card-deleted">
                <a href={`#/list/${l.listId}`} className="card-link">
                  <span className="card-title">{l.title || 'Untitled'}</span>
                  <span className="card-meta">deleted</span>
                </a>
                <SyncBadge status={l.status} pending={l.outbox} />
              </li>
            ))}
          </ul>
        </>
      )}
    </main>
  );
}
