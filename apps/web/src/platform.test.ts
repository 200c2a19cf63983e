import { describe, expect, it } from 'vitest';
import { loopbackHost } from './platform.ts';
import { languages, stringsFor } from './strings.ts';

describe('loopbackHost', () => {
  it.each([
    ['http://127.0.0.1:8080/#/list/x', '127.0.0.1'],
    ['http://127.1.2.3/', '127.1.2.3'],
    ['http://localhost:8080/', 'localhost'],
    ['http://app.localhost/', 'app.localhost'],
    ['http://[::1]:8080/', '[::1]'],
  ])('%s points at this computer (%s)', (link, host) => {
    expect(loopbackHost(link)).toBe(host);
  });

  it.each(['http://192.168.1.20:8080/', 'https://trolley.example/', 'not a link', ''])(
    '%j does not',
    (link) => {
      expect(loopbackHost(link)).toBeUndefined();
    },
  );
});

describe('strings', () => {
  it("picks the first of the browser's languages that ships, else English", () => {
    expect(stringsFor(['pt-BR', 'en']).lang).toBe('pt');
    expect(stringsFor(['fr-FR', 'PT']).lang).toBe('pt');
    expect(stringsFor(['fr', 'de']).lang).toBe('en');
    expect(stringsFor([]).lang).toBe('en');
  });

  it('every language says every thing, and none says the engineer’s words', () => {
    const keys = Object.keys(languages['en'] ?? {}).sort();
    for (const strings of Object.values(languages)) {
      expect(Object.keys(strings).sort()).toEqual(keys);
      const badges = Object.values(strings.badge).map((b) => `${b.text} ${b.hint}`);
      for (const text of badges) expect(text).not.toMatch(/replica|cloud-ok|quorum/i);
    }
  });
});
