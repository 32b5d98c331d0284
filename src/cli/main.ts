/**
 * The `lilnet` command line. Each subcommand lives in its own file under `commands/` and is listed in
 * `commands/index.ts`.
 */
import { Command, CommanderError } from 'commander';
import { isLilnetError } from '../errors.ts';
import { moduleLogger } from '../log.ts';
import { registerCommands } from './commands/index.ts';

const log = moduleLogger('cli');

export function buildProgram(): Command {
  const program = new Command('lilnet')
    .description('AI-assisted diagnosis of focal liver lesions on multiphase contrast-enhanced CT')
    .version('0.1.0')
    .allowExcessArguments(false)
    .exitOverride()
    .showHelpAfterError();
  registerCommands(program);
  return program;
}

/** Runs the CLI with Node-style `argv` and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed its message; help and version exit with code 0.
      return error.exitCode;
    }
    if (isLilnetError(error)) {
      process.stderr.write(`lilnet: error ${error.toDisplayString()}\n`);
      return 1;
    }
    log.error({ err: error }, 'unexpected failure');
    process.stderr.write(`lilnet: unexpected error: ${(error as Error)?.message ?? String(error)}\n`);
    return 70;
  }
}
