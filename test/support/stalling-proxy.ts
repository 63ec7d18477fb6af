import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback in front of an SQS endpoint, that can go silent the way a
 * black-holed network does, answering nothing and closing nothing:
 * - `stall()`: every open connection, and every one opened until `resume()`, swallows what is
 *   sent. Connections caught by a stall stay silent for good (half-open, as after a network
 *   partition); those opened after `resume()` are forwarded again.
 * - `cutAfterHeaders(action)`: the next answer to that SQS action (`ReceiveMessage`) is
 *   passed on up to the end of its headers, then its connection goes silent for good.
 *   Resolves once that has happened.
 */
export interface StallingProxy {
  readonly endpoint: string;
  stall(): void;
  resume(): void;
  cutAfterHeaders(action: string): Promise<void>;
  stop(): Promise<void>;
}

interface Connection {
  readonly client: Socket;
  upstream?: Socket;
  silent: boolean;
  /** The SQS action of the last request sent on it (the JSON protocol's X-Amz-Target). */
  action?: string;
}

const HEADERS_END = Buffer.from('\r\n\r\n');

export async function startStallingProxy(targetPort: number): Promise<StallingProxy> {
  let stalled = false;
  let cut: { action: string; done: () => void } | undefined;
  const open = new Set<Connection>();
  const silence = (c: Connection): void => {
    c.silent = true;
    c.upstream?.destroy();
    c.client.removeAllListeners('data');
    c.client.on('data', () => undefined); // read and drop
  };
  const server: Server = createServer((client) => {
    const c: Connection = { client, silent: false };
    open.add(c);
    client.on('error', () => undefined);
    client.on('close', () => {
      open.delete(c);
      c.upstream?.destroy();
    });
    if (stalled) return silence(c);
    const upstream = connect(targetPort, '127.0.0.1');
    c.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => c.silent || client.end());
    client.on('data', (chunk: Buffer) => {
      c.action = /x-amz-target:\s*AmazonSQS\.(\w+)/i.exec(chunk.toString('latin1'))?.[1] ?? c.action;
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (c.silent) return;
      const end = chunk.indexOf(HEADERS_END);
      if (cut !== undefined && c.action === cut.action && end >= 0) {
        client.write(chunk.subarray(0, end + HEADERS_END.length));
        silence(c);
        cut.done();
        cut = undefined;
        return;
      }
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    stall: () => {
      stalled = true;
      for (const c of open) silence(c);
    },
    resume: () => {
      stalled = false;
    },
    cutAfterHeaders: (action) => new Promise<void>((done) => (cut = { action, done })),
    stop: async () => {
      for (const c of open) {
        c.client.destroy();
        c.upstream?.destroy();
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
