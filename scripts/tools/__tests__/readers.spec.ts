import ExcelJS from 'exceljs';
import {
  cellToJson,
  formatFromPath,
  InputError,
  parseCsv,
  readCsv,
  readJsonArray,
  readMessages,
  readMessagesAt,
  readNdjson,
  readXlsx,
  rowToOrder,
} from '../readers.ts';

const parseJson = (text: string) => JSON.parse(text) as Record<string, unknown>;

describe('formatFromPath', () => {
  it('maps extensions case-insensitively', () => {
    expect(formatFromPath('data/sample-orders.ndjson')).toBe('ndjson');
    expect(formatFromPath('x.JSONL')).toBe('ndjson');
    expect(formatFromPath('x.json')).toBe('json');
    expect(formatFromPath('x.Csv')).toBe('csv');
    expect(formatFromPath('x.xlsx')).toBe('xlsx');
    expect(formatFromPath('x.txt')).toBeNull();
    expect(formatFromPath('noext')).toBeNull();
    expect(formatFromPath('dir.csv/file')).toBeNull();
  });
});

describe('readNdjson', () => {
  it('sends each non-empty line verbatim, including lines that are not JSON', () => {
    const text = '{"order_id":"A"}\r\n\n   \n  {"order_id":"B"}  \nnot json at all\n{"order_id":"C"';
    expect(readNdjson(text)).toEqual([
      '{"order_id":"A"}',
      '  {"order_id":"B"}  ',
      'not json at all',
      '{"order_id":"C"',
    ]);
  });
  it('ignores a BOM', () => {
    expect(readNdjson('\uFEFF{"a":1}\n')).toEqual(['{"a":1}']);
  });
});

describe('readJsonArray', () => {
  it('stringifies each element, numbers as written', () => {
    expect(readJsonArray('[{"order_id":"A","order_value":20.00}, "text", 5]')).toEqual([
      '{"order_id":"A","order_value":20.00}',
      '"text"',
      '5',
    ]);
  });
  it('never passes an amount or a quantity through a float', () => {
    const [body] = readJsonArray(
      '[{"order_value":10.0000000000000001,"items":[{"quantity":1e2,"price_per_unit":0.10000000000000001}]}]',
    );
    expect(body).toBe(
      '{"order_value":10.0000000000000001,"items":[{"quantity":1e2,"price_per_unit":0.10000000000000001}]}',
    );
  });
  it('says so when an element is nested too deeply to read', () => {
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    expect(() => readJsonArray(`[{"order_id":"A"}, ${deep}]`)).toThrow(/nested too deeply/);
  });
  it('rejects a non-array and invalid JSON', () => {
    expect(() => readJsonArray('{"order_id":"A"}')).toThrow(InputError);
    expect(() => readJsonArray('[{"order_id":')).toThrow(InputError);
  });
});

describe('parseCsv (RFC 4180)', () => {
  it('handles quoted commas, doubled quotes, line breaks inside quotes, CRLF and LF', () => {
    const text = 'a,b,c\r\n"1, Main St","say ""hi""","line1\nline2"\r\n x ,,"  padded "\nlast,row,here';
    expect(parseCsv(text)).toEqual([
      ['a', 'b', 'c'],
      ['1, Main St', 'say "hi"', 'line1\nline2'],
      [' x ', '', '  padded '],
      ['last', 'row', 'here'],
    ]);
  });
  it('skips blank lines, ignores a BOM and a missing final newline', () => {
    expect(parseCsv('\uFEFFh1,h2\n\n1,2\n\n')).toEqual([
      ['h1', 'h2'],
      ['1', '2'],
    ]);
    expect(parseCsv('h,i\n"",x')).toEqual([
      ['h', 'i'],
      ['', 'x'],
    ]);
  });
  it('keeps a trailing empty field', () => {
    expect(parseCsv('a,b\n1,\n')).toEqual([
      ['a', 'b'],
      ['1', ''],
    ]);
  });
  it('fails on an unterminated quoted field, naming the line it starts on', () => {
    expect(() => parseCsv('a\n"open')).toThrow(InputError);
    expect(() => parseCsv('a\nb\n"x\ny\n')).toThrow('the quoted field that starts on line 3');
  });
});

