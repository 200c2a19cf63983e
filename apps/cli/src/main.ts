// The `trolley` command. This issue gives it a help text and a version; the client, cloud and
// cluster commands arrive with their issues and hang off the same program.
import { Command, CommanderError } from 'commander';
import { PROTOCOL_VERSION } from '@trolley/core';

export function buildProgram(): Command {
  const program = new Command('trolley')
    .description('Local-first shopping lists with a Dynamo-style cloud')
    .version(`0.1.0 (format ${PROTOCOL_VERSION})`, '-v, --version')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s), writeOut: (s) => process.stdout.write(s) });
  return program;
}

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    if (argv.length === 0) {
      program.outputHelp();
      return 0;
    }
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) return error.exitCode;
    throw error;
  }
}
