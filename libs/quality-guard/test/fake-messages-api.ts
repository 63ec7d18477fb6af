import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

/** One order as the guard sent it (the JSON between <orders> and </orders>). */
export interface SeenOrder {
  readonly order_id: string;
  readonly user_id: string;
  readonly order_value: string;
  readonly shipping_address: string;
  readonly items: readonly { product_id: string; quantity: number; price_per_unit: string }[];
  readonly flags: readonly string[];
}

/** What the fake saw of one Messages API call. */
export interface SeenRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    model: string;
    max_tokens: number;
    system?: string;
    tools?: unknown;
    messages: { role: string; content: string }[];
    output_config?: { format?: { type: string; schema: unknown } };
  };
  /** The orders between <orders> and </orders> in the user message. */
  readonly orders: readonly SeenOrder[];
}

export interface FakeVerdict {
  readonly order_id: string;
  readonly decision: string;
  readonly code: string;
  readonly explanation: string;
}

export type Reply =
  /** 200, end_turn, the verdicts as the JSON text. */
  | { readonly verdicts: readonly FakeVerdict[] }
  /** 200 with this text and stop_reason (default end_turn): malformed JSON, refusals, cut-off answers. */
  | { readonly text: string; readonly stop_reason?: string }
  /** An error status (429, 500, 529, ...) with optional headers such as retry-after. */
  | { readonly status: number; readonly headers?: Readonly<Record<string, string>> }
  /** 200 with this body and content type: what a proxy's page or another API would send. */
  | { readonly page: string; readonly contentType: string }
  /** Never answers: the client's timeout must fire. */
  | 'hang'
  /** Sends 200 and its headers, then a space every 50 ms and never the body's end. */
  | 'stall';

/** Every order allowed. */
export const allowAll = (r: SeenRequest): Reply => ({
  verdicts: r.orders.map((o) => ({ order_id: o.order_id, decision: 'allow', code: 'none', explanation: 'looks fine' })),
});

/**
 * A local HTTP server that speaks enough of the Anthropic Messages API for the real
 * @anthropic-ai/sdk: POST /v1/messages answers with what `reply` returns for the request.
 * `latencyMs` delays every answer (the benchmark's stand-in for a real model); usage is
 * reported as roughly a token per four characters of the request and of the answer, unless
 * `usage` is set.
 */
export class FakeMessagesApi {
  readonly requests: SeenRequest[] = [];
  latencyMs = 0;
  /** While set, answers wait for it (after latencyMs): a test decides when the model answers. */
  holdAnswers: Promise<void> | undefined = undefined;
  usage: { input_tokens: number; output_tokens: number } | undefined = undefined;
  reply: (request: SeenRequest) => Reply = allowAll;
  private server: Server | undefined;

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const body = JSON.parse(raw) as SeenRequest['body'];
        const text = body.messages[0]?.content ?? '';
        const inner = /<orders>\n([\s\S]*)\n<\/orders>/.exec(text)?.[1] ?? '[]';
        const seen: SeenRequest = { headers: req.headers, body, orders: JSON.parse(inner) as SeenOrder[] };
        this.requests.push(seen);
        const reply = this.reply(seen);
        if (reply === 'hang') return;
        if (reply === 'stall') {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{');
          const drip = setInterval(() => res.write(' '), 50);
          res.on('close', () => clearInterval(drip));
          return;
        }
        const held = this.holdAnswers;
        const answer = (): void => {
          if (held) void held.then(() => this.answer(res, body, raw.length, reply));
          else this.answer(res, body, raw.length, reply);
        };
        if (this.latencyMs > 0) setTimeout(answer, this.latencyMs);
        else answer();
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    const address = this.server.address();
    return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private answer(
    res: ServerResponse,
    body: SeenRequest['body'],
    requestChars: number,
    reply: Exclude<Reply, 'hang' | 'stall'>,
  ): void {
    if ('page' in reply) {
      res.writeHead(200, { 'content-type': reply.contentType });
      res.end(reply.page);
      return;
    }
    if ('status' in reply) {
      res.writeHead(reply.status, { 'content-type': 'application/json', ...reply.headers });
      res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'fake failure' } }));
      return;
    }
    const text = 'verdicts' in reply ? JSON.stringify({ verdicts: reply.verdicts }) : reply.text;
    const stopReason = 'verdicts' in reply ? 'end_turn' : (reply.stop_reason ?? 'end_turn');
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: `msg_fake_${this.requests.length}`,
        type: 'message',
        role: 'assistant',
        model: body.model,
        content: text === '' ? [] : [{ type: 'text', text }],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: this.usage ?? {
          input_tokens: Math.ceil(requestChars / 4),
          output_tokens: Math.ceil(text.length / 4),
        },
      }),
    );
  }
}
