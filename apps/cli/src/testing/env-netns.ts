// A small network of namespaces for partition tests (root only): a bridge in the root namespace
// with a private address, and K namespaces, each joined to the bridge by a veth pair and given its
// own address on the same /24. Traffic goes only to addresses inside this lab. A namespace is cut
// off silently by nft drop rules inside it (both directions, every interface but loopback, with
// counters, so the test can show that packets really were dropped), and healed by flushing them.
//
// Every namespace, link and table is registered with the exit safety net (env-safety.ts);
// destroy() removes them all. Stop the processes running inside first.

import { randomInt } from 'node:crypto';
import { isRoot, registerUndo, run, tryRun, which } from './env-safety.ts';

const table = 'trolley_partition';

/** Why the lab cannot run here, or undefined when it can. */
export function netLabUnavailable(): string | undefined {
  if (!isRoot()) return 'needs root (network namespaces, veth pairs, nft)';
  const ip = which('ip');
  if (ip === undefined) return '`ip` (iproute2) is not installed: apt-get install -y iproute2';
  if (which('nft') === undefined) return '`nft` is not installed: apt-get install -y nftables';
  if (!tryRun(ip, ['netns', 'list'])) return '`ip netns` does not work here';
  return undefined;
}

export interface LabHost {
  /** The namespace's name. */
  ns: string;
  /** Its address on the lab's /24. */
  address: string;
  /** Prefix that runs a command inside the namespace. */
  prefix: string[];
}

export class NetLab {
  readonly hosts: LabHost[] = [];
  private readonly undos: (() => void)[] = [];
  private readonly ip: string;
  private readonly nft: string;

  private constructor(
    readonly bridge: string,
    /** The bridge's address in the root namespace (where the test and the proxy run). */
    readonly bridgeAddress: string,
  ) {
    this.ip = which('ip') as string;
    this.nft = which('nft') as string;
  }

  /** Creates the bridge and `count` namespaces. On failure, removes whatever it created. */
  static create(count: number): NetLab {
    const reason = netLabUnavailable();
    if (reason !== undefined) throw new Error(`network lab unavailable: ${reason}`);
    const tag = `trl${String(process.pid % 10_000).padStart(4, '0')}`;
    const subnet = freeSubnet(which('ip') as string);
    const lab = new NetLab(`${tag}br`, `${subnet}.1`);
    try {
      lab.build(tag, subnet, count);
      return lab;
    } catch (e) {
      lab.destroy();
      throw e;
    }
  }

  private build(tag: string, subnet: string, count: number): void {
    const ip = this.ip;
    run(ip, ['link', 'add', this.bridge, 'type', 'bridge']);
    this.undos.push(registerUndo(`bridge ${this.bridge}`, () => tryRun(ip, ['link', 'del', this.bridge])));
    run(ip, ['addr', 'add', `${this.bridgeAddress}/24`, 'dev', this.bridge]);
    run(ip, ['link', 'set', this.bridge, 'up']);
    for (let i = 1; i <= count; i++) {
      const ns = `${tag}-n${i}`;
      const outside = `${tag}v${i}`;
      const inside = `${tag}p${i}`;
      const address = `${subnet}.${10 + i}`;
      run(ip, ['netns', 'add', ns]);
      // Deleting the namespace also deletes the veth end inside it, and with it the pair.
      this.undos.push(registerUndo(`namespace ${ns}`, () => tryRun(ip, ['netns', 'del', ns])));
      run(ip, ['link', 'add', outside, 'type', 'veth', 'peer', 'name', inside]);
      this.undos.push(registerUndo(`veth ${outside}`, () => tryRun(ip, ['link', 'del', outside])));
      run(ip, ['link', 'set', outside, 'master', this.bridge]);
      run(ip, ['link', 'set', outside, 'up']);
      run(ip, ['link', 'set', inside, 'netns', ns]);
      run(ip, ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', inside]);
      run(ip, ['-n', ns, 'link', 'set', inside, 'up']);
      run(ip, ['-n', ns, 'link', 'set', 'lo', 'up']);
      this.hosts.push({ ns, address, prefix: [ip, 'netns', 'exec', ns] });
    }
  }

  private host(i: number): LabHost {
    const h = this.hosts[i];
    if (h === undefined) throw new Error(`no host ${i}`);
    return h;
  }

  /** Cuts host i off from everything (silently: drop, both directions; loopback stays). */
  isolate(i: number): void {
    const h = this.host(i);
    run(
      this.ip,
      ['netns', 'exec', h.ns, this.nft, '-f', '-'],
      `table inet ${table} {
  chain input { type filter hook input priority 0; policy accept; iifname "lo" accept; counter drop; }
  chain output { type filter hook output priority 0; policy accept; oifname "lo" accept; counter drop; }
}
`,
    );
    this.undos.push(
      registerUndo(`nft table in ${h.ns}`, () =>
        tryRun(this.ip, ['netns', 'exec', h.ns, this.nft, 'delete', 'table', 'inet', table]),
      ),
    );
  }

  /** Packets the drop rules in host i have dropped so far, per direction. */
  dropped(i: number): { input: number; output: number } {
    const h = this.host(i);
    const json = run(this.ip, ['netns', 'exec', h.ns, this.nft, '-j', 'list', 'table', 'inet', table]);
    const out = { input: 0, output: 0 };
    const items = (JSON.parse(json) as { nftables: Record<string, unknown>[] }).nftables;
    for (const item of items) {
      const rule = item['rule'] as { chain: string; expr: Record<string, unknown>[] } | undefined;
      if (rule === undefined) continue;
      for (const e of rule.expr) {
        const counter = e['counter'] as { packets: number } | undefined;
        if (counter === undefined) continue;
        if (rule.chain === 'input') out.input += counter.packets;
        if (rule.chain === 'output') out.output += counter.packets;
      }
    }
    return out;
  }

  /** Heals host i: flushes the drop rules (the table stays, empty, until destroy()). */
  heal(i: number): void {
    run(this.ip, ['netns', 'exec', this.host(i).ns, this.nft, 'flush', 'table', 'inet', table]);
  }

  /** Removes tables, namespaces, veths and the bridge, newest first. Idempotent. */
  destroy(): void {
    for (const undo of this.undos.splice(0).reverse()) undo();
  }

  /** What of this lab the system still shows (should be empty after destroy()). */
  leftovers(): string[] {
    const left: string[] = [];
    const namespaces = run(this.ip, ['netns', 'list']);
    for (const h of this.hosts) if (namespaces.includes(h.ns)) left.push(`namespace ${h.ns}`);
    if (tryRun(this.ip, ['link', 'show', this.bridge])) left.push(`bridge ${this.bridge}`);
    return left;
  }
}

/** A 10.213.X.0/24 that no interface or route of this machine uses. */
function freeSubnet(ip: string): string {
  const used = run(ip, ['-4', 'addr']) + run(ip, ['-4', 'route']);
  for (let attempt = 0; attempt < 100; attempt++) {
    const subnet = `10.213.${randomInt(1, 255)}`;
    if (!used.includes(`${subnet}.`)) return subnet;
  }
  throw new Error('no free 10.213.X.0/24 subnet');
}
