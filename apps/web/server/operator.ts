// The operator page's server side (README, "The cluster page"): behind a token, apart from
// everything shoppers see. The gateway asks the cluster — the proxy's stats, and every storage
// node's stats on its peer port with the operator's keys, as `trolley cluster status` does — once a
// second while a page is open (limits.operatorPollIntervalMs, one round at a time, none while no
// page is open), shapes each round into a snapshot (operator-snapshot.ts) and pushes it to the
// open pages as server-sent events (at most limits.operatorConnectionsMax of them).
//
// Routes, all under /operator (every one answers 404 when the gateway has no operator token):
//   GET  /operator                the page (operator.html of the build) with a session; else 401 and a
//                                 form that asks for the token
//   POST /operator/login          the form: the right token sets the session cookie (303 to the page),
//                                 a wrong one is refused (403)
//   GET  /operator/events         the snapshots as server-sent events
//   GET  /operator/snapshot.json  the latest snapshot (for scripts)
// A session is a cookie holding its expiry and an HMAC of it keyed by the token (nothing kept
// here; changing the token ends every session); scripts may send `Authorization: Bearer TOKEN`
// instead. Tokens and MACs are compared in constant time.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TrolleyError, limits } from '@trolley/core';
import type { Logger } from '@trolley/cloud';
import { nodeStats, operatorKeys, type Operator } from '@trolley/node';
import {
  emptyShapeState,
  shapeSnapshot,
  type NodeAnswer,
  type ShapeState,
  type Snapshot,
} from './operator-snapshot.ts';

/** A storage node to ask: its peer address (with its key after #, or found by its ID in the keyring). */
export interface OperatorNodeSource {
  address: string;
  id?: string;
}

export interface OperatorOptions {
  /** The token operators type in; at least limits.operatorTokenLengthMin characters. */
  token: string;
  /** The operator's keys folder (NAME.key and the nodes' .pub files); undefined: an insecure cluster. */
  keysDir: string | undefined;
  /** The operator key's name in that folder (default "operator"). */
  operatorName?: string;
  /** Nodes to ask first; the others are learnt from their members. */
  nodes: readonly OperatorNodeSource[];
  /** How often the cluster is asked (default and least limits.operatorPollIntervalMs); for tests. */
  pollIntervalMs?: number;
}

/** Checks an operator token; throws TrolleyError('invalid_argument') if it is too short. */
export function checkOperatorToken(token: string): string {
  if (token.length < limits.operatorTokenLengthMin)
    throw new TrolleyError(
      'invalid_argument',
      `an operator token needs at least ${limits.operatorTokenLengthMin} characters (make one with: openssl rand -hex 16)`,
    );
  return token;
}

const cookieName = 'trolley-operator';
const sessionMs = 12 * 60 * 60 * 1000;
const statsTimeoutMs = 1_500;
const formBytesMax = 2_048;
/** An event stream whose unsent snapshots pass this is skipped until it drains. */
const streamBufferBytesMax = 1024 * 1024;

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

