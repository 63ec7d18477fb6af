// File readers for populate: every input format becomes a list of SQS message bodies (strings).
// Nothing is dropped silently: a line, element or row that is not a valid order is still sent,
// so the service sees it and rejects it.

import ExcelJS from 'exceljs';

export type InputFormat = 'ndjson' | 'json' | 'csv' | 'xlsx';
/** A JSON number token kept as written (JSON.rawJSON): JSON.stringify emits its text unchanged. */
export interface RawNumber {
  readonly rawJSON: string;
}
export type JsonValue = string | number | boolean | null | RawNumber | JsonValue[] | { [key: string]: JsonValue };

// JSON.rawJSON (Node 21+) is not in TypeScript's lib yet.
const { rawJSON } = JSON as unknown as { rawJSON(this: void, text: string): RawNumber };

/**
 * JSON.parse reviver: every number keeps the text it was written with, so re-serialising an
 * element sends 10.0000000000000001 or 1e2 as written, never a float's shortest text (the
 * service judges money and quantities as written, docs/DESIGN.md).
 */
function numbersAsWritten(_key: string, value: unknown, context?: { source?: string }): unknown {
  return typeof value === 'number' && typeof context?.source === 'string' ? rawJSON(context.source) : value;
}

/** Cell text that is a JSON number token, kept as written; any other text stays a string. */
function numberAsWritten(text: string): JsonValue {
  try {
    return rawJSON(text.trim());
  } catch {
    return text; // not a JSON number (e.g. "007.50"): sent as text, judged by the service
  }
}

export class InputError extends Error {}

const EXTENSIONS: Record<string, InputFormat> = {
  '.ndjson': 'ndjson',
  '.jsonl': 'ndjson',
  '.json': 'json',
  '.csv': 'csv',
  '.xlsx': 'xlsx',
};

/** The input format from a file name's extension (case-insensitive), or null. */
export function formatFromPath(path: string): InputFormat | null {
  const m = /\.[^./\\]+$/.exec(path);
  if (!m) return null;
  return EXTENSIONS[m[0].toLowerCase()] ?? null;
}

export const SUPPORTED_EXTENSIONS = Object.keys(EXTENSIONS);

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

/**
 * NDJSON: one message per non-empty line, sent as the raw line text. Lines end with LF or
 * CRLF; in a file without any LF (old Mac files), with a lone CR. JSON allows a CR as
 * whitespace, so a CR in a file that has LFs never ends a line.
 */
export function readNdjson(text: string): string[] {
  return readNdjsonAt(text).bodies;
}

function readNdjsonAt(text: string): Located {
  const bodies: string[] = [];
  const where: string[] = [];
  const source = stripBom(text);
  source.split(source.includes('\n') ? /\r?\n/ : '\r').forEach((line, i) => {
    if (line.trim() === '') return;
    bodies.push(line);
    where.push(`line ${i + 1}`);
  });
  return { bodies, where };
}

/** Message bodies and, for each, where it is in the file ("line 7", "row 3", "element 2"). */
export interface Located {
  readonly bodies: string[];
  readonly where: string[];
}

