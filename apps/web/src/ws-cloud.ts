// The browser's way to the cloud: the CloudPort of @trolley/client over one WebSocket to the
// gateway (PROTOCOL.md §7), so that the same sync engine runs in the browser as in the CLI.
//
// The socket is kept open for the app's lifetime and reopened after every close with jittered
// exponential backoff (or at once on reconnectNow(), which the app calls on the browser's 'online'
// event). It counts as online only once the gateway's hello has arrived: that hello carries the
// gateway's clock, and every deadline is written in it (a phone's clock may be minutes off).
// Requests never wait for a connection: offline, a put is 'unknown' and a get fails at once, and
// a close settles everything in flight the same way — the engine retries, nothing is lost.
// The protocol itself (request IDs, deadlines in the gateway's clock, reading replies, the watch,
// `changed` notices) is @trolley/client's ClientSession, shared with the CLI and the simulator;
// this file owns only the socket.
// Browser APIs only: no Node modules (lint-enforced for apps/web/src).

import {
  ClientSession,
  isTransientError,
  type CloudGetResult,
  type CloudPort,
  type CloudPutResult,
} from '@trolley/client';
import { TrolleyError, limits, type ListId, type OpId } from '@trolley/core';

/** 'online' only after the gateway's hello; 'offline' between a close and the next attempt. */
export type Connection = 'connecting' | 'online' | 'offline';

export interface WsCloudOptions {
  /** The gateway's sync endpoint: ws(s)://host:port/sync. */
  url: string;
  /** Default globalThis.WebSocket; tests in Node pass the `ws` package's. */
  WebSocketImpl?: typeof WebSocket;
  /** First reconnect delay (default 500 ms), doubled per failed attempt, jittered. */
  reconnectBaseMs?: number;
  /** Longest reconnect delay (default 10 s). */
  reconnectMaxMs?: number;
  /** A socket that has not brought the gateway's hello by then is closed and tried again (10 s). */
  helloTimeoutMs?: number;
}

const unknownPut: CloudPutResult = { outcome: 'unknown', acks: 0, replicas: 0 };

/** A CloudPort over a WebSocket to the gateway. */
export class WsCloud implements CloudPort {
  private readonly url: string;
  private readonly Impl: typeof WebSocket;
  private readonly baseMs: number;
  private readonly maxMs: number;
  private readonly helloTimeoutMs: number;
  private socket: WebSocket | undefined;
  private state: Connection = 'offline';
  private started = false;
  private closed = false;
  private attempts = 0;
  /** The browser says it has no network: no socket, no reconnect attempts, until it has again. */
  private networkDown = false;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private helloTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly session: ClientSession;
  private readonly connectionListeners = new Set<(c: Connection) => void>();

  constructor(options: WsCloudOptions) {
    this.url = options.url;
    const Impl = options.WebSocketImpl ?? globalThis.WebSocket;
    if (typeof Impl !== 'function') throw new TrolleyError('invalid_argument', 'no WebSocket here');
    this.Impl = Impl;
    this.baseMs = options.reconnectBaseMs ?? 500;
    this.maxMs = options.reconnectMaxMs ?? 10_000;
    this.helloTimeoutMs = options.helloTimeoutMs ?? 10_000;
    this.session = new ClientSession({
      clock: { monotonicMs: () => performance.now(), wallMs: () => Date.now() },
      send: (frame) => this.send(frame),
      after: (ms, action) => {
        const timer = setTimeout(action, ms);
        return () => clearTimeout(timer);
      },
    });
    this.session.onHello(() => this.onHello());
  }

  /** Opens the connection and keeps it open (reconnecting) until close(). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    if (!this.networkDown) this.connect();
  }

  get connection(): Connection {
    return this.state;
  }

  /** Gateway clock − this device's clock, as learnt from the last gateway-hello (ms). */
  get clockOffsetMs(): number {
    return this.session.clockOffsetMs;
  }

  /** Called on every change of `connection`. Returns a function that stops it. */
  onConnection(listener: (c: Connection) => void): () => void {
    this.connectionListeners.add(listener);
    return () => this.connectionListeners.delete(listener);
  }

  /** Called with every `changed` the gateway pushes (a delta that is always safe to join). */
  onChanged(listener: (listId: ListId, delta: Uint8Array) => void): () => void {
    return this.session.onChanged(listener);
  }

  /** Replaces the watched lists (at most limits.watchedListsMax); sent now and after every reconnect. */
  watch(listIds: readonly ListId[]): void {
    this.session.setWatched(listIds, limits.watchedListsMax);
  }

  /**
   * What the browser says of its network ('online'/'offline' events). Going offline closes the
   * socket at once — a socket may otherwise linger for minutes on a dead network, and requests
   * would wait on it — and stops reconnecting; coming back connects at once.
   */
  setNetworkAvailable(available: boolean): void {
    if (this.networkDown === !available) return;
    this.networkDown = !available;
    if (available) return this.reconnectNow();
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropSocket();
    if (!this.closed) this.setState('offline');
  }

