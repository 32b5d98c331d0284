/** Runs `node bin/lilnet.js` from the repository root and returns its exit status and output. */
import { spawnSync } from 'node:child_process';
import { REPOSITORY_ROOT } from '../helpers/shared.ts';

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export function runLilnet(args: string[]): CliResult {
  const result = spawnSync(process.execPath, ['bin/lilnet.js', ...args], {
    cwd: REPOSITORY_ROOT,
    encoding: 'utf8',
    env: { ...process.env, LILNET_LOG_LEVEL: 'warn' },
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command with `--json` and parses stdout, failing with stderr when the command fails. */
export function runLilnetJson<T>(args: string[]): T {
  const result = runLilnet([...args, '--json']);
  if (result.status !== 0)
    throw new Error(`lilnet ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
