// A list's history: who did what and when ("Ana bought 2 × Milk · 14:02"), newest first. It
// travels with the list (core journal.ts), so everyone sharing it sees everyone's names. A removal,
// a clearing of bought items or a deletion of the list can be brought back from here, with its
// items: the client's restoreItems, a new change that keeps whatever others did meanwhile.
import { useState } from 'react';
import { canBringBack, historyWhat, historyWhen, type HistoryItem } from '@trolley/client';
import type { ListId } from '@trolley/core';
import { useAction, useEngine } from '../hooks.ts';
import { t } from '../strings.ts';

export function HistoryPanel({ listId, entries }: { listId: ListId; entries: readonly HistoryItem[] }) {
  const client = useEngine().client;
  const action = useAction();
  const [told, setTold] = useState(false);
  const now = Date.now();
  const bringBack = (e: HistoryItem): void =>
    void action
      .run(() => client.restoreItems(listId, e.items, e.kind === 'delete' ? e.name : undefined))
      .then(setTold);
  return (
    <section className="history" aria-labelledby="history-heading">
      <h2 id="history-heading">{t.historyTitle}</h2>
      {entries.length === 0 ? (
        <p className="quiet">{t.noHistory}</p>
      ) : (
        <ol className="history-list">
          {entries.map((e) => {
            const what = historyWhat(e, t.historyWords);
            return (
              <li key={`${e.replica}:${e.seq}`} className="history-entry">
                <span className="history-what">
                  {what} <span className="quiet">· {historyWhen(e.atMs, now, t.lang)}</span>
                </span>
                {canBringBack(e) && (
                  <button type="button" onClick={() => bringBack(e)} aria-label={t.bringBackWhat(what)}>
                    {t.bringBack}
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      )}
      {action.error !== undefined ? (
        <p role="alert" className="error">
          {action.error}
        </p>
      ) : (
        told && (
          <p role="status" className="told">
            {t.broughtBack}
          </p>
        )
      )}
    </section>
  );
}