describe('readCsv', () => {
  const header = 'Order_ID , user_id,ORDER_TIMESTAMP,order_value,items,shipping_address,payment_method';
  it('builds order objects: items JSON text → array, order_value → number, header keys case-insensitive', () => {
    const row =
      'ORD-1, u-17 ,2026-03-04T10:15:00Z,99.99,"[{""product_id"":""P-1"",""quantity"":2,""price_per_unit"":20.00}]","1 Main St, Springfield",credit_card';
    const [msg] = readCsv(`${header}\r\n${row}\r\n`);
    expect(parseJson(msg)).toEqual({
      order_id: 'ORD-1',
      user_id: ' u-17 ',
      order_timestamp: '2026-03-04T10:15:00Z',
      order_value: 99.99,
      items: [{ product_id: 'P-1', quantity: 2, price_per_unit: 20 }],
      shipping_address: '1 Main St, Springfield',
      payment_method: 'credit_card',
    });
  });
  it('keeps an items cell that is not a JSON array as the original text, and empty cells as null', () => {
    const msgs = readCsv(
      `${header}\nORD-2,U-1,,12.5,P-3 x2; P-7 x1,addr,paypal\nORD-3,U-1,2026-01-01T00:00:00Z,abc,{"a":1},addr,paypal\n`,
    );
    const a = parseJson(msgs[0]);
    expect(a.items).toBe('P-3 x2; P-7 x1');
    expect(a.order_timestamp).toBeNull();
    expect(a.order_value).toBe(12.5);
    const b = parseJson(msgs[1]);
    expect(b.order_value).toBe('abc');
    expect(b.items).toBe('{"a":1}');
  });
  it('sends order_value and the numbers of the items cell as written', () => {
    const [msg] = readCsv(
      `${header}\nORD-4,U-1,2026-01-01T00:00:00Z, 99.999999999999999 ,"[{""product_id"":""P"",""quantity"":1e2,""price_per_unit"":0.999999999999999999}]",addr,paypal\n`,
    );
    expect(msg).toContain('"order_value":99.999999999999999,');
    expect(msg).toContain('"quantity":1e2,"price_per_unit":0.999999999999999999}');
  });
  it('sends an order_value that is decimal text but no JSON number as text', () => {
    expect(parseJson(readCsv(`${header}\nORD-5,U-1,,007.50,[],addr,paypal\n`)[0]).order_value).toBe('007.50');
  });
  it('sends every non-blank row (nothing silently dropped)', () => {
    expect(readCsv(`${header}\n,,,,,,\nx\n`)).toHaveLength(1);
  });
  it('refuses a row with a value under no header column, naming its line', () => {
    expect(() => readCsv('order_id,user_id\nA,U-1\n\nB,U-2,extra\n')).toThrow(
      'line 4: a value in column 3, which has no name in the header row',
    );
  });
  it('refuses a header that names none of the order fields', () => {
    expect(() => readCsv('foo,bar\n1,2\n')).toThrow("the header row names none of the order's fields");
  });
  it('takes an unknown column named twice (the service ignores it)', () => {
    expect(readCsv('order_id,note,note\nA,x,y\n')).toHaveLength(1);
  });
  it('refuses a header that names one field twice, naming both columns', () => {
    expect(() => readCsv('order_id,user_id,Order_ID\nA,U-1,\n')).toThrow(
      'the header row names order_id twice (columns 1 and 3)',
    );
  });
  it('refuses a header that spells a field another way, saying how to write it', () => {
    expect(() => readCsv('Order ID,user_id,items\nA,U-1,[]\n')).toThrow(
      'the header of column 1 is "order id": write it order_id',
    );
  });
});

