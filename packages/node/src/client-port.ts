// The client port, as a proxy and a storage node's front both serve it: a ROUTER that, when
// secure, is a CURVE server admitting any client key (clients are anonymous and know the server's
// public key from the cloud address, tcp://host:port#KEY), whose frames go to a Proxy state
// machine as [client routing ID, payload].

import type * as zmq from 'zeromq';
import type { Logger, Proxy } from '@trolley/cloud';
import type { KeyPair } from './keys.ts';
import { releaseZapDomain, zapDomain } from './zap.ts';
import { Sender, receiveLoop, router, watchHandshakes } from './zmq.ts';

export interface ClientPort {
  /** Where it is bound (tcp://host:port, the port chosen if 0 was asked). */
  endpoint: string;
  /** Writes to clients: [client routing ID, payload]. */
  sender: Sender;
  /** Handshakes refused so far (not CURVE, or refused by ZAP). */
  handshakesRefused(): number;
  /** Hands every client frame to `proxy` until the port closes. */
  serve(proxy: Proxy): void;
  close(): void;
}

export async function openClientPort(
  endpoint: string,
  keys: KeyPair | undefined,
  log: Logger,
  what = 'client port',
): Promise<ClientPort> {
  const clients = keys === undefined ? undefined : await zapDomain(undefined, log);
  const socket: zmq.Router = router(
    keys === undefined || clients === undefined ? undefined : { keys, zapDomain: clients.domain },
  );
  const handshakes = watchHandshakes(socket, what, log);
  try {
    await socket.bind(endpoint);
  } catch (e) {
    socket.close();
    if (clients !== undefined) releaseZapDomain(clients.domain);
    throw e;
  }
  return {
    endpoint: socket.lastEndpoint ?? endpoint,
    sender: new Sender(socket, log),
    handshakesRefused: handshakes,
    serve(proxy) {
      void receiveLoop(
        socket,
        (frames) => {
          // A ROUTER puts the sender's routing ID first, so frames[0] is always there.
          if (frames.length !== 2) return proxy.refuseFrameCount(frames[0] ?? Buffer.alloc(0), frames.length);
          proxy.onClientFrame(frames[0] as Buffer, frames[1] as Buffer);
        },
        log,
      );
    },
    close() {
      socket.close();
      if (clients !== undefined) releaseZapDomain(clients.domain);
    },
  };
}

/**
 * Where clients should dial a port bound at `bound`: itself, unless it is bound to every address
 * (0.0.0.0, *, ::), which no client can dial; then the same port at the host of `reachable` (the
 * node's advertised peer address), which is the address this machine is known by.
 */
export function dialable(bound: string, reachable: string): string {
  const b = /^tcp:\/\/(.+):(\d+)$/.exec(bound);
  const r = /^tcp:\/\/(.+):(\d+)$/.exec(reachable);
  if (b === null || r === null) return bound;
  const everywhere = ['0.0.0.0', '*', '[::]', '::'].includes(b[1] as string);
  return everywhere ? `tcp://${r[1] as string}:${b[2] as string}` : bound;
}
