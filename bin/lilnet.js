#!/usr/bin/env node
// Entry point of the `lilnet` command: registers the TypeScript loader, then runs the CLI.
import { register } from 'tsx/esm/api';

// Commands report progress in plain lines on stderr, so their JSON logs start at warnings. The server keeps
// info-level logs. LILNET_LOG_LEVEL overrides both.
if (!process.env.LILNET_LOG_LEVEL && process.argv[2] !== 'serve') {
  process.env.LILNET_LOG_LEVEL = 'warn';
}

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv);