describe('readMessagesAt', () => {
  const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
  it('refuses a file that is not UTF-8, naming the first line that is not', async () => {
    const latin1 = Uint8Array.from([...bytes('order_id,shipping_address\nA,ok\nB,Caf'), 0xe9, 0x0a]);
    await expect(readMessagesAt('csv', latin1)).rejects.toThrow('line 3 is not UTF-8 text: save the file as UTF-8');
  });
  it('says so when the file is UTF-16', async () => {
    const utf16 = Uint8Array.from([0xff, 0xfe, ...[...'order_id\n'].flatMap((c) => [c.charCodeAt(0), 0])]);
    await expect(readMessagesAt('csv', utf16)).rejects.toThrow('(the file is UTF-16)');
  });
  it('ends ndjson lines at LF or CRLF, and at a lone CR only in a file without LF', async () => {
    expect((await readMessagesAt('ndjson', bytes('{"a":1}\r\n{"b":2}\n'))).bodies).toEqual(['{"a":1}', '{"b":2}']);
    expect((await readMessagesAt('ndjson', bytes('{"a":1}\r{"b":2}\r'))).bodies).toEqual(['{"a":1}', '{"b":2}']);
    // JSON allows a CR as whitespace: in a file with LFs it is part of its line.
    expect((await readMessagesAt('ndjson', bytes('{"a":1,\r"b":2}\n'))).bodies).toEqual(['{"a":1,\r"b":2}']);
  });
  it('counts lines the same way when it names a line that is not UTF-8', async () => {
    const crOnly = Uint8Array.from([...bytes('{"a":1}\r{"b":2}\r{"c":"Caf'), 0xe9, ...bytes('"}\r')]);
    await expect(readMessagesAt('ndjson', crOnly)).rejects.toThrow('line 3 is not UTF-8 text');
  });
  it('names each ndjson message by its line, blank lines counted', async () => {
    expect((await readMessagesAt('ndjson', bytes('{"a":1}\n\n\n{"b":2}\r\n'))).where).toEqual(['line 1', 'line 4']);
  });
  it('names each CSV message by the line its record starts on, quoted line breaks counted', async () => {
    const text = 'order_id,items\nA,"x\ny"\n\nB,z\n';
    expect(await readMessagesAt('csv', bytes(text))).toEqual({
      bodies: ['{"order_id":"A","items":"x\\ny"}', '{"order_id":"B","items":"z"}'],
      where: ['line 2', 'line 5'],
    });
  });
  it('names each element of a JSON array by its position', async () => {
    expect((await readMessagesAt('json', bytes('[{"a":1},{"b":2}]'))).where).toEqual(['element 1', 'element 2']);
  });
});

describe('rowToOrder', () => {
  it('fills missing trailing cells with null and ignores unnamed columns', () => {
    expect(rowToOrder(['order_id', '', 'user_id'], ['A', 'ignored'])).toEqual({ order_id: 'A', user_id: null });
  });

  it('sends an id typed as a number (a number cell of a workbook) as its text', () => {
    expect(rowToOrder(['order_id', 'user_id', 'order_value'], [12345, 7, 12.5])).toEqual({
      order_id: '12345',
      user_id: '7',
      order_value: 12.5,
    });
  });
});

describe('cellToJson', () => {
  it('converts exceljs cell values', () => {
    expect(cellToJson(new Date(Date.UTC(2026, 2, 4, 10, 15)))).toBe('2026-03-04T10:15:00.000Z');
    expect(cellToJson(99.99)).toBe(99.99);
    expect(cellToJson('x')).toBe('x');
    expect(cellToJson(true)).toBe(true);
    expect(cellToJson(null)).toBeNull();
    expect(cellToJson(undefined)).toBeNull();
    expect(cellToJson({ richText: [{ text: 'U-' }, { text: '17' }] })).toBe('U-17');
    expect(cellToJson({ formula: 'A1*2', result: 40 })).toBe(40);
    expect(cellToJson({ sharedFormula: 'A1', result: new Date(Date.UTC(2026, 0, 1)) })).toBe(
      '2026-01-01T00:00:00.000Z',
    );
    expect(cellToJson({ formula: 'A1' })).toBeNull();
    expect(cellToJson({ text: 'link', hyperlink: 'https://example.com' })).toBe('link');
    expect(cellToJson({ error: '#N/A' })).toBe('#N/A');
  });
});

