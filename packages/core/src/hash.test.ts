// How a list ID appears in logs: a short hash, stable across processes, never the ID itself.

import { describe, expect, it } from 'vitest';
import { listIdForLog } from './hash.ts';

describe('listIdForLog', () => {
  it('is the first 8 hex digits of the MD5 of the ID: the same in every process, not the ID', () => {
    const id = '0b0b3e6c-2f1f-4c5e-9a7d-3d6f1b2c4e5a';
    const tag = listIdForLog(id);
    expect(tag).toMatch(/^[0-9a-f]{8}$/);
    // MD5 of the ID, as node:crypto computes it: a41a29fa…
    expect(tag).toBe('a41a29fa');
    expect(listIdForLog(id)).toBe(tag);
    expect(id).not.toContain(tag);
    expect(listIdForLog('0b0b3e6c-2f1f-4c5e-9a7d-3d6f1b2c4e5b')).not.toBe(tag);
  });
});
