import { createServer, type IncomingMessage, type Server } from 'node:http';

/** What the fake saw of one Messages API call. */
export interface SeenRequest {
  readonly headers: IncomingMessage['headers'];
  readonly body: {
    model: string;
    system?: string;
    messages: { role: string; content: string }[];
    output_config?: { format?: { type: string; schema: unknown } };
  };
  /** The orders between <orders> and </orders> in the user message. */
  readonly orders: { order_id: string; user_id: string; shipping_address: string; flags: string[] }[];
}

export type Reply =
  | { readonly verdicts: readonly { order_id: string; decision: string; code: string | null; explanation: string }[] }
  | { readonly status: number }
  | 'hang';

/**
 * A local HTTP server that speaks enough of the Anthropic Messages API for the real
 * @anthropic-ai/sdk: POST /v1/messages answers with a text block holding the JSON the
 * `reply` function returns (or an error status, or never answers).
 */
export class FakeMessagesApi {
  readonly requests: SeenRequest[] = [];
  private server: Server | undefined;
  reply: (request: SeenRequest) => Reply = (r) => ({
    verdicts: r.orders.map((o) => ({ order_id: o.order_id, decision: 'allow', code: null, explanation: 'looks fine' })),
  });

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as SeenRequest['body'];
        const text = body.messages[0]?.content ?? '';
        const inner = /<orders>\n([\s\S]*)\n<\/orders>/.exec(text)?.[1] ?? '[]';
        const seen: SeenRequest = { headers: req.headers, body, orders: JSON.parse(inner) as SeenRequest['orders'] };
        this.requests.push(seen);
        const reply = this.reply(seen);
        if (reply === 'hang') return; // never answers: the client's timeout must fire
        if ('status' in reply) {
          res.writeHead(reply.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ type: 'error', error: { type: 'api_error', message: 'fake failure' } }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(
          JSON.stringify({
            id: `msg_fake_${this.requests.length}`,
            type: 'message',
            role: 'assistant',
            model: body.model,
            content: [{ type: 'text', text: JSON.stringify({ verdicts: reply.verdicts }) }],
            stop_reason: 'end_turn',
            stop_sequence: null,
            usage: { input_tokens: 10, output_tokens: 10 },
          }),
        );
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
}
