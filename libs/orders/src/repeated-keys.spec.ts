import { anOrder } from '../test/order-builder';
import { repeatedKnownKeys } from './repeated-keys';

/** As the parser calls it: with the parsed body's items. */
const repeated = (text: string): string[] => repeatedKnownKeys(text, (JSON.parse(text) as { items?: unknown }).items);

describe('repeatedKnownKeys', () => {
  it('finds none in an order written once', () => {
    expect(repeated(anOrder().json())).toEqual([]);
  });

  it('names a field of the order written twice', () => {
    expect(repeated('{"order_value":999.00,"user_id":"u","order_value":30.00}')).toEqual(['order_value']);
  });

  it('names a field of one item written twice, with the item', () => {
    const text = '{"items":[{"quantity":1},{"quantity":2,"price_per_unit":1,"quantity":3}]}';
    expect(repeated(text)).toEqual(['items[1].quantity']);
  });

  it('names a field written twice in one item while another item lacks it', () => {
    const text = '{"items":[{"quantity":99,"quantity":1},{"product_id":"q","price_per_unit":1}]}';
    expect(repeated(text)).toEqual(['items[0].quantity']);
  });

  it('names a field written three times once', () => {
    expect(repeated('{"order_value":1,"order_value":9,"order_value":2}')).toEqual(['order_value']);
  });

  it('names the items of the last items array only, the one JSON.parse keeps', () => {
    const text =
      '{"items":[{"quantity":1,"quantity":5}],"items":[{"quantity":1},{"price_per_unit":1,"price_per_unit":2}]}';
    expect(repeated(text)).toEqual(['items', 'items[1].price_per_unit']);
  });

  it('sees a name spelled with a \\u escape as the same name, as JSON.parse does', () => {
    expect(repeated('{"order_id":"a","order\\u005fid":"b"}')).toEqual(['order_id']);
  });

  it('lets a field it does not read repeat', () => {
    expect(repeated('{"order_id":"a","note":"x","note":"y","meta":{"k":1,"k":2}}')).toEqual([]);
  });

  it('does not take a known name found as a value, or in a nested object, for a field', () => {
    const text = JSON.stringify({
      payment_method: 'items',
      items: [{ product_id: 'quantity', quantity: 1, extra: { quantity: 2 } }],
      note: { order_id: 'x', nested: [{ order_id: 'y' }] },
      shipping_address: '"order_id":"z", \\"user_id\\"',
    });
    expect(repeated(text)).toEqual([]);
  });

  it('reads every kind of value on its way: strings with escapes, numbers, literals, empty containers', () => {
    const text =
      '{ "user_id" : "a\\"b\\\\" , "x": [ ] , "y": { } , "z": [1, -2.5e3, true, false, null, "\\u0022"],' +
      ' "items": [ { "quantity": 1 } , { } ], "user_id": "c" }';
    expect(repeated(text)).toEqual(['user_id']);
  });
});
