// Writers for the generated message stream: NDJSON, a JSON array, CSV and XLSX (the original
// Python pipeline's spreadsheet layout: one row per order, items as JSON text).

import ExcelJS from 'exceljs';
import { RawNumber, RawText, serializeDoc } from './json-text.ts';
import type { DocValue } from './json-text.ts';
import { ORDER_KEYS } from './generator.ts';
import type { Message, OutputFormat } from './generator.ts';

export const SPREADSHEET_COLUMNS = ORDER_KEYS;

/** One line per message: the compact order JSON, or the raw (not-JSON) text. */
export function renderNdjson(messages: readonly Message[]): string {
  return messages.map((m) => (m.raw !== undefined ? m.raw : serializeDoc(m.doc as DocValue))).join('\n') + '\n';
}

/** A JSON array, one order per line. Raw not-JSON messages cannot be represented and are refused. */
export function renderJsonArray(messages: readonly Message[]): string {
  const lines = messages.map((m) => {
    if (m.raw !== undefined) throw new Error('a not-JSON message cannot be written into a .json array');
    return `  ${serializeDoc(m.doc as DocValue)}`;
  });
  return lines.length === 0 ? '[]\n' : `[\n${lines.join(',\n')}\n]\n`;
}

function cellText(value: DocValue | undefined): string {
  if (value === undefined || value === null) return '';
  if (value instanceof RawNumber || value instanceof RawText) return value.text;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return serializeDoc(value); // the items array (or any object) as JSON text
}

/** RFC 4180 field: quoted when it holds a comma, quote, line break or edge whitespace. */
export function csvField(text: string): string {
  return /[",\r\n]|^\s|\s$/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function spreadsheetRow(m: Message): (DocValue | undefined)[] {
  if (m.raw !== undefined || !m.doc) throw new Error('a not-JSON message has no spreadsheet row');
  const doc = m.doc;
  return SPREADSHEET_COLUMNS.map((c) => doc[c]);
}

/** CSV with a header row and CRLF line ends. */
export function renderCsv(messages: readonly Message[]): string {
  const lines = [SPREADSHEET_COLUMNS.join(',')];
  for (const m of messages)
    lines.push(
      spreadsheetRow(m)
        .map((v) => csvField(cellText(v)))
        .join(','),
    );
  return lines.join('\r\n') + '\r\n';
}

const FIXED_DATE = new Date(Date.UTC(2026, 0, 1));

/** An .xlsx workbook (one worksheet "orders"); byte-identical for identical input. */
export async function renderXlsx(messages: readonly Message[]): Promise<Uint8Array> {
  const wb = new ExcelJS.Workbook();
  wb.creator = 'generate-orders';
  wb.lastModifiedBy = 'generate-orders';
  wb.created = FIXED_DATE;
  wb.modified = FIXED_DATE;
  const ws = wb.addWorksheet('orders');
  ws.addRow([...SPREADSHEET_COLUMNS]);
  ws.getRow(1).font = { bold: true };
  const tsCol = SPREADSHEET_COLUMNS.indexOf('order_timestamp') + 1;
  for (const m of messages) {
    const values = spreadsheetRow(m).map((v, i): string | number | boolean | Date | null => {
      const column = SPREADSHEET_COLUMNS[i];
      if (v === undefined || v === null) return null;
      if (column === 'order_timestamp' && m.xlsxDate && typeof v === 'string') {
        const ms = Date.parse(v);
        if (!Number.isNaN(ms)) return new Date(ms);
      }
      if (v instanceof RawNumber) return v.toNumber();
      if (typeof v === 'number' || typeof v === 'boolean') return v;
      return cellText(v);
    });
    const row = ws.addRow(values);
    const tsCell = row.getCell(tsCol);
    if (tsCell.value instanceof Date) tsCell.numFmt = 'yyyy-mm-dd hh:mm:ss';
  }
  ws.columns.forEach((col, i) => {
    col.width = [12, 8, 22, 12, 60, 32, 16][i] ?? 14;
  });
  const buf = await wb.xlsx.writeBuffer();
  return normalizeZipTimes(new Uint8Array(buf));
}

/**
 * Sets every entry's modification time in a zip archive to 2026-01-01 00:00 (DOS time), so the
 * archive's bytes depend only on its contents (the zip library stamps the current time).
 */
export function normalizeZipTimes(zip: Uint8Array): Uint8Array {
  const dv = new DataView(zip.buffer, zip.byteOffset, zip.byteLength);
  const dosDate = ((2026 - 1980) << 9) | (1 << 5) | 1;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  const entries = dv.getUint16(eocd + 10, true);
  let p = dv.getUint32(eocd + 16, true);
  for (let n = 0; n < entries; n++) {
    if (dv.getUint32(p, true) !== 0x02014b50) throw new Error('zip central directory is malformed');
    dv.setUint16(p + 12, 0, true);
    dv.setUint16(p + 14, dosDate, true);
    const local = dv.getUint32(p + 42, true);
    if (dv.getUint32(local, true) !== 0x04034b50) throw new Error('zip local header is malformed');
    dv.setUint16(local + 10, 0, true);
    dv.setUint16(local + 12, dosDate, true);
    p += 46 + dv.getUint16(p + 28, true) + dv.getUint16(p + 30, true) + dv.getUint16(p + 32, true);
  }
  return zip;
}

/** The bytes of the orders file in the given format. */
export async function renderMessages(format: OutputFormat, messages: readonly Message[]): Promise<Uint8Array> {
  if (format === 'xlsx') return renderXlsx(messages);
  const text =
    format === 'ndjson' ? renderNdjson(messages) : format === 'json' ? renderJsonArray(messages) : renderCsv(messages);
  return new TextEncoder().encode(text);
}

/** Where the expected aggregates go: data/x.ndjson → data/x.expected.json; data/x.xlsx → data/x.xlsx.expected.json. */
export function expectedPathFor(out: string, format: OutputFormat): string {
  const m = /\.[^./\\]+$/.exec(out);
  const ext = m ? m[0] : '';
  const stem = ext ? out.slice(0, -ext.length) : out;
  return format === 'ndjson' ? `${stem}.expected.json` : `${stem}${ext}.expected.json`;
}
