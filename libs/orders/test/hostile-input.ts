import fc from 'fast-check';
import { ORDER_FIELDS } from '../src/message-fields';

/**
 * Arbitraries for hostile message bodies and request values, shared by the fuzz specs.
 * Every spec runs with a fixed seed (printed by fast-check on failure) so a failure replays.
 */
export const FUZZ_SEED = 20261125;

/** Any JSON value of bounded size. */
const anyJson = fc.jsonValue({ maxDepth: 4 });

/** A value of any JSON type, for fields that expect one type. */
const anyField = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.array(anyJson, { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), anyJson, { maxKeys: 3 }),
);

/** An order whose every field may be missing or of the wrong type. */
const wronglyTyped = fc
  .record(Object.fromEntries(ORDER_FIELDS.map((f) => [f, anyField])) as Record<string, fc.Arbitrary<unknown>>, {
    requiredKeys: [],
  })
  .map((o) => JSON.stringify(o));

/** A plausible order with prototype-polluting keys spliced in at the top or inside an item. */
const polluting = fc
  .tuple(
    fc.constantFrom('__proto__', 'constructor', 'prototype', 'hasOwnProperty', 'toString'),
    fc.constantFrom('{"polluted":true}', '{"prototype":{"polluted":true}}', '"x"', '1', 'null'),
    fc.boolean(),
    fc.stringMatching(/^[A-Z0-9-]{1,20}$/),
  )
  .map(([key, value, inItem, id]) => {
    const item = `{"product_id":"P-1","quantity":1,"price_per_unit":5${inItem ? `,"${key}":${value}` : ''}}`;
    const top = inItem ? '' : `"${key}":${value},`;
    return (
      `{${top}"order_id":"F-${id}","user_id":"U-FUZZ","order_timestamp":"2026-01-02T03:04:05Z",` +
      `"order_value":5,"items":[${item}],"shipping_address":"1 Fuzz St","payment_method":"card"}`
    );
  });

/** Nesting far deeper than any parser's comfort: arrays, objects, and inside items. */
const deeplyNested = fc
  .tuple(fc.integer({ min: 1_000, max: 120_000 }), fc.constantFrom('[', '{"a":', 'items'))
  .map(([depth, kind]) => {
    if (kind === '[') return '['.repeat(depth) + ']'.repeat(depth);
    if (kind === '{"a":') return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    return `{"order_id":"DEEP","items":[${'['.repeat(depth)}${']'.repeat(depth)}]}`;
  });

/** Bodies around and far beyond SQS's 256 KiB limit, and a valid order with a huge field. */
const huge = fc
  .tuple(fc.integer({ min: 200 * 1024, max: 1024 * 1024 }), fc.boolean())
  .map(([size, asField]) =>
    asField
      ? `{"order_id":"HUGE","user_id":"U-1","shipping_address":"${'a'.repeat(size)}","items":[]}`
      : 'x'.repeat(size),
  );

/** Text that is not valid UTF-8 as received: lone surrogates, replacement characters, Latin-1. */
const notUtf8 = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('utf8')),
  fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b).toString('latin1')),
  fc.constantFrom('{"order_id":"\uD800"}', '{"user_id":"\uDFFF\uD800"}', '\uFEFF{"order_id":"BOM"}'),
);

/** Malformed JSON: cut, doubled, stray characters. */
const malformed = fc.oneof(
  fc.string({ maxLength: 200 }),
  fc.tuple(wronglyTyped, fc.nat()).map(([json, cut]) => json.slice(0, json.length === 0 ? 0 : cut % json.length)),
  fc.constantFrom('', ' ', 'null', 'true', '[]', '{}', '"order"', '{"order_id":}', '{,}', 'NaN', '1e999999'),
);

export type BodyKind = 'malformed' | 'json' | 'wrongly-typed' | 'polluting' | 'deep' | 'huge' | 'not-utf8';

/** One hostile message body, tagged with its kind (for the failure report). */
export const hostileBody: fc.Arbitrary<{ kind: BodyKind; body: string }> = fc.oneof(
  malformed.map((body) => ({ kind: 'malformed' as const, body })),
  anyJson.map((v) => ({ kind: 'json' as const, body: JSON.stringify(v) })),
  wronglyTyped.map((body) => ({ kind: 'wrongly-typed' as const, body })),
  polluting.map((body) => ({ kind: 'polluting' as const, body })),
  deeplyNested.map((body) => ({ kind: 'deep' as const, body })),
  huge.map((body) => ({ kind: 'huge' as const, body })),
  notUtf8.map((body) => ({ kind: 'not-utf8' as const, body })),
);
