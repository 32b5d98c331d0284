/**
 * Runs the Python test oracles of this folder with Debian's /usr/bin/python3 (python3-sklearn, python3-scipy),
 * passing the request as JSON on stdin. The `python3` first on PATH may lack these modules, hence the fixed path.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const SYSTEM_PYTHON = '/usr/bin/python3';

export function runPythonOracle<T>(script: 'sklearn_oracle.py' | 'stats_oracle.py', request: unknown): T {
  const path = fileURLToPath(new URL(script, import.meta.url));
  const result = spawnSync(SYSTEM_PYTHON, [path], {
    input: JSON.stringify(request),
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error) throw new Error(`cannot run ${SYSTEM_PYTHON} ${script}: ${result.error.message}`);
  if (result.status !== 0)
    throw new Error(`${script} failed with exit code ${result.status}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}
