// Share links. A list's ID is the share (DESIGN.md §1): whoever has it can open and change the
// list. A link only wraps the ID so that it can be tapped: `trolley://list/<id>` for the apps, or
// the web app's address with `#/list/<id>` (the fragment never reaches a server's logs).

import { TrolleyError, parseListId, type ListId } from '@trolley/core';

const uuid = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}';
/** trolley://list/<id>, optionally with a trailing slash. */
const appLink = new RegExp(`^trolley://list/(${uuid})/?$`, 'i');
/** http(s)://host[/path]#/list/<id>, optionally followed by more of the fragment or a query. */
const webLink = new RegExp(`^https?://[^\\s#]+#/list/(${uuid})(?:[/?].*)?$`, 'i');

/** The link a person shares: the app link, or the web app's when its base address is given. */
export function shareLink(listId: ListId, webBase?: string): string {
  if (webBase === undefined) return `trolley://list/${listId}`;
  return `${webBase.replace(/#.*$/, '').replace(/\/+$/, '')}/#/list/${listId}`;
}

/** A list ID from a bare ID or from a link; a TrolleyError('invalid_argument') otherwise. */
export function parseListRef(text: string): ListId {
  const trimmed = text.trim();
  const match = appLink.exec(trimmed) ?? webLink.exec(trimmed);
  const id = match?.[1] ?? trimmed;
  try {
    return parseListId(id);
  } catch (error) {
    throw new TrolleyError(
      'invalid_argument',
      `not a list ID or share link: ${JSON.stringify(text.slice(0, 200))} ` +
        '(expected a UUID, trolley://list/<id> or https://…/#/list/<id>)',
      { cause: error },
    );
  }
}
