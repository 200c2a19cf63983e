// One list: its title, sync badge and share link; add an item with a quantity; each item's row;
// clear what was bought; rename; delete. A list opened by a link it does not have yet is joined
// (that is what following a share link means) and fills in when the cloud answers.
import { useEffect, useRef, useState, type FormEvent } from 'react';
import { limits, parseListId, type ItemView, type ListId } from '@trolley/core';
import { shareLink } from '@trolley/client';
import { navigate, useAction, useEngine, useSnapshot } from '../hooks.ts';
import { appBaseUrl } from '../platform.ts';
import { ItemRow, type ItemActions } from './ItemRow.tsx';
import { SharePanel } from './SharePanel.tsx';
import { SyncBadge } from './SyncBadge.tsx';

function listIdOf(ref: string): ListId | undefined {
  try {
    return parseListId(ref);
  } catch {
    return undefined;
  }
}

export function ListPage({ listRef }: { listRef: string }) {
  const listId = listIdOf(listRef);
  if (listId === undefined)
    return (
      <main className="page">
        <h1>Not a list link</h1>
        <p>
          “{listRef.slice(0, 80)}” is not a Trolley list ID. Check the link you were given, or{' '}
          <a href="#/">go to your lists</a>.
        </p>
      </main>
    );
  return <KnownList listId={listId} />;
}

function KnownList({ listId }: { listId: ListId }) {
  const engine = useEngine();
  const snapshot = useSnapshot();
  const present = snapshot.lists.some((l) => l.listId === listId);
  const { run, error } = useAction();
  const joined = useRef(false);

  useEffect(() => {
    if (present || joined.current) return;
    joined.current = true; // opened from a share link: join it
    void run(() => engine.join(listId));
  }, [present, engine, listId, run]);

  if (!present)
    return (
      <main className="page">
        <p role="status">{error ?? 'Opening the shared list…'}</p>
      </main>
    );
  return <ListBody listId={listId} />;
}