/** JSON: an array; each element is re-serialised with JSON.stringify, numbers as written. */
export function readJsonArray(text: string): string[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stripBom(text), numbersAsWritten);
  } catch (e) {
    if (e instanceof RangeError) {
      // The reviver recurses: a few thousand levels of nesting exhaust the stack. No order is that deep.
      throw new InputError('an element is nested too deeply to read (thousands of levels; no order is)');
    }
    throw new InputError(`not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(parsed)) {
    throw new InputError(
      `a .json file must hold an array of orders, found ${parsed === null ? 'null' : typeof parsed}`,
    );
  }
  return parsed.map((el) => JSON.stringify(el));
}

/**
 * RFC 4180 CSV → rows of fields. Quoted fields may hold commas, doubled quotes and line breaks;
 * records end with CRLF or LF; a BOM is ignored; blank lines are skipped.
 */
export function parseCsv(text: string): string[][] {
  return parseCsvAt(text).rows;
}

/** parseCsv, with the line each record starts on (1-based). */
function parseCsvAt(text: string): { rows: string[][]; lines: number[] } {
  const src = stripBom(text);
  const rows: string[][] = [];
  const lines: number[] = [];
  let line = 1; // the line at src[i]
  let rowLine = 1; // the line the current record started on
  let quotedFrom = 1; // the line the current quoted field started on
  let row: string[] = [];
  let field = '';
  let quoted = false; // inside a quoted field
  let wasQuoted = false; // the current field started with a quote
  let i = 0;
  const endField = () => {
    row.push(field);
    field = '';
    wasQuoted = false;
  };
  const endRow = () => {
    endField();
    if (!(row.length === 1 && row[0] === '')) {
      rows.push(row);
      lines.push(rowLine);
    }
    row = [];
  };
  while (i < src.length) {
    const c = src[i];
    if (quoted) {
      if (c === '"') {
        if (src[i + 1] === '"') {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i += 1;
        continue;
      }
      if (c === '\n') line += 1;
      field += c;
      i += 1;
      continue;
    }
    if (c === '"' && field === '' && !wasQuoted) {
      quoted = true;
      wasQuoted = true;
      quotedFrom = line;
      i += 1;
      continue;
    }
    if (c === ',') {
      endField();
      i += 1;
      continue;
    }
    if (c === '\r' && src[i + 1] === '\n') {
      endRow();
      i += 2;
      rowLine = ++line;
      continue;
    }
    if (c === '\n' || c === '\r') {
      endRow();
      i += 1;
      rowLine = ++line;
      continue;
    }
    field += c; // includes text after a closing quote ("ab"c → abc), as lenient parsers do
    i += 1;
  }
  if (quoted) throw new InputError(`CSV ends inside the quoted field that starts on line ${quotedFrom} (unbalanced ")`);
  if (field !== '' || row.length > 0 || wasQuoted) endRow();
  return { rows, lines };
}

/** Header cell → key: trimmed and lower-cased ("Order_ID " → "order_id"). */
export function headerKey(cell: JsonValue | undefined): string {
  const text =
    typeof cell === 'string' ? cell : typeof cell === 'number' || typeof cell === 'boolean' ? String(cell) : '';
  return text.trim().toLowerCase();
}

const NUMERIC_TEXT = /^\s*-?\d+(?:\.\d+)?\s*$/;

/**
 * One spreadsheet row → an order object with the header's keys. Empty cells become null. The
 * `items` cell's JSON text becomes an array when it parses as one (otherwise the original text is
 * kept so the service rejects it), and an `order_value` written as decimal text becomes a JSON
 * number. Numbers in text keep the text they were written with (the amount is never passed
 * through a float); a number cell of a workbook is a float already and is sent as one, but
 * in an `order_id` or `user_id` column it is sent as its text (ids are strings).
 */
export function rowToOrder(keys: readonly string[], cells: readonly JsonValue[]): Record<string, JsonValue> {
  const order: Record<string, JsonValue> = {};
  keys.forEach((key, col) => {
    if (key === '') return;
    let v: JsonValue = col < cells.length ? cells[col] : null;
    if (v === undefined || v === '') v = null;
    if (key === 'items' && typeof v === 'string') {
      try {
        const parsed: unknown = JSON.parse(v, numbersAsWritten);
        if (Array.isArray(parsed)) v = parsed as JsonValue[];
      } catch {
        // keep the text: not JSON
      }
    } else if (key === 'order_value' && typeof v === 'string' && NUMERIC_TEXT.test(v)) {
      v = numberAsWritten(v);
    } else if ((key === 'order_id' || key === 'user_id') && typeof v === 'number') {
      // A spreadsheet turns an id typed as 12345 into a number cell; the id is its text.
      v = String(v);
    }
    order[key] = v;
  });
  return order;
}

function isBlankRow(cells: readonly JsonValue[]): boolean {
  return cells.every((c) => c === null || c === undefined || (typeof c === 'string' && c.trim() === ''));
}

const ORDER_FIELDS = ['order_id', 'user_id', 'order_timestamp', 'order_value', 'items'];
const ALL_FIELDS = [...ORDER_FIELDS, 'shipping_address', 'payment_method'];

/** Header + rows (already converted cells) → message bodies. */
export function tableToMessages(table: readonly (readonly JsonValue[])[]): string[] {
  return tableToMessagesAt(table, (r) => `row ${r + 1}`).bodies;
}

/**
 * tableToMessages, with each message's place (`placeOf(r)` for the table's row r). A row
 * with a value under no header column is refused (an unquoted comma would otherwise drop
 * part of the row without a word), and so is a header that names none of the order's fields.
 */
function tableToMessagesAt(table: readonly (readonly JsonValue[])[], placeOf: (r: number) => string): Located {
  if (table.length === 0) throw new InputError('the file has no header row');
  const keys = table[0].map(headerKey);
  if (keys.every((k) => k === '')) throw new InputError('the header row is empty');
  if (!keys.some((k) => ORDER_FIELDS.includes(k))) {
    throw new InputError(`the header row names none of the order's fields (${ORDER_FIELDS.join(', ')})`);
  }
  // A second column of an order field would overwrite the first without a word.
  const twice = keys.findIndex((k, col) => ALL_FIELDS.includes(k) && keys.indexOf(k) !== col);
  if (twice >= 0) {
    throw new InputError(
      `the header row names ${keys[twice]} twice (columns ${keys.indexOf(keys[twice]) + 1} and ${twice + 1})`,
    );
  }
  // "Order ID" for order_id: sent as an unknown field, every row would be rejected for the
  // missing one. Other unknown names are sent as they are (the service ignores them).
  const loose = (name: string): string => name.replace(/[\s_-]+/g, '');
  for (const [col, key] of keys.entries()) {
    const meant = ALL_FIELDS.find((f) => f !== key && loose(f) === loose(key));
    if (meant !== undefined && !keys.includes(meant)) {
      throw new InputError(`the header of column ${col + 1} is "${key}": write it ${meant}`);
    }
  }
  const bodies: string[] = [];
  const where: string[] = [];
  for (let r = 1; r < table.length; r++) {
    const cells = table[r];
    if (isBlankRow(cells)) continue;
    const stray = cells.findIndex((c, col) => (keys[col] ?? '') === '' && c !== null && c !== '');
    if (stray >= 0) {
      throw new InputError(
        `${placeOf(r)}: a value in column ${stray + 1}, which has no name in the header row (the row has ` +
          `${cells.length} fields, the header names ${keys.filter((k) => k !== '').length}; an unquoted comma, ` +
          'or a column without a header?)',
      );
    }
    bodies.push(JSON.stringify(rowToOrder(keys, cells)));
    where.push(placeOf(r));
  }
  return { bodies, where };
}

export function readCsv(text: string): string[] {
  return readCsvAt(text).bodies;
}

function readCsvAt(text: string): Located {
  const { rows, lines } = parseCsvAt(text);
  return tableToMessagesAt(rows, (r) => `line ${lines[r] ?? r + 1}`);
}

type CellLike = {
  text?: unknown;
  richText?: { text: string }[];
  result?: unknown;
  formula?: unknown;
  sharedFormula?: unknown;
  hyperlink?: unknown;
  error?: unknown;
};

/**
 * An exceljs cell value → JSON: Date → ISO string with Z, numbers stay numbers, rich text → its
 * text, formulas → their cached result, hyperlinks → their text, errors ("#N/A") → that text.
 */
export function cellToJson(value: unknown): JsonValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'object') {
    const v = value as CellLike;
    if (Array.isArray(v.richText)) return v.richText.map((r) => r.text).join('');
    if (isFormula(v)) return cellToJson(v.result);
    if ('hyperlink' in v) return cellToJson(v.text);
    if ('error' in v) return String(v.error);
    if ('text' in v) return cellToJson(v.text);
    return JSON.stringify(value) ?? null;
  }
  return null;
}