  /** Tries to connect at once instead of waiting for the backoff (the browser came online). */
  reconnectNow(): void {
    if (!this.started || this.closed || this.networkDown || this.socket !== undefined) return;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.attempts = 0;
    this.connect();
  }

  async put(
    listId: ListId,
    delta: Uint8Array,
    options: { timeoutMs: number; opId: OpId; writer?: Uint8Array },
  ): Promise<CloudPutResult> {
    if (!this.canRequest(options.timeoutMs)) return unknownPut;
    const answer = await this.session.put(listId, delta, options);
    if (answer.outcome === 'ok') return answer;
    if (answer.outcome === 'unknown')
      return { outcome: 'unknown', acks: answer.acks, replicas: answer.replicas }; // it may or may not apply
    throw new TrolleyError(
      answer.code === 'limit_exceeded' ? 'limit_exceeded' : 'invalid_argument',
      `the cloud refused the change: ${answer.code}: ${answer.message}`,
    );
  }

  async get(listId: ListId, context: Uint8Array, options: { timeoutMs: number }): Promise<CloudGetResult> {
    const answer = this.canRequest(options.timeoutMs)
      ? await this.session.get(listId, context, options)
      : ({ outcome: 'no-answer' } as const);
    if (answer.outcome === 'ok') return answer; // a CloudGetResult (and its outcome)
    if (answer.outcome === 'no-answer')
      throw new TrolleyError('not_found', 'the cloud is not reachable now (offline or no answer in time)');
    const refusal = answer.code !== 'unexpected' && !isTransientError(answer.code);
    throw new TrolleyError(
      refusal ? 'invalid_argument' : 'not_found',
      `the cloud could not answer: ${answer.code}: ${answer.message}`,
    );
  }

  /** Closes the connection for good; everything in flight settles at once. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.dropSocket();
    this.setState('offline');
    this.connectionListeners.clear();
    this.session.close();
  }

  // ---- the connection ----

  private connect(): void {
    let s: WebSocket;
    try {
      s = new this.Impl(this.url);
    } catch {
      this.setState('offline');
      return this.scheduleReconnect(); // a bad URL or a blocked scheme: keep trying, slowly
    }
    this.socket = s;
    s.binaryType = 'arraybuffer';
    this.setState('connecting');
    this.helloTimer = setTimeout(() => this.onSocketClosed(s), this.helloTimeoutMs); // no hello: retry
    s.onmessage = (event: MessageEvent) => {
      if (this.socket !== s) return;
      if (!(event.data instanceof ArrayBuffer)) return; // the gateway sends binary frames only
      this.session.receive(new Uint8Array(event.data));
    };
    s.onclose = () => this.onSocketClosed(s);
    s.onerror = () => undefined; // a close follows every error
  }

  /** The gateway's hello (its clock is learnt by the session): online, and the watch sent again. */
  private onHello(): void {
    if (this.helloTimer !== undefined) clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    this.attempts = 0;
    this.setState('online');
    this.session.renewWatch();
  }

  private onSocketClosed(s: WebSocket): void {
    if (this.socket !== s) return;
    this.dropSocket();
    if (this.closed) return;
    this.setState('offline');
    this.scheduleReconnect();
  }

  /** Forgets the socket and settles every request waiting on it. */
  private dropSocket(): void {
    const s = this.socket;
    this.socket = undefined;
    if (this.helloTimer !== undefined) clearTimeout(this.helloTimer);
    this.helloTimer = undefined;
    if (s !== undefined) {
      s.onmessage = null;
      s.onclose = null;
      if (s.readyState === s.CONNECTING || s.readyState === s.OPEN) {
        s.onerror = () => undefined;
        try {
          s.close(1000);
        } catch {
          // already closing
        }
      }
    }
    this.session.abandonAll();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.networkDown || this.reconnectTimer !== undefined) return;
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** Math.min(this.attempts, 20));
    const delay = ceiling / 2 + Math.random() * (ceiling / 2);
    this.attempts++;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      if (!this.closed && !this.networkDown && this.socket === undefined) this.connect();
    }, delay);
  }

  private setState(next: Connection): void {
    if (this.state === next) return;
    this.state = next;
    for (const f of [...this.connectionListeners]) {
      try {
        f(next);
      } catch {
        // a listener's failure is its own
      }
    }
  }

  /** Requests go only over an open connection whose hello has come. */
  private canRequest(timeoutMs: number): boolean {
    return this.state === 'online' && timeoutMs > 0;
  }

  private send(frame: Uint8Array): boolean {
    const s = this.socket;
    if (s === undefined || this.state !== 'online' || s.readyState !== s.OPEN) return false;
    try {
      s.send(frame);
      return true;
    } catch {
      return false;
    }
  }
}