function ListBody({ listId }: { listId: ListId }) {
  const engine = useEngine();
  const snapshot = useSnapshot();
  const client = engine.client;
  const summary = snapshot.lists.find((l) => l.listId === listId);
  const view = client.view(listId);
  const [name, setName] = useState('');
  const [quantity, setQuantity] = useState('1');
  const [sharing, setSharing] = useState(false);
  const [renaming, setRenaming] = useState<string | undefined>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const action = useAction();
  const nameInput = useRef<HTMLInputElement>(null);

  if (summary === undefined) return null;
  const status = summary.status;
  const title = view.title || (status === 'joining' ? 'Shared list' : 'Untitled');

  const onAdd = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    const n = Number(quantity);
    if (await action.run(() => client.addItem(listId, name, Number.isFinite(n) ? n : Number.NaN))) {
      setName('');
      setQuantity('1');
      nameInput.current?.focus();
    }
  };
  const onRename = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (renaming !== undefined && (await action.run(() => client.rename(listId, renaming.trim()))))
      setRenaming(undefined);
  };
  const item = (task: (i: ItemView) => Promise<unknown>) => (i: ItemView) => void action.run(() => task(i));
  const actions: ItemActions = {
    toggle: item((i) => (i.done ? client.uncheck(listId, i.key) : client.checkOff(listId, i.key))),
    more: item((i) => client.increaseWanted(listId, i.key, 1)),
    less: item((i) => client.decreaseWanted(listId, i.key, 1)),
    buy: item((i) => client.buy(listId, i.key, 1)),
    remove: item((i) => client.removeItem(listId, i.key)),
    note: (i, text) => action.run(() => client.setNote(listId, i.key, text)),
  };
  const toBuy = view.items.filter((i) => i.remaining > 0);
  const anyDone = view.items.some((i) => i.done);
  // What is still to buy first, what is done below it; each part in the list's own (name) order.
  const shown = [...view.items.filter((i) => !i.done), ...view.items.filter((i) => i.done)];

  return (
    <main className="page" aria-labelledby="list-title">
      <p className="back">
        <a href="#/">← All lists</a>
      </p>
      <header className="list-header">
        {renaming === undefined ? (
          <h1 id="list-title">{title}</h1>
        ) : (
          <form className="row-form" onSubmit={(e) => void onRename(e)} aria-label="Rename the list">
            <label htmlFor="rename" className="visually-hidden">
              List name
            </label>
            <input
              id="rename"
              value={renaming}
              maxLength={limits.titleLengthMax}
              onChange={(e) => setRenaming(e.target.value)}
              autoFocus
            />
            <button type="submit" className="primary">
              Save
            </button>
            <button type="button" onClick={() => setRenaming(undefined)}>
              Cancel
            </button>
          </form>
        )}
        <SyncBadge status={status} pending={summary.outbox} />
      </header>

      <div className="toolbar">
        <button type="button" onClick={() => setSharing(!sharing)} aria-expanded={sharing}>
          Share
        </button>
        <button type="button" onClick={() => setRenaming(view.title)}>
          Rename
        </button>
        {!view.deleted && (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            Delete list
          </button>
        )}
      </div>

      {confirmDelete && (
        <div className="confirm" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">Delete “{title}” for everyone who has the link?</p>
          <button
            type="button"
            className="danger"
            onClick={() =>
              void action.run(async () => {
                await client.deleteList(listId);
                setConfirmDelete(false);
                navigate({ page: 'lists' });
              })
            }
          >
            Delete
          </button>
          <button type="button" onClick={() => setConfirmDelete(false)} autoFocus>
            Keep it
          </button>
        </div>
      )}

      {sharing && <SharePanel link={shareLink(listId, appBaseUrl())} onClose={() => setSharing(false)} />}

      {view.deleted && (
        <div className="notice" role="status">
          <p>This list was deleted. Adding an item brings it back for everyone.</p>
          {summary.outbox > 0 ? (
            <p className="quiet">
              This device still has changes of this list to send; it can be removed from here once they are
              saved in the cloud.
            </p>
          ) : (
            <button
              type="button"
              onClick={() =>
                void action.run(async () => {
                  await engine.forget(listId);
                  navigate({ page: 'lists' });
                })
              }
            >
              Remove from this device
            </button>
          )}
        </div>
      )}

      <form className="add-form" onSubmit={(e) => void onAdd(e)} aria-label="Add an item">
        <label htmlFor="item-name" className="visually-hidden">
          Item
        </label>
        <input
          id="item-name"
          ref={nameInput}
          value={name}
          maxLength={limits.itemNameLengthMax}
          placeholder="Add an item"
          onChange={(e) => setName(e.target.value)}
          required
        />
        <label htmlFor="item-quantity" className="visually-hidden">
          Quantity
        </label>
        <input
          id="item-quantity"
          className="quantity"
          type="number"
          inputMode="numeric"
          min={1}
          max={limits.quantityMax}
          value={quantity}
          onChange={(e) => setQuantity(e.target.value)}
        />
        <button type="submit" className="primary">
          Add
        </button>
      </form>
      {action.error !== undefined && (
        <p role="alert" className="error">
          {action.error}
        </p>
      )}

      {view.items.length === 0 ? (
        <p className="empty">
          {status !== 'joining'
            ? 'Nothing on this list yet.'
            : summary.lastSyncMs === 0
              ? 'Waiting for the list to arrive…'
              : 'The cloud has nothing under this link yet. Check the link, or ask whoever shared it ' +
                'to open the list once while online. Anything you add here will be shared.'}
        </p>
      ) : (
        <>
          <p className="summary" aria-live="polite">
            {toBuy.length === 0
              ? 'Everything is bought.'
              : `${toBuy.length} of ${view.items.length} still to buy`}
          </p>
          <ul className="items" aria-label="Items">
            {shown.map((i) => (
              <ItemRow key={i.key} item={i} actions={actions} />
            ))}
          </ul>
        </>
      )}
      {anyDone && (
        <button type="button" onClick={() => void action.run(() => client.clearBought(listId))}>
          Clear bought items
        </button>
      )}
    </main>
  );
}
