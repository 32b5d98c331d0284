// Entry point of a job process: registers the TypeScript loader, then runs the job process module.
import { register } from 'tsx/esm/api';

register();
await import('./job-process.ts');
