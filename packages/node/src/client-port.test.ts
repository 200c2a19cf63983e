// Where clients dial a front: a port bound to every address is advertised at the node's host.

import { describe, expect, it } from 'vitest';
import { dialable } from './client-port.ts';

describe('dialable', () => {
  it("advertises a port bound to every address at the node's advertised host, and any other as bound", () => {
    expect(dialable('tcp://0.0.0.0:7001', 'tcp://10.0.0.11:6001')).toBe('tcp://10.0.0.11:7001');
    expect(dialable('tcp://*:7001', 'tcp://node-a.example:6001')).toBe('tcp://node-a.example:7001');
    expect(dialable('tcp://[::]:7001', 'tcp://10.0.0.11:6001')).toBe('tcp://10.0.0.11:7001');
    expect(dialable('tcp://127.0.0.1:7001', 'tcp://10.0.0.11:6001')).toBe('tcp://127.0.0.1:7001');
    expect(dialable('tcp://10.0.0.12:7001', 'tcp://10.0.0.11:6001')).toBe('tcp://10.0.0.12:7001');
    expect(dialable('ipc:///tmp/front', 'tcp://10.0.0.11:6001')).toBe('ipc:///tmp/front');
  });
});
