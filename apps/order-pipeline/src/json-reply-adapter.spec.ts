import { createServer, request, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import type { Express, Request, Response } from 'express';
import { JsonReplyExpressAdapter } from './json-reply-adapter';

const BODY = {
  user_id: 'U-1',
  total_spend: 1234.5,
  names: ['Zoë', '東京', 'a"b\\c'],
  nested: [{ n: null }],
  flag: true,
};

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
}

/**
 * An Express app on the adapter, configured as configureApp does (no ETag, no X-Powered-By),
 * with a route that answers through the adapter's reply and one through Express's res.json.
 */
async function withApp(
  use: (
    get: (path: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<Answer>,
  ) => Promise<void>,
  options: { status?: number; settings?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<void> {
  const adapter = new JsonReplyExpressAdapter();
  const app = adapter.getInstance<Express>();
  app.set('etag', false);
  app.set('x-powered-by', false);
  for (const [name, value] of Object.entries(options.settings ?? {})) app.set(name, value);
  const answer = (res: Response): void => {
    for (const [name, value] of Object.entries(options.headers ?? {})) res.setHeader(name, value);
  };
  app.get('/adapter', (_req: Request, res: Response) => {
    answer(res);
    adapter.reply(res, BODY, options.status);
  });
  app.get('/express', (_req: Request, res: Response) => {
    answer(res);
    res.status(options.status ?? 200).json(BODY);
  });
  const server: Server = createServer(app);
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  const get = (path: string, init: { method?: string; headers?: Record<string, string> } = {}): Promise<Answer> =>
    new Promise((done, fail) => {
      const req = request({ host: '127.0.0.1', port, path, method: init.method ?? 'GET', headers: init.headers });
      req.on('error', fail);
      req.on('response', (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const { date: _date, connection: _c, 'keep-alive': _k, ...headers } = res.headers;
          done({ status: res.statusCode ?? 0, headers, text });
        });
      });
      req.end();
    });
  try {
    await use(get);
  } finally {
    await new Promise((done) => server.close(done));
  }
}

describe('JsonReplyExpressAdapter', () => {
  it("answers a GET with the status, headers and bytes of Express's res.json", async () => {
    await withApp(async (get) => {
      const [fast, express] = [await get('/adapter'), await get('/express')];

      expect(fast).toEqual(express);
      expect(fast.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(JSON.parse(fast.text)).toEqual(BODY);
    });
  });

  it('answers a HEAD request as Express does', async () => {
    await withApp(async (get) => {
      const fast = await get('/adapter', { method: 'HEAD' });

      expect(fast.text).toBe('');
      expect(fast).toEqual(await get('/express', { method: 'HEAD' }));
    });
  });

  it('leaves a conditional request to Express, which may answer 304', async () => {
    const lastModified = new Date(Date.UTC(2026, 0, 1)).toUTCString();
    await withApp(
      async (get) => {
        const conditions: Record<string, string>[] = [{ 'if-none-match': '*' }, { 'if-modified-since': lastModified }];
        for (const headers of conditions) {
          const fast = await get('/adapter', { headers });

          expect(fast.status).toBe(304);
          expect(fast).toEqual(await get('/express', { headers }));
        }
      },
      { headers: { 'Last-Modified': lastModified } },
    );
  });

  it('leaves another status to Express', async () => {
    await withApp(
      async (get) => {
        const fast = await get('/adapter');

        expect(fast.status).toBe(201);
        expect(fast).toEqual(await get('/express'));
      },
      { status: 201 },
    );
  });

  it('keeps a Content-Type the route has set', async () => {
    await withApp(
      async (get) => {
        const fast = await get('/adapter');

        expect(fast.headers['content-type']).toBe('application/vnd.api+json; charset=utf-8');
        expect(fast).toEqual(await get('/express'));
      },
      { headers: { 'Content-Type': 'application/vnd.api+json' } },
    );
  });

  it.each([
    ['json spaces', 2],
    ['etag', 'weak'],
  ])('follows Express while its %s setting is on', async (setting, value) => {
    await withApp(
      async (get) => {
        const fast = await get('/adapter');

        expect(fast).toEqual(await get('/express'));
        expect(setting === 'etag' ? fast.headers.etag : fast.text).toMatch(
          setting === 'etag' ? /^W\// : /\n {2}"user_id"/,
        );
      },
      { settings: { [setting]: value } },
    );
  });
});

describe('JsonReplyExpressAdapter.close (the HTTP server at shutdown)', () => {
  it('cuts a connection that never sent a request, and lets an answer in progress finish', async () => {
    const adapter = new JsonReplyExpressAdapter();
    let release = (): void => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    adapter.getInstance<Express>().get('/slow', (_req: Request, res: Response) => {
      void held.then(() => res.json({ done: true }));
    });
    adapter.initHttpServer({});
    const server = adapter.getHttpServer() as Server;
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const { port } = server.address() as AddressInfo;

    const answer = new Promise<{ status: number; text: string }>((done, fail) => {
      const req = request({ host: '127.0.0.1', port, path: '/slow' }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString()));
        res.on('end', () => done({ status: res.statusCode ?? 0, text }));
      });
      req.on('error', fail);
      req.end();
    });
    const idle = connect(port, '127.0.0.1');
    idle.on('error', () => undefined);
    const idleClosed = new Promise<void>((done) => idle.once('close', () => done()));
    await new Promise<void>((done) => idle.once('connect', () => done()));
    await new Promise<void>((done) => server.once('request', () => done()));

    const closing = adapter.close();
    await idleClosed; // without the cut, the close would wait for it for good
    release();

    expect(await answer).toEqual({ status: 200, text: '{"done":true}' });
    await closing;
  }, 20_000);
});