/** Constant-time equality of two strings (of any lengths: their digests are compared). */
function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(sha256(a), sha256(b));
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The page that asks for the token (no script, no style: the policy allows neither inline). */
function loginPage(message: string | undefined): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>Trolley cluster — operator</title></head>
<body>
<main>
<h1>Trolley cluster</h1>
<p>This page is for the cluster's operators. Give the operator token the gateway was started with.</p>
${message === undefined ? '' : `<p role="alert">${escapeHtml(message)}</p>\n`}<form method="post" action="operator/login">
<label for="token">Operator token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Open</button>
</form>
</main>
</body>
</html>
`;
}

function answer(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

export class OperatorPage {
  private readonly op: Operator;
  private readonly token: string;
  private readonly pollMs: number;
  /** Where each known node is asked: node ID → address. */
  private readonly known = new Map<string, string>();
  private readonly streams = new Set<ServerResponse>();
  private latest: Snapshot | undefined;
  private shape: ShapeState = emptyShapeState();
  private polling: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** Snapshots not sent to a page whose stream was full. */
  private skipped = 0;

  constructor(
    private readonly o: OperatorOptions,
    private readonly proxyStats: () => Promise<Record<string, unknown>>,
    private readonly webRoot: string | undefined,
    private readonly log: Logger,
    private readonly refuse: (reason: string, fields: Record<string, unknown>) => void,
  ) {
    this.token = checkOperatorToken(o.token);
    this.op = operatorKeys(o.keysDir, o.operatorName ?? 'operator');
    this.pollMs = Math.max(o.pollIntervalMs ?? limits.operatorPollIntervalMs, 1);
    if (o.nodes.length === 0)
      throw new TrolleyError('invalid_argument', 'the operator page needs a storage node to ask (--node)');
  }

  /** Open event streams now. */
  get connections(): number {
    return this.streams.size;
  }

  // ---- sessions ----

  private mac(expires: string): string {
    return createHmac('sha256', this.token).update(`trolley operator session ${expires}`).digest('hex');
  }

  private sessionCookie(): string {
    const expires = String(Date.now() + sessionMs);
    return `${cookieName}=${expires}.${this.mac(expires)}; Path=/operator; HttpOnly; SameSite=Strict; Max-Age=${sessionMs / 1000}`;
  }

  /** The request carries the token (Authorization: Bearer) or a session cookie that has not expired. */
  private authorized(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (auth !== undefined && auth.startsWith('Bearer ')) return sameSecret(auth.slice(7).trim(), this.token);
    for (const part of (req.headers.cookie ?? '').split(';')) {
      const [name, value] = part.trim().split('=', 2);
      if (name !== cookieName || value === undefined) continue;
      const [expires, mac] = value.split('.', 2);
      if (expires === undefined || mac === undefined || !/^\d{1,16}$/.test(expires)) return false;
      return sameSecret(mac, this.mac(expires)) && Number(expires) > Date.now();
    }
    return false;
  }

  // ---- HTTP ----

  /** Answers a request for /operator, /operator/… (the gateway sends those here). */
  handle(req: IncomingMessage, res: ServerResponse, path: string): void {
    const remote = `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
    if (path === '/operator/login' && req.method === 'POST') return this.login(req, res, remote);
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return answer(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET' });
    if (!this.authorized(req)) {
      if (path === '/operator') return answer(res, 401, 'text/html; charset=utf-8', loginPage(undefined));
      this.refuse('operator_unauthorized', { remote, path });
      return answer(res, 401, 'text/plain', 'operator token needed\n');
    }
    if (path === '/operator') return void this.servePage(res);
    if (path === '/operator/events') return this.openStream(req, res, remote);
    if (path === '/operator/snapshot.json') return void this.serveSnapshot(res);
    answer(res, 404, 'text/plain', 'not found\n');
  }

  private login(req: IncomingMessage, res: ServerResponse, remote: string): void {
    let body = '';
    let over = false;
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      if (over) return;
      body += chunk;
      if (body.length > formBytesMax) {
        over = true;
        answer(res, 413, 'text/plain', 'too large\n');
        req.destroy();
      }
    });
    req.on('end', () => {
      if (over) return;
      const given = new URLSearchParams(body).get('token') ?? '';
      if (!sameSecret(given, this.token)) {
        this.refuse('operator_token_wrong', { remote });
        return answer(res, 403, 'text/html; charset=utf-8', loginPage('That is not the operator token.'));
      }
      this.log.info('operator signed in', { remote });
      res.writeHead(303, {
        Location: '../operator',
        'Set-Cookie': this.sessionCookie(),
        'Cache-Control': 'no-store',
      });
      res.end();
    });
    req.on('error', () => res.destroy());
  }

  private async servePage(res: ServerResponse): Promise<void> {
    if (this.webRoot === undefined)
      return answer(res, 404, 'text/plain', 'no web app here: start the gateway with --web <dir>\n');
    try {
      const html = await readFile(join(this.webRoot, 'operator.html'), 'utf8');
      answer(res, 200, 'text/html; charset=utf-8', html, { 'X-Robots-Tag': 'noindex' });
    } catch (e) {
      this.log.error('operator page missing from the build', { cause: String(e) });
      answer(res, 404, 'text/plain', 'the build has no operator page: rebuild the web app\n');
    }
  }

  private async serveSnapshot(res: ServerResponse): Promise<void> {
    if (this.latest === undefined) await this.pollOnce();
    answer(res, 200, 'application/json', JSON.stringify(this.latest ?? null));
  }

  private openStream(req: IncomingMessage, res: ServerResponse, remote: string): void {
    if (this.stopped || this.streams.size >= limits.operatorConnectionsMax) {
      this.refuse('operator_connections_full', { remote, open: this.streams.size });
      return answer(
        res,
        503,
        'text/plain',
        `at most ${limits.operatorConnectionsMax} operator pages at once\n`,
      );
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream',
      'Cache-Control': 'no-store',
      'X-Accel-Buffering': 'no',
    });
    res.write(`retry: ${Math.max(this.pollMs, 1_000)}\n\n`);
    this.streams.add(res);
    if (this.latest !== undefined) this.send(res, this.latest);
    res.on('close', () => this.streams.delete(res));
    this.schedule(0);
  }

  private send(res: ServerResponse, snapshot: Snapshot): void {
    if (res.writableLength > streamBufferBytesMax) {
      this.skipped++;
      return;
    }
    res.write(`event: snapshot\ndata: ${JSON.stringify(snapshot)}\n\n`);
  }

  // ---- polling the cluster ----

  /** The next round in `ms`, if a page is open and no round is running or waiting. */
  private schedule(ms: number): void {
    if (this.stopped || this.streams.size === 0 || this.polling !== undefined || this.timer !== undefined)
      return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.pollOnce().then(() => this.schedule(this.pollMs));
    }, ms);
    this.timer.unref();
  }

  /** One round (or the one running): ask, shape, push. Never throws. */
  private pollOnce(): Promise<void> {
    this.polling ??= this.round()
      .catch((e: unknown) => this.log.error('operator poll failed', { cause: String(e) }))
      .finally(() => {
        this.polling = undefined;
      });
    return this.polling;
  }

  private async round(): Promise<void> {
    const atMs = performance.now();
    const wallMs = Date.now();
    const proxy = this.proxyStats().catch(() => undefined);
    if (this.known.size === 0) await this.learnSources();
    const targets = [...this.known].slice(0, limits.operatorNodesMax);
    const nodes: NodeAnswer[] = await Promise.all(
      targets.map(async ([id, address]): Promise<NodeAnswer> => {
        try {
          return { id, stats: await nodeStats(this.op, address, statsTimeoutMs, id) };
        } catch (e) {
          return { id, error: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const shaped = shapeSnapshot({ atMs, wallMs, proxy: await proxy, nodes }, this.shape);
    this.shape = shaped.state;
    this.latest = shaped.snapshot;
    this.learnMembers(nodes, shaped.snapshot);
    for (const res of this.streams) this.send(res, shaped.snapshot);
  }

  /** The IDs of the sources given by address alone: asked once. */
  private async learnSources(): Promise<void> {
    for (const source of this.o.nodes) {
      if (source.id !== undefined) {
        this.known.set(source.id, source.address);
        continue;
      }
      const stats = await nodeStats(this.op, source.address, statsTimeoutMs).catch(() => undefined);
      const id = stats?.['nodeId'];
      if (typeof id === 'string') this.known.set(id, source.address);
    }
  }

  /**
   * The nodes to ask next round: those the answering nodes list as members (at the addresses they
   * list; their keys from the operator's keyring) or that the ring holds; a node nobody mentions
   * any more (removed, and gone) is dropped.
   */
  private learnMembers(nodes: readonly NodeAnswer[], snapshot: Snapshot): void {
    const mentioned = new Set<string>(snapshot.ring?.nodes.map((n) => n.id) ?? []);
    for (const n of nodes) {
      const members = n.stats?.['members'];
      if (!Array.isArray(members)) continue;
      for (const m of members as unknown[]) {
        if (typeof m !== 'object' || m === null) continue;
        const { id, address } = m as { id?: unknown; address?: unknown };
        if (typeof id !== 'string' || typeof address !== 'string') continue;
        mentioned.add(id);
        if (!this.known.has(id) && this.known.size < limits.operatorNodesMax) this.known.set(id, address);
      }
    }
    if (nodes.every((n) => n.stats === undefined)) return; // nobody answered: keep asking the same
    const sources = new Set(this.o.nodes.flatMap((s) => (s.id === undefined ? [] : [s.id])));
    for (const id of [...this.known.keys()])
      if (!mentioned.has(id) && !sources.has(id)) this.known.delete(id);
  }

  /** Ends every event stream and the polling. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    for (const res of this.streams) res.end();
    this.streams.clear();
    if (this.skipped > 0)
      this.log.debug('operator snapshots skipped for full streams', { skipped: this.skipped });
  }
}

/**
 * Routes /operator and everything under it to the page, or answers 404 when the gateway has no
 * operator token. Returns whether the path was one of them (/operator.html, the build's file, is
 * never served as it is: only as /operator, with a session).
 */
export function routeOperator(
  page: OperatorPage | undefined,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): boolean {
  if (path === '/operator.html') {
    answer(res, 404, 'text/plain', 'not found\n');
    return true;
  }
  if (path !== '/operator' && !path.startsWith('/operator/')) return false;
  if (page === undefined) answer(res, 404, 'text/plain', 'not found\n');
  else page.handle(req, res, path);
  return true;
}
