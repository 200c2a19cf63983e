// The shape rules of a ClientChange (ports.ts), shared by every ClientStore so that they all refuse
// the same changes the same way. What needs the stored data (revisions, opIds already in an
// outbox) each store checks inside its own transaction.

import { TrolleyError } from '@trolley/core';
import type { ClientChange } from './ports.ts';

/** Throws TrolleyError('invalid_argument') for a change no store may commit. */
export function checkClientChange(change: ClientChange): void {
  if (change.meta !== undefined && change.writer !== undefined)
    bad('a change creates the meta record or gives it a writer, not both');
  const seen = new Set<string>();
  for (const lc of change.lists ?? []) {
    const where = `change of list ${lc.listId}`;
    if (seen.has(lc.listId)) bad(`${where}: the list appears twice in one commit`);
    seen.add(lc.listId);
    if (
      lc.expectedRevision !== undefined &&
      !(Number.isSafeInteger(lc.expectedRevision) && lc.expectedRevision >= 1)
    )
      bad(`${where}: expectedRevision ${lc.expectedRevision} is not a revision`);
    if (lc.forget === true) {
      if (lc.expectedRevision === undefined) bad(`${where}: forgetting needs the list's revision`);
      if (
        lc.state !== undefined ||
        lc.append !== undefined ||
        lc.removeOpIds !== undefined ||
        lc.sync !== undefined
      )
        bad(`${where}: forget comes alone`);
      continue;
    }
    if (lc.expectedRevision === undefined && (lc.state === undefined || lc.sync === undefined))
      bad(`${where}: a new list needs a state and sync metadata`);
    const appended = new Set<string>();
    for (const entry of lc.append ?? []) {
      if (appended.has(entry.opId)) bad(`${where}: opId ${entry.opId} appended twice`);
      appended.add(entry.opId);
    }
  }
}

/** The error for an append whose opId is already in the list's outbox (checked by the stores). */
export function duplicateOpId(listId: string, opId: string): TrolleyError {
  return new TrolleyError(
    'invalid_argument',
    `change of list ${listId}: opId ${opId} is already in the outbox`,
  );
}

function bad(message: string): never {
  throw new TrolleyError('invalid_argument', message);
}
