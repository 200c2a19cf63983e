import { describe, expect, it } from 'vitest';
import { TrolleyError } from '@trolley/core';
import { checkPublicUrl } from './gateway.ts';

describe('checkPublicUrl', () => {
  it('keeps http(s) addresses, ending them with a slash', () => {
    expect(checkPublicUrl('http://192.168.1.20:8080')).toBe('http://192.168.1.20:8080/');
    expect(checkPublicUrl('https://shop.example/trolley/')).toBe('https://shop.example/trolley/');
  });

  it.each(['192.168.1.20:8080', 'ftp://x/', 'http://x/?a=1', 'http://x/#f', ''])(
    'refuses %j with a typed error',
    (text) => {
      expect(() => checkPublicUrl(text)).toThrow(TrolleyError);
    },
  );
});
