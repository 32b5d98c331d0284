/**
 * A small RFC 4180 CSV reader for evaluation inputs (prediction and reader tables). It accepts a UTF-8 byte
 * order mark, UTF-16 with a byte order mark, CRLF or LF line ends, quoted fields with doubled quotes, and falls
 * back to GBK when the bytes are not valid UTF-8, because tables exported on Chinese-locale Windows machines are
 * often GBK-encoded.
 */
import { readFileSync } from 'node:fs';
import iconv from 'iconv-lite';
import { LilnetError } from '../errors.ts';

export interface CsvTable {
  /** Column names from the header row, trimmed. */
  header: string[];
  /** Data rows; each has exactly `header.length` cells. */
  rows: string[][];
  /** 1-based line number in the file of each data row, for error messages. */
  lineNumbers: number[];
  /** The file the table came from, or a label such as `<string>`. */
  source: string;
}

/**
 * Decodes file bytes as UTF-16 when they start with its byte order mark (Excel's "Unicode text" export), else as
 * UTF-8, or as GBK when they are not valid UTF-8.
 */
export function decodeCsvBytes(bytes: Uint8Array): string {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) {
    return new TextDecoder('utf-16le').decode(bytes);
  }
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    // Swapped to little-endian because Node builds without full ICU lack a utf-16be TextDecoder.
    const swapped = Buffer.from(bytes.subarray(0, bytes.length - (bytes.length % 2)));
    return new TextDecoder('utf-16le').decode(swapped.swap16());
  }
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return iconv.decode(Buffer.from(bytes), 'gbk');
  }
}

/** Splits CSV text without any quote character: one record per non-blank line, cells split at commas. */
function splitUnquotedRecords(text: string): { cells: string[]; line: number }[] {
  const records: { cells: string[]; line: number }[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  for (let index = 0; index < lines.length; index += 1) {
    if (lines[index].trim() !== '') records.push({ cells: lines[index].split(','), line: index + 1 });
  }
  return records;
}

/** Splits CSV text into records of raw cells, tracking the line on which each record starts. */
function splitRecords(text: string, source: string): { cells: string[]; line: number }[] {
  const records: { cells: string[]; line: number }[] = [];
  let cells: string[] = [];
  let cell = '';
  let inQuotes = false;
  let line = 1;
  let recordLine = 1;
  let index = 0;

  const endRecord = (): void => {
    cells.push(cell);
    const blank = cells.length === 1 && cells[0].trim() === '';
    if (!blank) records.push({ cells, line: recordLine });
    cells = [];
    cell = '';
  };

  while (index < text.length) {
    const char = text[index];
    if (inQuotes) {
      if (char === '"') {
        if (text[index + 1] === '"') {
          cell += '"';
          index += 2;
          continue;
        }
        inQuotes = false;
      } else {
        if (char === '\n') line += 1;
        cell += char;
      }
      index += 1;
      continue;
    }
    if (char === '"' && cell.trim() === '') {
      inQuotes = true;
      cell = '';
    } else if (char === ',') {
      cells.push(cell);
      cell = '';
    } else if (char === '\n' || char === '\r') {
      if (char === '\r' && text[index + 1] === '\n') index += 1;
      endRecord();
      line += 1;
      recordLine = line;
    } else {
      cell += char;
    }
    index += 1;
  }
  if (inQuotes) {
    throw new LilnetError(
      'EVAL_CSV_MALFORMED',
      `${source}: a quoted field opened on line ${recordLine} is never closed`,
      {
        hint: 'close the field with a double quote, or write a literal quote inside a field as two quotes ("")',
        file: source,
      },
    );
  }
  if (cell !== '' || cells.length > 0) endRecord();
  return records;
}

/** Parses CSV text into a header and rows of equal width; `source` names the input in error messages. */
export function parseCsv(text: string, source = '<string>'): CsvTable {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  // Most prediction tables contain no quotes; splitting them directly is several times faster.
  const records = body.includes('"') ? splitRecords(body, source) : splitUnquotedRecords(body);
  if (records.length === 0) {
    throw new LilnetError('EVAL_CSV_MALFORMED', `${source} is empty: no header row found`, {
      hint: 'write a header row naming the columns, then one row per patient or image',
      file: source,
    });
  }
  const header = records[0].cells.map((name) => name.trim());
  const otherSeparator =
    header.length === 1 ? [';', '\t'].find((separator) => header[0].includes(separator)) : undefined;
  if (otherSeparator !== undefined) {
    const separatorName = otherSeparator === ';' ? '";"' : 'a tab';
    throw new LilnetError(
      'EVAL_CSV_MALFORMED',
      `${source}: the header row has one column and contains ${separatorName}, but cells must be separated by commas`,
      {
        hint: 'save the table as comma-separated CSV (in Excel: "CSV UTF-8 (Comma delimited)"), with a dot as the decimal mark',
        file: source,
      },
    );
  }
  const seen = new Set<string>();
  for (const name of header) {
    if (name === '') {
      throw new LilnetError('EVAL_CSV_MALFORMED', `${source}: the header row has an empty column name`, {
        hint: 'name every column in the header row',
        file: source,
      });
    }
    if (seen.has(name)) {
      throw new LilnetError(
        'EVAL_CSV_MALFORMED',
        `${source}: column "${name}" appears twice in the header row`,
        {
          hint: 'give every column a distinct name',
          file: source,
        },
      );
    }
    seen.add(name);
  }

  const rows: string[][] = [];
  const lineNumbers: number[] = [];
  for (const record of records.slice(1)) {
    if (record.cells.length !== header.length) {
      throw new LilnetError(
        'EVAL_CSV_MALFORMED',
        `${source}, line ${record.line}: ${record.cells.length} cells, but the header has ${header.length} columns`,
        { hint: 'every row needs one cell per header column; quote cells that contain commas', file: source },
      );
    }
    rows.push(record.cells.map((value) => value.trim()));
    lineNumbers.push(record.line);
  }
  return { header, rows, lineNumbers, source };
}

/** Reads and parses a CSV file, with a coded error when it is missing or unreadable. */
export function readCsvFile(path: string): CsvTable {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE';
    throw new LilnetError(code, `cannot read ${path}: ${(error as Error).message}`, {
      hint:
        code === 'FILE_NOT_FOUND'
          ? 'check the path of the CSV file'
          : 'check that the path is a file you may read',
      file: path,
      cause: error,
    });
  }
  return parseCsv(decodeCsvBytes(bytes), path);
}
