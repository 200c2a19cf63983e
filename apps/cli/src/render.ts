// How lists, items and sync states read, in a terminal and as JSON, the same everywhere (list show,
// watch, the menu). Quantities are said plainly: "bought 2 of 1", never a silent 1. Statuses use
// the promises a person sees (DESIGN.md §1): local (only on this device), cloud-ok (written to W
// replicas), all replicas (on every one of the N).

import type { ItemView, ListId, ListView } from '@trolley/core';
import { englishAisleNames, itemState, type AisleGroups, type ListStatus } from '@trolley/client';
import { shownAddresses } from './globals.ts';
import type { SyncOutcome } from './home.ts';

/** The status as a person reads it. */
export function statusText(status: ListStatus): string {
  switch (status) {
    case 'local':
      return 'local';
    case 'joining':
      return 'joining';
    case 'cloud':
      return 'cloud-ok';
    case 'all-replicas':
      return 'all replicas';
  }
}

/** The status in JSON documents. */
export function statusJson(status: ListStatus): 'local' | 'joining' | 'cloud-ok' | 'all-replicas' {
  return status === 'cloud' ? 'cloud-ok' : status;
}

export interface ItemJson {
  name: string;
  key: string;
  wanted: number;
  bought: number;
  remaining: number;
  done: boolean;
  overBought: boolean;
  note: string | null;
}

export function itemJson(item: ItemView): ItemJson {
  return {
    name: item.name,
    key: item.key,
    wanted: item.wanted,
    bought: item.bought,
    remaining: item.remaining,
    done: item.done,
    overBought: item.overBought,
    note: item.note ?? null,
  };
}

export interface ListJson {
  id: ListId;
  title: string;
  deleted: boolean;
  status: ReturnType<typeof statusJson>;
  /** Changes waiting on this device to be cloud-ok. */
  outbox: number;
  items: ItemJson[];
}

export function listJson(id: ListId, view: ListView, status: ListStatus, outbox: number): ListJson {
  return {
    id,
    title: view.title,
    deleted: view.deleted,
    status: statusJson(status),
    outbox,
    items: view.items.map(itemJson),
  };
}

/** "3 waiting to sync" / "nothing waiting". */
export function waiting(outbox: number): string {
  return outbox === 0
    ? 'nothing waiting to sync'
    : `${outbox} change${outbox === 1 ? '' : 's'} waiting to sync`;
}

/** The title a person reads; a joined list the cloud has not sent yet has none. */
export function titleOf(view: ListView, status: ListStatus): string {
  if (view.title !== '') return view.title;
  return status === 'joining' ? '(joined; waiting for the cloud to send it)' : '(untitled)';
}

/** A list as `list show` prints it; with `byAisle`, what is left under aisle headings, then what is done. */
export function renderList(
  id: ListId,
  view: ListView,
  status: ListStatus,
  outbox: number,
  /** How fresh the view is ("as of 5 min ago …"), when the caller knows. */
  freshness?: string,
  byAisle?: AisleGroups<ItemView>,
): string {
  const lines = [`${titleOf(view, status)}${view.deleted ? '  (deleted)' : ''}`];
  lines.push(`  ${id} · ${statusText(status)} · ${waiting(outbox)}`);
  if (freshness !== undefined) lines.push(`  ${freshness}`);
  if (view.items.length === 0) {
    lines.push('', status === 'joining' ? '  (nothing received yet)' : '  (no items)');
    return lines.join('\n');
  }
  const toBuy = view.items.filter((i) => i.remaining > 0).length;
  lines.push(`  ${view.items.length} item${view.items.length === 1 ? '' : 's'}, ${toBuy} to buy`, '');
  const width = Math.min(30, Math.max(...view.items.map((i) => i.name.length)));
  const items = (shown: readonly ItemView[], indent: string): void => {
    for (const item of shown) {
      const box = item.done ? '[x]' : item.bought > 0 ? '[~]' : '[ ]';
      lines.push(`${indent}${box} ${item.name.padEnd(width)}  ${itemState(item)}`);
      if (item.note !== undefined && item.note !== '') lines.push(`${indent}    note: ${item.note}`);
    }
  };
  if (byAisle === undefined) {
    items(view.items, '  ');
    return lines.join('\n');
  }
  const groups = [
    ...byAisle.toBuy.map((g) => ({ heading: `${englishAisleNames[g.aisle]} (${g.aisle})`, items: g.items })),
    { heading: 'Done', items: byAisle.done },
  ].filter((g) => g.items.length > 0);
  for (const [i, g] of groups.entries()) {
    if (i > 0) lines.push('');
    lines.push(`  ${g.heading}`);
    items(g.items, '    ');
  }
  return lines.join('\n');
}

/** The second line of a change: where the change is now. */
export function syncLine(outcome: SyncOutcome, endpoints: readonly string[]): string {
  switch (outcome.status) {
    case 'cloud':
      return 'saved on this device and in the cloud (cloud-ok)';
    case 'all-replicas':
      return 'saved on this device and on all replicas';
    case 'joining':
      return `sync pending: ${outcome.reached ? 'the cloud has nothing of this list yet' : unreachable(endpoints)}`;
    case 'local':
      if (outcome.refused !== undefined) return `saved on this device only: ${outcome.refused}`;
      return `saved on this device; sync pending (${
        outcome.reached ? 'more changes to push' : unreachable(endpoints)
      }; trolley sync retries)`;
  }
}

function unreachable(endpoints: readonly string[]): string {
  return `no answer from the cloud at ${shownAddresses(endpoints)}`;
}

/** "just now", "42 s ago", "5 min ago", "3 h ago", "2 days ago"; "never" for 0. */
export function ago(ms: number, nowMs: number): string {
  if (ms <= 0) return 'never';
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 2) return 'just now';
  if (s < 120) return `${s} s ago`;
  if (s < 7_200) return `${Math.round(s / 60)} min ago`;
  if (s < 172_800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86_400)} days ago`;
}

/** Left-aligned columns, for `list ls` and `status`. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}
