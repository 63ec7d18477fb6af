import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy on loopback that can go silent the way a black-holed network does: while
 * stalled it accepts connections and swallows what is sent, answers nothing and closes
 * nothing. Connections caught by a stall stay silent for good (half-open, as after a
 * network partition); connections opened after `resume` are forwarded again.
 */
export interface StallingProxy {
  readonly endpoint: string;
  stall(): void;
  resume(): void;
  stop(): Promise<void>;
}

export async function startStallingProxy(targetPort: number): Promise<StallingProxy> {
  let stalled = false;
  const open = new Set<{ client: Socket; upstream?: Socket; silent: boolean }>();
  const silence = (c: { client: Socket; upstream?: Socket; silent: boolean }): void => {
    c.silent = true;
    c.client.unpipe();
    c.upstream?.unpipe();
    c.upstream?.destroy();
    c.client.on('data', () => undefined); // read and drop
  };
  const server: Server = createServer((client) => {
    const c: { client: Socket; upstream?: Socket; silent: boolean } = { client, silent: false };
    open.add(c);
    client.on('error', () => undefined);
    client.on('close', () => open.delete(c));
    if (stalled) return silence(c);
    const upstream = connect(targetPort, '127.0.0.1');
    c.upstream = upstream;
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => c.silent || client.end());
    client.pipe(upstream);
    upstream.pipe(client);
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
    stop: async () => {
      for (const c of open) c.client.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
