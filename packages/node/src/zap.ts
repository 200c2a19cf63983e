// The ZAP handler (ZeroMQ RFC 27): libzmq asks it, over inproc://zeromq.zap.01, whether to let a
// CURVE client in. One per process (it belongs to the ZeroMQ context); each CURVE server socket
// names a domain. A member port's domain is its keyring: a key not in it is refused. The client
// port's domain admits any key (clients are anonymous; CURVE only keeps their traffic secret and
// proves the proxy is the proxy).
//
// Refused handshakes are counted per domain and logged at warn, rate limited, with the peer's IP
// address and key, since that is all an attacker's failed attempt leaves behind.
//
// libzmq admits every CURVE client when no handler is bound, unless the socket sets
// zapEnforceDomain (zmq.ts does): then a missing handler refuses everyone — it fails closed.

import * as zmq from 'zeromq';
import { RefusalLog, type Logger } from '@trolley/cloud';
import type { Keyring } from './keys.ts';
import { systemClock } from './clock.ts';

export const clientsDomain = 'clients';

interface Domain {
  keyring: Keyring | undefined;
  refused: number;
  log: RefusalLog;
}

const domains = new Map<string, Domain>();
let handler: { socket: zmq.Reply; bound: Promise<void> } | undefined;
let nextDomain = 1;

/**
 * Registers a domain with `keyring` (undefined: any key is admitted) and starts the handler if it
 * is not running. Resolves, once the handler is bound, to the domain to set as the socket's
 * zapDomain and its refusal count.
 */
export async function zapDomain(
  keyring: Keyring | undefined,
  logger: Logger,
): Promise<{ domain: string; refused: () => number }> {
  const domain = keyring === undefined ? `${clientsDomain}.${nextDomain++}` : `members.${nextDomain++}`;
  const d: Domain = { keyring, refused: 0, log: new RefusalLog({ logger, clock: systemClock }) };
  domains.set(domain, d);
  handler ??= start();
  await handler.bound;
  return { domain, refused: () => d.refused };
}

export function releaseZapDomain(domain: string): void {
  domains.delete(domain);
  if (domains.size === 0 && handler !== undefined) {
    handler.socket.close();
    handler = undefined;
  }
}

function start(): { socket: zmq.Reply; bound: Promise<void> } {
  const socket = new zmq.Reply({ linger: 0 });
  const bound = (async () => {
    // A handler closed a moment ago may still hold the name while libzmq lets it go.
    for (let attempt = 0; ; attempt++) {
      try {
        await socket.bind('inproc://zeromq.zap.01');
        break;
      } catch (e) {
        if (attempt >= 200) throw e;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    void serve(socket);
  })();
  return { socket, bound };
}

async function serve(socket: zmq.Reply): Promise<void> {
  for (;;) {
    let frames: Buffer[];
    try {
      frames = await socket.receive();
    } catch {
      return; // closed
    }
    // version, request id, domain, address, identity, mechanism, credentials...
    const [version, requestId, domainFrame, address, , mechanism, key] = frames;
    const domain = domains.get(domainFrame?.toString() ?? '');
    let ok = false;
    let reason = 'unknown domain';
    if (version?.toString() !== '1.0') reason = 'bad ZAP version';
    else if (domain === undefined) reason = 'unknown domain';
    else if (mechanism?.toString() !== 'CURVE' || key?.length !== 32) reason = 'not CURVE';
    else if (domain.keyring === undefined) ok = true;
    else {
      const member = domain.keyring.member(key.toString('base64url'));
      ok = member !== undefined;
      reason = 'key not in the keyring';
    }
    if (!ok && domain !== undefined) {
      domain.refused++;
      domain.log.warn('member handshake refused', reason, {
        peer: address?.toString(),
        key: key?.length === 32 ? key.toString('base64url') : undefined,
      });
    }
    try {
      await socket.send([version ?? '1.0', requestId ?? '', ok ? '200' : '400', ok ? 'OK' : reason, '', '']);
    } catch {
      return;
    }
  }
}
