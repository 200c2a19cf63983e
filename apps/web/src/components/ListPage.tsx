// One list: its title, sync badge and share link; a search box; one line per item; the add box at
// the bottom, within thumb reach, reading "2 bananas" as two and suggesting names this device has
// added before; "Buy again" for what was cleared; rename; delete. Everything destructive offers
// Undo. A list opened by a link it does not have yet is joined (that is what following a share
// link means) and fills in when the cloud answers.
import { useEffect, useMemo, useRef, useState, type FormEvent } from 'react';
import { limits, normaliseName, parseListId, type ItemView, type ListId } from '@trolley/core';
import {
  groupByAisle,
  isAisle,
  itemAisle,
  learntAisleOrder,
  parseItemEntry,
  shareLink,
  type Aisle,
} from '@trolley/client';
import { navigate, useAction, useEngine, usePublicBase, useSnapshot, useUndo } from '../hooks.ts';
import {
  aisleLearning,
  aisleOverrides,
  buyAgain,
  forgetAgain,
  groupedByAisle,
  learnAisleCheckOff,
  ownAisleOrder,
  recentNames,
  rememberCleared,
  rememberName,
  saveAisleOrder,
  saveAisleOverride,
  setGroupedByAisle,
} from '../history.ts';
import { appBaseUrl } from '../platform.ts';
import { t } from '../strings.ts';
import { HistoryPanel } from './HistoryPanel.tsx';
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
        <h1>{t.notAListTitle}</h1>
        <p>
          {t.notAList(listRef.slice(0, 80))}
          <a href="#/">{t.goToLists}</a>.
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
        <p role="status">{error ?? t.openingShared}</p>
      </main>
    );
  return <ListBody listId={listId} />;
}

