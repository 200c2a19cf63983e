// One item: check it off, change how many are wanted, record units bought, remove it. Every button
// names its item for screen readers; quantities are said plainly ("bought 2 of 1").
import type { ItemView } from '@trolley/core';
import { itemState } from '@trolley/client';

export interface ItemActions {
  toggle: (item: ItemView) => void;
  more: (item: ItemView) => void;
  less: (item: ItemView) => void;
  buy: (item: ItemView) => void;
  remove: (item: ItemView) => void;
}

export function quantityText(item: ItemView): string {
  return item.bought === 0 ? `${item.wanted} to buy` : itemState(item);
}

export function ItemRow({ item, actions }: { item: ItemView; actions: ItemActions }) {
  const id = `item-${item.key.replace(/[^a-z0-9]/gi, '_')}`;
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
        {item.note !== undefined && item.note !== '' && <span className="item-note">{item.note}</span>}
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
