// The `trolley` command: one program, subcommands registered from ./commands. Errors are one
// clear line on stderr and a non-zero exit code; --help everywhere.

import { Command, CommanderError } from 'commander';
import { PROTOCOL_VERSION, TrolleyError } from '@trolley/core';
import { registerCloud } from './commands/cloud.ts';
import { registerCluster } from './commands/cluster.ts';
import { exitCodeOf } from './commands/common.ts';
import { registerItems } from './commands/items.ts';
import { registerLists } from './commands/lists.ts';
import { registerMenu } from './commands/menu.ts';
import { registerServers } from './commands/servers.ts';
import { registerStart } from './commands/start.ts';
import { registerSync } from './commands/sync.ts';
import { registerGlobalOptions } from './home.ts';

export function buildProgram(): Command {
  const program = new Command('trolley')
    .description('Local-first shopping lists with a Dynamo-style cloud')
    .version(`0.1.0 (format ${PROTOCOL_VERSION})`, '-v, --version')
    .exitOverride()
    .showHelpAfterError('(run trolley --help for usage)')
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  registerGlobalOptions(program);
  registerLists(program);
  registerItems(program);
  registerSync(program);
  registerMenu(program);
  registerCluster(program);
  registerServers(program);
  registerCloud(program);
  registerStart(program);
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    // With no arguments the program's own action runs: the menu (the help when not on a terminal).
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    if (error instanceof TrolleyError) {
      process.stderr.write(`trolley: ${error.message}\n`);
      return exitCodeOf(error);
    }
    throw error;
  }
}