function ListBody({ listId }: { listId: ListId }) {
  const engine = useEngine();
  const snapshot = useSnapshot();
  const offerUndo = useUndo();
  const client = engine.client;
  const summary = snapshot.lists.find((l) => l.listId === listId);
  const view = client.view(listId);
  const [name, setName] = useState('');
  const [told, setTold] = useState<string | undefined>(); // what the last add did
  const [query, setQuery] = useState('');
  const [byAisle, setByAisle] = useState(groupedByAisle);
  // The store order: the person's own once they dragged one, else the one learnt from check-offs.
  const [own, setOwn] = useState(ownAisleOrder);
  const [learning, setLearning] = useState(aisleLearning);
  const [overrides, setOverrides] = useState(aisleOverrides);
  const [dragged, setDragged] = useState<Aisle | undefined>();
  const [sharing, setSharing] = useState(false);
  const [showHistory, setShowHistory] = useState(false);
  const [renaming, setRenaming] = useState<string | undefined>();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const action = useAction();
  const nameInput = useRef<HTMLInputElement>(null);
  const publicBase = usePublicBase(sharing);
  // Suggestions: what was cleared from this list, then what this device added anywhere, minus what
  // the list holds now. Read again after each change of the list.
  const onList = useMemo(() => new Set(view.items.map((i) => i.key)), [view]);
  const again = useMemo(
    () => buyAgain(listId).filter((a) => !onList.has(normaliseName(a.name))),
    [listId, onList],
  );
  const suggestions = useMemo(() => {
    const seen = new Set(onList);
    const out: string[] = [];
    for (const n of [...again.map((a) => a.name), ...recentNames()]) {
      const key = normaliseName(n);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(n);
    }
    return out;
  }, [again, onList]);

  if (summary === undefined) return null;
  const status = summary.status;
  const joining = status === 'joining';
  const title = view.title || (joining ? t.sharedList : t.untitled);

  const add = async (typed: string, fixed?: number): Promise<boolean> => {
    let said = '';
    const ok = await action.run(async () => {
      const entry = parseItemEntry(typed);
      if (entry.name === '') throw new Error(t.typeSomething);
      const quantity = fixed ?? entry.quantity;
      const existing = client.item(listId, entry.name);
      if (existing === undefined) {
        await client.addItem(listId, entry.name, quantity);
        said = t.added(entry.name, quantity);
      } else {
        // Already there: added under the name everyone sees, so nobody's spelling changes (an add
        // re-asserts its name, so it also survives a removal made at the same time elsewhere).
        await client.addItem(listId, existing.name, quantity);
        said = t.alreadyOnList(existing.name, client.item(listId, existing.key)?.wanted ?? quantity);
      }
      rememberName(existing?.name ?? entry.name);
      forgetAgain(listId, entry.name);
    });
    setTold(ok ? said : undefined);
    return ok;
  };
  const onAdd = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (name.trim() === '') {
      action.fail(t.typeSomething);
      return;
    }
    const submitted = name;
    if (await add(submitted)) {
      // Someone typing fast may have started the next item already: keep what they typed.
      setName((current) => (current === submitted ? '' : current));
      nameInput.current?.focus();
    }
  };
  const onRename = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (renaming !== undefined && (await action.run(() => client.rename(listId, renaming.trim()))))
      setRenaming(undefined);
  };
  const item = (task: (i: ItemView) => Promise<unknown>) => (i: ItemView) => {
    setTold(undefined);
    void action.run(() => task(i));
  };
  const aisleOfItem = (i: ItemView): Aisle => itemAisle(i.name, overrides);
  /** Something of `i` went into the trolley: where it was tells the order the shop is walked in. */
  const learnFrom = (i: ItemView): void => setLearning(learnAisleCheckOff(aisleOfItem(i)));
  const actions: ItemActions = {
    toggle: item(async (i) => {
      if (i.done) {
        await client.uncheck(listId, i.key);
        offerUndo({ message: t.unchecked(i.name), undo: () => client.buy(listId, i.key, i.bought) });
      } else {
        const units = i.remaining;
        await client.checkOff(listId, i.key);
        learnFrom(i);
        if (units > 0)
          offerUndo({ message: t.checkedOff(i.name), undo: () => client.unbuy(listId, i.key, units) });
      }
    }),
    more: item((i) => client.increaseWanted(listId, i.key, 1)),
    less: item((i) => client.decreaseWanted(listId, i.key, 1)),
    buy: item(async (i) => {
      await client.buy(listId, i.key, 1);
      learnFrom(i);
    }),
    remove: item(async (i) => {
      await client.removeItem(listId, i.key);
      offerUndo({ message: t.removed(i.name), undo: () => client.restoreItems(listId, [i]) });
    }),
    note: (i, text) => action.run(() => client.setNote(listId, i.key, text)),
    aisleOf: aisleOfItem,
    setAisle: (i, a) => {
      saveAisleOverride(i.name, a);
      setOverrides(aisleOverrides());
    },
  };
  const order = own ?? learntAisleOrder(learning, Date.now());
  /** Puts `moved` at place `to` in the store order: from now on the person's own (kept here). */
  const reorder = (moved: Aisle, to: number): void => {
    const rest = order.filter((a) => a !== moved);
    const next = [...rest.slice(0, to), moved, ...rest.slice(to)];
    saveAisleOrder(next);
    setOwn(next);
  };
  const backToLearnt = (): void => {
    saveAisleOrder(undefined);
    setOwn(undefined);
  };
  const clearBought = (): void =>
    void action.run(async () => {
      const done = client.view(listId).items.filter((i) => i.done);
      await client.clearBought(listId);
      rememberCleared(listId, done);
      offerUndo({ message: t.cleared(done.length), undo: () => client.restoreItems(listId, done) });
    });
  const deleteList = (): void =>
    void action.run(async () => {
      const before = client.view(listId);
      await client.deleteList(listId);
      setConfirmDelete(false);
      navigate({ page: 'lists' });
      offerUndo({
        message: t.listDeleted(title),
        undo: () => client.restoreItems(listId, before.items, before.title),
      });
    });
  const forget = (): void =>
    void action.run(async () => {
      await engine.forget(listId);
      navigate({ page: 'lists' });
    });

  const toBuy = view.items.filter((i) => i.remaining > 0);
  const anyDone = view.items.some((i) => i.done);
  const wanted = normaliseName(query);
  const matching = wanted === '' ? view.items : view.items.filter((i) => i.key.includes(wanted));
  // What is still to buy first, what is done below it; each part in the list's own (name) order.
  const shown = [...matching.filter((i) => !i.done), ...matching.filter((i) => i.done)];
  // By aisle: what is to buy under each aisle in store order, then what is in the trolley.
  const walk = groupByAisle(matching, order, overrides);
  const groups: { aisle?: Aisle; label: string; items: ItemView[] }[] = byAisle
    ? [
        ...walk.toBuy.map((g) => ({ ...g, label: t.aisle[g.aisle] })),
        { label: t.inTrolley, items: walk.done },
      ].filter((g) => g.items.length > 0)
    : [{ label: t.items, items: shown }];
  const shownAisles = groups.flatMap((g) => (g.aisle === undefined ? [] : [g.aisle]));
  /** Moves an aisle one place among those shown (up: -1), in the whole store order. */
  const step = (a: Aisle, by: -1 | 1): void => {
    const next = shownAisles[shownAisles.indexOf(a) + by];
    if (next === undefined) return;
    const at = order.filter((x) => x !== a).indexOf(next);
    reorder(a, by < 0 ? at : at + 1);
  };

  return (
    <main className="page list-page" aria-labelledby="list-title">
      <p className="back">
        <a href="#/">{t.backToLists}</a>
      </p>
      <header className="list-header">
        {renaming === undefined ? (
          <h1 id="list-title">{title}</h1>
        ) : (
          <form className="row-form" onSubmit={(e) => void onRename(e)} aria-label={t.rename}>
            <label htmlFor="rename" className="visually-hidden">
              {t.listName}
            </label>
            <input
              id="rename"
              value={renaming}
              maxLength={limits.titleLengthMax}
              onChange={(e) => setRenaming(e.target.value)}
              autoFocus
            />
            <button type="submit" className="primary">
              {t.save}
            </button>
            <button type="button" onClick={() => setRenaming(undefined)}>
              {t.cancel}
            </button>
          </form>
        )}
        <SyncBadge status={status} pending={summary.outbox} />
      </header>

      <div className="toolbar">
        <button type="button" onClick={() => setSharing(!sharing)} aria-expanded={sharing}>
          {t.share}
        </button>
        <button type="button" onClick={() => setRenaming(view.title)}>
          {t.rename}
        </button>

        {!view.deleted && !joining && (
          <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
            {t.deleteList}
          </button>
        )}
      </div>

      {confirmDelete && (
        <div className="confirm" role="alertdialog" aria-labelledby="confirm-text">
          <p id="confirm-text">{t.confirmDelete(title)}</p>
          <button type="button" className="danger" onClick={deleteList}>
            {t.delete}
          </button>
          <button type="button" onClick={() => setConfirmDelete(false)} autoFocus>
            {t.keepIt}
          </button>
        </div>
      )}

      {sharing && (
        <SharePanel link={shareLink(listId, publicBase ?? appBaseUrl())} onClose={() => setSharing(false)} />
      )}

      {view.deleted && (
        <div className="notice" role="status">
          <p>{t.listDeletedNotice}</p>
          {summary.outbox > 0 ? (
            <p className="quiet">{t.stillSending}</p>
          ) : (
            <button type="button" onClick={forget}>
              {t.removeFromDevice}
            </button>
          )}
        </div>
      )}

      {view.items.length === 0 ? (
        <div className="empty">
          <p>{!joining ? t.nothingYet : summary.lastSyncMs === 0 ? t.waitingToArrive : t.nothingUnderLink}</p>
          {joining && summary.outbox === 0 && (
            <p>
              {t.wrongLinkHint}{' '}
              <button type="button" onClick={forget}>
                {t.removeFromDevice}
              </button>
            </p>
          )}
        </div>
      ) : (
        <>
          <div className="search">
            <label htmlFor="search" className="visually-hidden">
              {t.search}
            </label>
            <input
              id="search"
              type="search"
              value={query}
              placeholder={t.searchPlaceholder}
              onChange={(e) => setQuery(e.target.value)}
            />
            <button
              type="button"
              className="toggle"
              aria-pressed={byAisle}
              onClick={() => {
                setGroupedByAisle(!byAisle);
                setByAisle(!byAisle);
              }}
            >
              {t.byAisle}
            </button>
            <p className="summary" aria-live="polite">
              {toBuy.length === 0 ? t.allBought : t.stillToBuy(toBuy.length, view.items.length)}
            </p>
          </div>
          {shown.length === 0 && <p className="empty">{t.noMatch(query.trim())}</p>}
          {byAisle && shownAisles.length > 1 && (
            <p className="quiet">
              {own === undefined ? t.aisleLearntHint : t.aisleOrderHint}{' '}
              {own !== undefined && (
                <button type="button" className="link" onClick={backToLearnt}>
                  {t.useLearntOrder}
                </button>
              )}
            </p>
          )}
          {groups.map((g) => (
            <section key={g.label} className="group" aria-label={byAisle ? g.label : undefined}>
              {byAisle && g.aisle === undefined && <h2 className="aisle">{g.label}</h2>}
              {byAisle && g.aisle !== undefined && (
                <div
                  className={`aisle-head${dragged === g.aisle ? ' dragging' : ''}`}
                  draggable
                  data-aisle={g.aisle}
                  onDragStart={(e) => {
                    e.dataTransfer.effectAllowed = 'move';
                    e.dataTransfer.setData('text/plain', g.aisle ?? '');
                    setDragged(g.aisle);
                  }}
                  onDragEnd={() => setDragged(undefined)}
                  onDragOver={(e) => e.preventDefault()}
                  onDrop={(e) => {
                    e.preventDefault();
                    const moved = e.dataTransfer.getData('text/plain');
                    if (g.aisle === undefined || !isAisle(moved) || moved === g.aisle) return;
                    reorder(moved, order.filter((x) => x !== moved).indexOf(g.aisle));
                    setDragged(undefined);
                  }}
                >
                  <h2 className="aisle">{g.label}</h2>
                  {shownAisles.length > 1 && (
                    <span className="aisle-move">
                      <button
                        type="button"
                        aria-label={t.moveAisleUp(g.label)}
                        disabled={shownAisles[0] === g.aisle}
                        onClick={() => g.aisle !== undefined && step(g.aisle, -1)}
                      >
                        ↑
                      </button>
                      <button
                        type="button"
                        aria-label={t.moveAisleDown(g.label)}
                        disabled={shownAisles.at(-1) === g.aisle}
                        onClick={() => g.aisle !== undefined && step(g.aisle, 1)}
                      >
                        ↓
                      </button>
                    </span>
                  )}
                </div>
              )}
              <ul className="items" aria-label={g.label}>
                {g.items.map((i) => (
                  <ItemRow key={i.key} item={i} actions={actions} />
                ))}
              </ul>
            </section>
          ))}
        </>
      )}
      {anyDone && (
        <button type="button" onClick={clearBought}>
          {t.clearBought}
        </button>
      )}
      {again.length > 0 && (
        <section className="again" aria-labelledby="again-heading">
          <h2 id="again-heading">{t.buyAgain}</h2>
          <div className="chips">
            {again.map((a) => (
              <button
                key={a.name}
                type="button"
                className="chip"
                aria-label={t.buyAgainItem(a.name)}
                onClick={() => void add(a.name, a.wanted)}
              >
                + {a.name}
              </button>
            ))}
          </div>
        </section>
      )}

      <p className="history-toggle">
        <button type="button" onClick={() => setShowHistory(!showHistory)} aria-expanded={showHistory}>
          {t.history}
        </button>
      </p>
      {showHistory && <HistoryPanel listId={listId} entries={client.history(listId)} />}

      <div className="add-dock">
        {(action.error !== undefined || told !== undefined) && (
          <p
            role={action.error !== undefined ? 'alert' : 'status'}
            className={action.error ? 'error' : 'told'}
          >
            {action.error ?? told}
          </p>
        )}
        <form className="add-form" onSubmit={(e) => void onAdd(e)} aria-label={t.addForm}>
          <label htmlFor="item-name" className="visually-hidden">
            {t.addItem}
          </label>
          <input
            id="item-name"
            ref={nameInput}
            value={name}
            maxLength={limits.itemNameLengthMax + 16}
            placeholder={t.addPlaceholder}
            list="item-suggestions"
            autoComplete="off"
            enterKeyHint="done"
            onChange={(e) => {
              setName(e.target.value);
              action.clear();
              setTold(undefined);
            }}
          />
          <datalist id="item-suggestions">
            {suggestions.map((n) => (
              <option key={n} value={n} />
            ))}
          </datalist>
          <button type="submit" className="primary">
            {t.add}
          </button>
        </form>
      </div>
    </main>
  );
}
