/**
 * Structured logging. One root pino logger writes JSON lines to stderr, so that stdout stays free for command
 * output such as `--json` documents; each module takes a child logger with {@link moduleLogger}.
 *
 * Privacy: DICOM patient identifiers must never be logged. The root logger redacts the usual field names as a
 * safety net, but callers must not pass names or IDs from DICOM headers in the first place.
 */
import { destination, pino, type Logger } from 'pino';

const REDACTED_PATHS = [
  'patientName',
  'patientId',
  'PatientName',
  'PatientID',
  'PatientBirthDate',
  'AccessionNumber',
  '*.patientName',
  '*.patientId',
  '*.PatientName',
  '*.PatientID',
  '*.PatientBirthDate',
  '*.AccessionNumber',
];

function defaultLevel(): string {
  if (process.env.LILNET_LOG_LEVEL) return process.env.LILNET_LOG_LEVEL;
  return process.env.NODE_TEST_CONTEXT ? 'warn' : 'info';
}

export const rootLogger: Logger = pino(
  {
    name: 'lilnet',
    level: defaultLevel(),
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
  },
  destination({ fd: 2, sync: true }),
);

/** Returns the child logger of one module, e.g. `moduleLogger('imaging.dicom')`. */
export function moduleLogger(module: string): Logger {
  return rootLogger.child({ module });
}