describe('readXlsx', () => {
  async function workbookBytes(build: (ws: ExcelJS.Worksheet) => void): Promise<Uint8Array> {
    const wb = new ExcelJS.Workbook();
    build(wb.addWorksheet('first'));
    wb.addWorksheet('second').addRow(['ignored']);
    return new Uint8Array(await wb.xlsx.writeBuffer());
  }

  it('reads the first worksheet: date cells → ISO Z, numbers stay numbers, items JSON parsed', async () => {
    const bytes = await workbookBytes((ws) => {
      ws.addRow([
        ' Order_ID',
        'USER_ID ',
        'order_timestamp',
        'Order_Value',
        'items',
        'shipping_address',
        'payment_method',
      ]);
      const r = ws.addRow([
        'ORD-1',
        { richText: [{ text: 'U-' }, { text: '17' }] },
        new Date(Date.UTC(2026, 2, 4, 23, 59, 59)),
        { formula: '40+59.99', result: 99.99 },
        '[{"product_id":"P-1","quantity":2,"price_per_unit":20.00},{"product_id":"P-2","quantity":1,"price_per_unit":59.99}]',
        '1 Main St, Springfield',
        'credit_card',
      ]);
      r.getCell(3).numFmt = 'yyyy-mm-dd hh:mm:ss';
      ws.addRow([]); // blank row: skipped
      ws.addRow(['ORD-2', 'U-1', '2026-03-04T10:15:00+02:00', '12.50', 'not json', null, 'paypal']);
    });
    const msgs = await readXlsx(bytes);
    expect(msgs).toHaveLength(2);
    expect(parseJson(msgs[0])).toEqual({
      order_id: 'ORD-1',
      user_id: 'U-17',
      order_timestamp: '2026-03-04T23:59:59.000Z',
      order_value: 99.99,
      items: [
        { product_id: 'P-1', quantity: 2, price_per_unit: 20 },
        { product_id: 'P-2', quantity: 1, price_per_unit: 59.99 },
      ],
      shipping_address: '1 Main St, Springfield',
      payment_method: 'credit_card',
    });
    const second = parseJson(msgs[1]);
    expect(second.order_timestamp).toBe('2026-03-04T10:15:00+02:00');
    expect(second.order_value).toBe(12.5);
    expect(second.items).toBe('not json');
    expect(second.shipping_address).toBeNull();
  });

  it('round-trips many date cells to the exact second', async () => {
    const times = Array.from({ length: 200 }, (_v, i) => Date.UTC(2026, 0, 1) + i * 7_919_000);
    const bytes = await workbookBytes((ws) => {
      ws.addRow(['order_timestamp']);
      for (const t of times) ws.addRow([new Date(t)]).getCell(1).numFmt = 'yyyy-mm-dd hh:mm:ss';
    });
    const msgs = await readMessages('xlsx', bytes);
    expect(msgs.map((m) => parseJson(m).order_timestamp)).toEqual(times.map((t) => new Date(t).toISOString()));
  });

  it('reads the first visible worksheet, and names it when its header is wrong', async () => {
    const wb = new ExcelJS.Workbook();
    const cover = wb.addWorksheet('Cover');
    cover.state = 'hidden';
    cover.addRow(['not', 'orders']);
    wb.addWorksheet('Orders').addRow(['Order ID', 'user_id']);
    await expect(readXlsx(new Uint8Array(await wb.xlsx.writeBuffer()))).rejects.toThrow(
      'worksheet "Orders": the header of column 1 is "order id": write it order_id',
    );
  });

  it('refuses a formula cell without a stored result, naming it', async () => {
    const bytes = await workbookBytes((ws) => {
      ws.addRow(['order_id', 'order_value']);
      ws.addRow(['A', { formula: '2*9.99' }]);
    });
    await expect(readXlsx(bytes)).rejects.toThrow('worksheet "first", cell B2: a formula without a stored result');
  });

  it('sends a number shown zero-padded ("00007", format 00000) as the text the sheet shows', async () => {
    const bytes = await workbookBytes((ws) => {
      ws.addRow(['order_id', 'user_id', 'order_value']);
      const row = ws.addRow([7, 1234567, 12.5]);
      row.getCell(1).numFmt = '00000';
      row.getCell(2).numFmt = '00000'; // wider than the format: shown whole
      row.getCell(3).numFmt = '0.00';
    });
    expect(parseJson((await readXlsx(bytes))[0] ?? '')).toEqual({
      order_id: '00007',
      user_id: '1234567',
      order_value: 12.5,
    });
  });

  it('rejects bytes that are not a workbook', async () => {
    await expect(readXlsx(new TextEncoder().encode('hello'))).rejects.toThrow(InputError);
  });
});
