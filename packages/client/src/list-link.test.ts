// Share links: the ID alone, or wrapped in an app or web link; anything else is refused clearly.

import { describe, expect, it } from 'vitest';
import { TrolleyError, type ListId } from '@trolley/core';
import { parseListRef, shareLink } from './list-link.ts';

const id = '3f2a8c1e-5b7d-4e9a-8c3b-1d2e3f4a5b6c' as ListId;

describe('share links', () => {
  it('makes app and web links that parse back to the ID', () => {
    expect(shareLink(id)).toBe(`trolley://list/${id}`);
    expect(shareLink(id, 'https://trolley.example/app/')).toBe(`https://trolley.example/app/#/list/${id}`);
    expect(shareLink(id, 'http://localhost:8080')).toBe(`http://localhost:8080/#/list/${id}`);
    for (const link of [shareLink(id), shareLink(id, 'https://trolley.example/app/')]) {
      expect(parseListRef(link)).toBe(id);
    }
  });

  it('accepts a bare ID, any case, with spaces around, and links with a trailing slash or query', () => {
    for (const text of [
      id,
      ` ${id.toUpperCase()} `,
      `trolley://list/${id}/`,
      `TROLLEY://LIST/${id}`,
      `https://trolley.example/#/list/${id}`,
      `https://trolley.example/app/index.html#/list/${id}?from=alice`,
      `http://192.168.1.5:8080/#/list/${id}/`,
    ]) {
      expect(parseListRef(text), text).toBe(id);
    }
  });

  it('refuses anything else with invalid_argument', () => {
    for (const text of [
      '',
      'groceries',
      `trolley://lists/${id}`,
      `https://trolley.example/list/${id}`, // not the web app's fragment form
      `ftp://x/#/list/${id}`,
      `${id}x`,
      '3f2a8c1e-5b7d-1e9a-8c3b-1d2e3f4a5b6c', // not version 4
      `javascript:alert(1)//#/list/${id}`,
    ]) {
      expect(() => parseListRef(text), text).toThrow(TrolleyError);
      try {
        parseListRef(text);
      } catch (error) {
        expect((error as TrolleyError).code).toBe('invalid_argument');
      }
    }
  });
});