/**
 * The first visible worksheet of an .xlsx workbook → its name and table of JSON cells
 * (header row first). A formula cell without a stored result (a file written by a program
 * that does not compute formulas) is refused, naming it, rather than sent as an empty cell.
 */
async function readXlsxSheet(data: Uint8Array | ArrayBuffer): Promise<{ name: string; table: JsonValue[][] }> {
  const workbook = new ExcelJS.Workbook();
  try {
    // exceljs's typings want a Node Buffer; any Uint8Array/ArrayBuffer works at run time.
    await workbook.xlsx.load(data as unknown as ArrayBuffer);
  } catch (e) {
    throw new InputError(`not a readable .xlsx workbook: ${(e as Error).message}`);
  }
  const sheet = workbook.worksheets.find((w) => w.state === 'visible' || w.state === undefined);
  if (!sheet) throw new InputError('the workbook has no visible worksheet');
  const width = sheet.columnCount;
  const table: JsonValue[][] = [];
  for (let r = 1; r <= sheet.rowCount; r++) {
    const row = sheet.getRow(r);
    const cells: JsonValue[] = [];
    for (let c = 1; c <= width; c++) {
      const cell = row.getCell(c);
      const value: unknown = cell.value;
      if (isFormula(value) && (value as CellLike).result === undefined) {
        throw new InputError(
          `worksheet "${sheet.name}", cell ${cell.address}: a formula without a stored result ` +
            '(open and save the file in a spreadsheet program, which computes it)',
        );
      }
      cells.push(zeroPadded(value, cell.numFmt) ?? cellToJson(value));
    }
    table.push(cells);
  }
  return { name: sheet.name, table };
}

