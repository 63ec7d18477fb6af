/** Test-data builder for raw order messages, in the seed's JSON shape. */
export interface RawItem {
  product_id?: unknown;
  quantity?: unknown;
  price_per_unit?: unknown;
}

let sequence = 0;

export class OrderBuilder {
  private readonly fields: Record<string, unknown>;

  constructor() {
    sequence += 1;
    this.fields = {
      order_id: `ORD-T${sequence}`,
      user_id: 'U-1',
      // A fixed day, so specs can name it. startTestApp judges it on a TestClock that starts
      // at 2026-12-01 (test/support/test-app.ts): on the wall clock the guard would flag it
      // as old from 2028-03-03, and the dashboard's 24-month chart would leave it out.
      order_timestamp: '2026-03-04T10:15:00Z',
      order_value: 99.99,
      items: [
        { product_id: 'P-1', quantity: 2, price_per_unit: 20.0 },
        { product_id: 'P-2', quantity: 1, price_per_unit: 59.99 },
      ],
      shipping_address: '1 Main St, Springfield',
      payment_method: 'credit_card',
    };
  }

  with(fields: Record<string, unknown>): this {
    Object.assign(this.fields, fields);
    return this;
  }

  without(field: string): this {
    delete this.fields[field];
    return this;
  }

  withItems(...items: RawItem[]): this {
    this.fields.items = items;
    return this;
  }

  withValue(value: unknown): this {
    this.fields.order_value = value;
    return this;
  }

  build(): Record<string, unknown> {
    return structuredClone(this.fields);
  }

  json(): string {
    return JSON.stringify(this.fields);
  }
}

export const anOrder = (): OrderBuilder => new OrderBuilder();
