// The `trolley` command: one program, subcommands registered from ./commands. Errors are one
// clear line on stderr and a non-zero exit code; --help everywhere.
//
// A command starts at once because it loads only what it uses: main reads which top-level command
// the arguments name, loads and registers that command's module alone, and stands in for every
// other command with a one-line entry (its name and summary, enough for --help). So `--version`
// and `--help` load commander and nothing of Trolley's but this file; `list ls` loads the client
// and SQLite but not ZeroMQ; the menu, the cluster launcher, the gateway and the web build load
// only when their command runs.

import { Command, CommanderError } from 'commander';
import { PROTOCOL_VERSION } from '@trolley/core/version';
import { registerGlobalOptions } from './globals.ts';
import { summaries, type CommandName } from './commands/summaries.ts';
import { didYouMean } from './did-you-mean.ts';

type Register = (program: Command) => void;

/** A top-level command: its usage in --help, and the module that registers it (with its siblings). */
interface Entry {
  usage: string;
  load: () => Promise<Register>;
}

const lists = async (): Promise<Register> => (await import('./commands/lists.ts')).registerLists;
const items = async (): Promise<Register> => (await import('./commands/items.ts')).registerItems;
const sync = async (): Promise<Register> => (await import('./commands/sync.ts')).registerSync;
const config = async (): Promise<Register> => (await import('./commands/config.ts')).registerConfig;
const cluster = async (): Promise<Register> => (await import('./commands/cluster.ts')).registerCluster;
const servers = async (): Promise<Register> => (await import('./commands/servers.ts')).registerServers;
const cloud = async (): Promise<Register> => (await import('./commands/cloud.ts')).registerCloud;
const start = async (): Promise<Register> => (await import('./commands/start.ts')).registerStart;
const history = async (): Promise<Register> => (await import('./commands/history.ts')).registerHistory;
const keys = async (): Promise<Register> => (await import('./commands/keys.ts')).registerKeys;

/** Every top-level command, in the order --help lists them. */
export const commands: Readonly<Record<CommandName, Entry>> = {
  list: { usage: 'list', load: lists },
  item: { usage: 'item', load: items },
  sync: { usage: 'sync [options]', load: sync },
  status: { usage: 'status', load: sync },
  watch: { usage: 'watch [options] <list>', load: sync },
  config: { usage: 'config', load: config },
  history: { usage: 'history [options] <list>', load: history },
  undo: { usage: 'undo [list]', load: history },
  cluster: { usage: 'cluster [options]', load: cluster },
  node: { usage: 'node [options]', load: servers },
  proxy: { usage: 'proxy [options]', load: servers },
  gateway: { usage: 'gateway [options]', load: servers },
  cloud: { usage: 'cloud [options]', load: cloud },
  keys: { usage: 'keys', load: keys },
  start: { usage: 'start [options]', load: start },
};

/** Global options that take a value, so that the command name is not mistaken for one. */
const globalsWithValue = new Set(['--home', '--cloud']);

/** The top-level command the arguments name (`help X` names X), if any. */
export function commandOf(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return argv[i + 1];
    if (globalsWithValue.has(arg)) {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return arg === 'help' ? argv.slice(i + 1).find((a) => !a.startsWith('-')) : arg;
  }
  return undefined;
}

/**
 * The program, with the named command registered for real (all of them when `all` is set, as
 * tests and the help of every command need) and the others as one-line entries.
 */
export async function buildProgram(name?: string, all = false): Promise<Command> {
  const program = new Command('trolley')
    .description('Local-first shopping lists with a Dynamo-style cloud')
    .version(`0.1.0 (format ${PROTOCOL_VERSION})`, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(run trolley --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) })
    // The program's own action, for `trolley` alone or with only global options: the menu (the
    // help when not on a terminal). A program with an action loses the implicit `help` command:
    // keep it.
    .helpCommand(true)
    .allowExcessArguments(true)
    .action(async (_o: unknown, command: Command) => {
      if (command.args.length > 0) {
        const typed = String(command.args[0]);
        const near = didYouMean(typed, [...Object.keys(commands), 'help']);
        command.error(
          `error: unknown command '${typed}'${near.length === 0 ? '' : `\n(Did you mean ${near.join(' or ')}?)`}`,
        );
      }
      const { runMenu } = await import('./commands/menu.ts');
      await runMenu(command);
    });
  registerGlobalOptions(program);
  const wanted = all
    ? [...new Set(Object.values(commands).map((e) => e.load))]
    : name !== undefined && Object.hasOwn(commands, name)
      ? [commands[name as CommandName].load]
      : [];
  for (const register of await Promise.all(wanted.map((load) => load()))) register(program);
  const registered = new Set(program.commands.map((c) => c.name()));
  for (const [commandName, entry] of Object.entries(commands))
    if (!registered.has(commandName))
      program
        .command(entry.usage)
        .description(summaries[commandName as CommandName])
        .allowUnknownOption()
        .allowExcessArguments();
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = await buildProgram(commandOf(argv));
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    const { TrolleyError } = await import('@trolley/core/errors');
    if (error instanceof TrolleyError) {
      process.stderr.write(`trolley: ${error.message}\n`);
      const { exitCodeOf } = await import('./commands/common.ts');
      return exitCodeOf(error);
    }
    throw error;
  }
}
