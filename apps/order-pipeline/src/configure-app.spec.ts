import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import helmet from 'helmet';
import { HELMET_OPTIONS, staticHeaders } from './configure-app';

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/** The response headers (but Date) of one GET to a server that runs `middleware`, then answers 200. */
async function headersThrough(
  middleware: Middleware,
  preset: Record<string, string> = {},
): Promise<[string, string][]> {
  const server: Server = createServer((req, res) => {
    for (const [name, value] of Object.entries(preset)) res.setHeader(name, value);
    middleware(req, res, (error) => {
      res.statusCode = error === undefined ? 200 : 500;
      res.end();
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(200);
    return [...response.headers.entries()].filter(([name]) => name !== 'date');
  } finally {
    await new Promise((done) => server.close(done));
  }
}

describe('staticHeaders', () => {
  it("sets exactly helmet's headers with the app's options, and removes what helmet removes", async () => {
    const preset = { 'X-Powered-By': 'Express' };
    const direct = await headersThrough(helmet(HELMET_OPTIONS), preset);
    const recorded = await headersThrough(staticHeaders(helmet(HELMET_OPTIONS)), preset);

    expect(recorded).toEqual(direct);
    expect(new Map(recorded).get('content-security-policy')).toContain("default-src 'self'");
    expect(new Map(recorded).has('x-powered-by')).toBe(false);
  });

  it('keeps a middleware that reads the request as it is', () => {
    const perRequest: Middleware = (req, res, next) => {
      res.setHeader('x-echo', String(req.url));
      next();
    };

    expect(staticHeaders(perRequest)).toBe(perRequest);
  });

  it('keeps a middleware that does not pass as it is', () => {
    const refusing: Middleware = (_req, _res, next) => next(new Error('no'));

    expect(staticHeaders(refusing)).toBe(refusing);
  });
});