/**
 * A whole number under a zero-padding format ("00000": ids, postcodes) → the text the sheet
 * shows ("00007"): a spreadsheet stores 7, and sending 7 would name another order or user.
 */
function zeroPadded(value: unknown, numFmt: string | undefined): string | undefined {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) return undefined;
  if (numFmt === undefined || !/^0+$/.test(numFmt)) return undefined;
  return String(value).padStart(numFmt.length, '0');
}

function isFormula(value: unknown): boolean {
  return typeof value === 'object' && value !== null && ('formula' in value || 'sharedFormula' in value);
}

export async function readXlsx(data: Uint8Array | ArrayBuffer): Promise<string[]> {
  return (await readMessagesAt('xlsx', data instanceof Uint8Array ? data : new Uint8Array(data))).bodies;
}

/** Table errors of a workbook name the worksheet they are about. */
async function readXlsxAt(data: Uint8Array): Promise<Located> {
  const { name, table } = await readXlsxSheet(data);
  try {
    return tableToMessagesAt(table, (r) => `row ${r + 1}`);
  } catch (error) {
    if (error instanceof InputError) throw new InputError(`worksheet "${name}": ${error.message}`);
    throw error;
  }
}

/**
 * The file's bytes as UTF-8 text; a file that is not UTF-8 (Windows-1252, UTF-16) is refused,
 * naming the first line that is not, rather than sent with replacement characters.
 */
function utf8Text(data: Uint8Array): string {
  const strict = new TextDecoder('utf-8', { fatal: true });
  try {
    return strict.decode(data);
  } catch {
    // Line by line, lines ending at LF, CRLF or a lone CR, as the readers count them.
    const utf16 = (data[0] === 0xff && data[1] === 0xfe) || (data[0] === 0xfe && data[1] === 0xff);
    let line = 1;
    let start = 0;
    for (let i = 0; i <= data.length; i++) {
      const byte = data[i];
      if (i < data.length && byte !== 0x0a && byte !== 0x0d) continue;
      try {
        strict.decode(data.subarray(start, i));
      } catch {
        throw new InputError(
          `line ${line} is not UTF-8 text${utf16 ? ' (the file is UTF-16)' : ''}: save the file as UTF-8`,
        );
      }
      if (byte === 0x0d && data[i + 1] === 0x0a) i++;
      line++;
      start = i + 1;
    }
    throw new InputError('the file is not UTF-8 text: save it as UTF-8');
  }
}

/** Any supported file's bytes → message bodies. */
export async function readMessages(format: InputFormat, data: Uint8Array): Promise<string[]> {
  return (await readMessagesAt(format, data)).bodies;
}

/** readMessages, with where each message is in the file, for messages that name it. */
export async function readMessagesAt(format: InputFormat, data: Uint8Array): Promise<Located> {
  if (format === 'xlsx') return readXlsxAt(data);
  const text = utf8Text(data);
  if (format === 'ndjson') return readNdjsonAt(text);
  if (format === 'json') {
    const bodies = readJsonArray(text);
    return { bodies, where: bodies.map((_, i) => `element ${i + 1}`) };
  }
  return readCsvAt(text);
}
