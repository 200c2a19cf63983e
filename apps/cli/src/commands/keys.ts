// `trolley keys`: the cluster's keys (ZeroMQ CURVE; @trolley/node's keys.ts says what they are).
// `keys new NAME --role ROLE` makes a member's key pair in a keys folder: NAME.key (the secret,
// owner-only) and NAME.pub (the public half, with the name and role). `keys list` lists the
// keyring: the .pub files of the folder, which are exactly the members its process trusts. So
// adding a member is making its key on its machine and copying its .pub into every member's
// folder; clients need no key, only the proxy's public key in the cloud address.
//
// The folder is --keys, else $TROLLEY_KEYS, else ./keys: the same folder `trolley node`,
// `trolley proxy` and the operator commands read.

import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { TrolleyError } from '@trolley/core/errors';
import { Keyring, writeMemberKey, type MemberKey, type MemberRole } from '@trolley/node/keys';
import { globalsOf, keysFolderGiven } from '../globals.ts';
import { summaries } from './summaries.ts';

const roles: readonly MemberRole[] = ['node', 'proxy', 'operator'];

/** --keys, else $TROLLEY_KEYS, else ./keys. */
function keysDirOf(o: { keys?: string }): string {
  return keysFolderGiven(o.keys)?.dir ?? 'keys';
}

function roleOf(value: string): MemberRole {
  if (!roles.includes(value as MemberRole))
    throw new TrolleyError(
      'invalid_argument',
      `--role must be node, proxy or operator, not ${JSON.stringify(value)}`,
    );
  return value as MemberRole;
}

/** What to do with a new key, by role: who needs its .pub, and the command that uses it. */
function nextSteps(name: string, role: MemberRole, dir: string, publicKey: string): string[] {
  const copy =
    `copy ${name}.pub into the keys folder of every member (every node, proxy and operator: ` +
    `one shared folder of .pub files, say, copied to each machine); a member trusts exactly the .pub files in its folder`;
  switch (role) {
    case 'node':
      return [
        copy,
        `and put the other members' .pub files in ${dir}`,
        `run it under this name: trolley node --id ${name} --keys ${dir} --listen tcp://0.0.0.0:6001 ` +
          `--advertise tcp://HOST:6001 --proxy tcp://PROXY:5556#PROXYKEY --seeds …`,
        `an operator puts it in the ring: trolley cluster add-node --id ${name} --endpoint tcp://HOST:6001 --keys DIR`,
      ];
    case 'proxy':
      return [
        copy,
        `and put the nodes' .pub files in ${dir}`,
        `run it under this name: trolley proxy --name ${name} --keys ${dir} --bind 0.0.0.0`,
        `nodes reach it at tcp://HOST:5556#${publicKey} (their --proxy)`,
        `clients at tcp://HOST:5555#${publicKey}: trolley config set cloud tcp://HOST:5555#${publicKey}`,
      ];
    case 'operator':
      return [
        `copy ${name}.pub into every node's keys folder (nodes answer operators they know)`,
        `and put the nodes' .pub files in ${dir}`,
        `then: trolley cluster status --keys ${dir}` +
          (name === 'operator' ? '' : ` --operator ${name}`) +
          ' (add-node and remove-node take the same)',
      ];
  }
}

export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description(summaries.keys)
    .addHelpText(
      'after',
      '\nA member (storage node, proxy, operator) proves who it is with its key; clients need none.\n' +
        "Make each member's key on its own machine, then copy every .pub into every member's keys folder.",
    );

  keys
    .command('new <name>')
    .description('make a key pair: NAME.key (secret, owner-only) and NAME.pub (copy it to the others)')
    .requiredOption('--role <role>', 'node, proxy or operator')
    .option('--keys <dir>', 'keys folder (default: $TROLLEY_KEYS, else ./keys)')
    .action((name: string, o: { role: string; keys?: string }, command: Command) => {
      const role = roleOf(o.role);
      const dir = keysDirOf(o);
      const made = writeMemberKey(dir, name, role); // refuses a bad name and an existing key
      const key = join(dir, `${name}.key`);
      const pub = join(dir, `${name}.pub`);
      if (globalsOf(command).json === true) {
        process.stdout.write(
          `${JSON.stringify({ name, role, publicKey: made.publicKey, key: resolve(key), pub: resolve(pub) })}\n`,
        );
        return;
      }
      process.stdout.write(
        `Made the ${role} key ${name}:\n` +
          `  ${key}  secret, owner-only: it stays on this machine\n` +
          `  ${pub}  public\n` +
          `Public key: ${made.publicKey}\n\n` +
          `Next:\n${nextSteps(name, role, dir, made.publicKey)
            .map((line) => `  - ${line}`)
            .join('\n')}\n`,
      );
    });

  keys
    .command('list')
    .description("the keyring: every member's .pub in the keys folder (name, role, public key)")
    .option('--keys <dir>', 'keys folder (default: $TROLLEY_KEYS, else ./keys)')
    .action((o: { keys?: string }, command: Command) => {
      const dir = keysDirOf(o);
      if (!existsSync(dir))
        throw new TrolleyError(
          'not_found',
          `no keys folder ${dir}; give --keys <dir> (or set $TROLLEY_KEYS), or make a key: ` +
            `trolley keys new <name> --role <node|proxy|operator> --keys ${dir}`,
        );
      const problems: string[] = [];
      const members = new Keyring(dir, (p) => problems.push(p))
        .members()
        .sort((a, b) => roles.indexOf(a.role) - roles.indexOf(b.role) || a.id.localeCompare(b.id));
      for (const p of problems) process.stderr.write(`trolley: ${p}\n`);
      const secret = (m: MemberKey): boolean => existsSync(join(dir, `${m.id}.key`));
      if (globalsOf(command).json === true) {
        process.stdout.write(
          `${JSON.stringify({ keys: resolve(dir), members: members.map((m) => ({ ...m, secret: secret(m) })) })}\n`,
        );
        return;
      }
      if (members.length === 0) {
        process.stdout.write(
          `No keys in ${dir} yet; make one with trolley keys new <name> --role <node|proxy|operator>\n`,
        );
        return;
      }
      const width = Math.max(4, ...members.map((m) => m.id.length)) + 2;
      process.stdout.write(`${'NAME'.padEnd(width)}${'ROLE'.padEnd(10)}PUBLIC KEY\n`);
      for (const m of members)
        process.stdout.write(
          `${m.id.padEnd(width)}${m.role.padEnd(10)}${m.publicKey}${secret(m) ? '  (its secret key is here)' : ''}\n`,
        );
    });
}
