// One item on one line: a wide button that checks it off (or back on), showing its name and what
// is left to buy, and a "more" button that opens the rest one tap away: fewer, more, bought one,
// the note, remove. Every control names its item for screen readers. On a touch screen the line
// can also be swiped: right checks it off (or back on), left removes it (swipe.ts).
import { useId, useState, type FormEvent } from 'react';
import { limits, type ItemView } from '@trolley/core';
import { aisles, isAisle, type Aisle } from '@trolley/client';
import { t } from '../strings.ts';
import { useSwipe } from './swipe.ts';

export interface ItemActions {
  toggle: (item: ItemView) => void;
  more: (item: ItemView) => void;
  less: (item: ItemView) => void;
  buy: (item: ItemView) => void;
  remove: (item: ItemView) => void;
  /** Sets the item's note ('' clears it); resolves whether it was saved. */
  note: (item: ItemView, text: string) => Promise<boolean>;
  /** The aisle the item is in (this device's choice, else the guess), and choosing another. */
  aisleOf: (item: ItemView) => Aisle;
  setAisle: (item: ItemView, aisle: Aisle) => void;
}

/** What is left, in a shopper's words: "2 to buy", "bought", "1 of 3 bought", "3 bought, 2 wanted". */
export function quantityText(item: ItemView): string {
  if (item.overBought) return t.overBought(item.bought, item.wanted);
  if (item.done) return t.doneLabel;
  if (item.bought === 0) return t.toBuy(item.wanted);
  return t.boughtOf(item.bought, item.wanted);
}

export function ItemRow({ item, actions }: { item: ItemView; actions: ItemActions }) {
  const id = useId();
  const [open, setOpen] = useState(false);
  const [note, setNote] = useState<string | undefined>(); // the note being edited, if any
  const hasNote = item.note !== undefined && item.note !== '';
  const saveNote = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (note !== undefined && (await actions.note(item, note.trim()))) setNote(undefined);
  };
  const swipe = useSwipe((side) => (side === 'right' ? actions.toggle(item) : actions.remove(item)));
  const classes = ['item', item.done ? 'done' : '', item.overBought ? 'over' : '', open ? 'open' : '']
    .join(' ')
    .trim();
  return (
    <li className={classes} data-item={item.key} ref={swipe.row}>
      <div className="item-track">
        <div className="swipe-hint" aria-hidden="true">
          <span className="swipe-right">{item.done ? t.swipeUncheck : t.swipeCheck}</span>
          <span className="swipe-left">{t.removeShort}</span>
        </div>
        <div className="item-line" ref={swipe.line} {...swipe.handlers}>
          <button
            type="button"
            className="tick"
            role="checkbox"
            aria-checked={item.done}
            aria-label={item.name}
            aria-describedby={`${id}-qty`}
            onClick={() => actions.toggle(item)}
          >
            <span className="tick-box" aria-hidden="true" />
            <span className="item-name">{item.name}</span>
            {hasNote && !open && (
              <span className="item-note-hint" aria-hidden="true">
                {item.note}
              </span>
            )}
            <span id={`${id}-qty`} className="item-qty" data-testid="quantity">
              {quantityText(item)}
            </span>
          </button>
          <button
            type="button"
            className="item-more"
            aria-expanded={open}
            aria-controls={`${id}-panel`}
            aria-label={t.moreFor(item.name)}
            onClick={() => setOpen(!open)}
          >
            <span aria-hidden="true">⋯</span>
          </button>
        </div>
      </div>
      {open && (
        <div id={`${id}-panel`} className="item-panel">
          <div className="item-actions" role="group" aria-label={t.changeItem(item.name)}>
            <button
              type="button"
              onClick={() => actions.less(item)}
              aria-label={t.oneFewer(item.name)}
              disabled={item.wanted === 0}
            >
              −
            </button>
            <span className="wanted">
              <span className="visually-hidden">{t.wantedCount(item.name)} </span>
              {item.wanted}
            </span>
            <button type="button" onClick={() => actions.more(item)} aria-label={t.oneMore(item.name)}>
              +
            </button>
            {!item.done && (
              <button type="button" onClick={() => actions.buy(item)} aria-label={t.boughtOne(item.name)}>
                {t.boughtOneShort}
              </button>
            )}
            <button
              type="button"
              className="danger push-right"
              onClick={() => actions.remove(item)}
              aria-label={t.remove(item.name)}
            >
              {t.removeShort}
            </button>
          </div>
          <p className="item-aisle-line">
            <label htmlFor={`${id}-aisle`}>{t.aisleShort}</label>{' '}
            <select
              id={`${id}-aisle`}
              aria-label={t.aisleOf(item.name)}
              value={actions.aisleOf(item)}
              onChange={(e) => {
                if (isAisle(e.target.value)) actions.setAisle(item, e.target.value);
              }}
            >
              {aisles.map((a) => (
                <option key={a} value={a}>
                  {t.aisle[a]}
                </option>
              ))}
            </select>
          </p>
          {note === undefined ? (
            <p className="item-note-line">
              {hasNote && <span className="item-note">{item.note}</span>}
              <button
                type="button"
                className="link"
                onClick={() => setNote(item.note ?? '')}
                aria-label={hasNote ? t.editNote(item.name) : t.addNote(item.name)}
              >
                {hasNote ? t.editNoteShort : t.addNoteShort}
              </button>
            </p>
          ) : (
            <form className="note-form" onSubmit={(e) => void saveNote(e)}>
              <label htmlFor={`${id}-note`} className="visually-hidden">
                {t.noteFor(item.name)}
              </label>
              <input
                id={`${id}-note`}
                value={note}
                maxLength={limits.noteLengthMax}
                placeholder={t.notePlaceholder}
                onChange={(e) => setNote(e.target.value)}
                autoFocus
              />
              <span className="note-buttons">
                <button type="submit" aria-label={t.saveNote(item.name)}>
                  {t.save}
                </button>
                <button type="button" onClick={() => setNote(undefined)} aria-label={t.cancelNote(item.name)}>
                  {t.cancel}
                </button>
              </span>
            </form>
          )}
        </div>
      )}
    </li>
  );
}
