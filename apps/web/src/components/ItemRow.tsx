// One item: check it off, change how many are wanted, record units bought, remove it, add a note
// ("the big tin"). Every button names its item for screen readers; quantities are said plainly
// ("bought 2 of 1").
import { useId, useState, type FormEvent } from 'react';
import { limits, type ItemView } from '@trolley/core';
import { itemState } from '@trolley/client';

export interface ItemActions {
  toggle: (item: ItemView) => void;
  more: (item: ItemView) => void;
  less: (item: ItemView) => void;
  buy: (item: ItemView) => void;
  remove: (item: ItemView) => void;
  /** Sets the item's note ('' clears it); resolves whether it was saved. */
  note: (item: ItemView, text: string) => Promise<boolean>;
}

export function quantityText(item: ItemView): string {
  return item.bought === 0 ? `${item.wanted} to buy` : itemState(item);
}

export function ItemRow({ item, actions }: { item: ItemView; actions: ItemActions }) {
  const id = useId();
  const [note, setNote] = useState<string | undefined>(); // the note being edited, if any
  const hasNote = item.note !== undefined && item.note !== '';
  const saveNote = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    if (note !== undefined && (await actions.note(item, note.trim()))) setNote(undefined);
  };
  const classes = ['item', item.done ? 'done' : '', item.overBought ? 'over' : ''].join(' ').trim();
  return (
    <li className={classes} data-item={item.key}>
      <input
        id={id}
        type="checkbox"
        className="check"
        checked={item.done}
        onChange={() => actions.toggle(item)}
        aria-describedby={`${id}-qty`}
      />
      <div className="item-main">
        <label htmlFor={id} className="item-name">
          {item.name}
        </label>
        <span id={`${id}-qty`} className="item-qty" data-testid="quantity">
          {quantityText(item)}
        </span>
        {note === undefined ? (
          <span className="item-note-line">
            {hasNote && <span className="item-note">{item.note}</span>}
            <button
              type="button"
              className="link"
              onClick={() => setNote(item.note ?? '')}
              aria-label={hasNote ? `Edit note for ${item.name}` : `Add note to ${item.name}`}
            >
              {hasNote ? 'Edit note' : 'Add note'}
            </button>
          </span>
        ) : (
          <form className="note-form" onSubmit={(e) => void saveNote(e)}>
            <label htmlFor={`${id}-note`} className="visually-hidden">
              Note for {item.name}
            </label>
            <input
              id={`${id}-note`}
              value={note}
              maxLength={limits.noteLengthMax}
              placeholder="e.g. the big tin"
              onChange={(e) => setNote(e.target.value)}
              autoFocus
            />
            <button type="submit" aria-label={`Save note for ${item.name}`}>
              Save
            </button>
            <button
              type="button"
              onClick={() => setNote(undefined)}
              aria-label={`Cancel note for ${item.name}`}
            >
              Cancel
            </button>
          </form>
        )}
      </div>
      <div className="item-actions" role="group" aria-label={`Change ${item.name}`}>
        <button
          type="button"
          onClick={() => actions.less(item)}
          aria-label={`One fewer ${item.name}`}
          disabled={item.wanted === 0}
        >
          −
        </button>
        <span className="wanted" aria-hidden="true">
          {item.wanted}
        </span>
        <button type="button" onClick={() => actions.more(item)} aria-label={`One more ${item.name}`}>
          +
        </button>
        <button type="button" onClick={() => actions.buy(item)} aria-label={`Bought 1 ${item.name}`}>
          Bought 1
        </button>
        <button
          type="button"
          className="danger"
          onClick={() => actions.remove(item)}
          aria-label={`Remove ${item.name}`}
        >
          ✕
        </button>
      </div>
    </li>
  );
}
