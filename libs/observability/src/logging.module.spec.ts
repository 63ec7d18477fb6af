import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loadConfig } from '@order-pipeline/config';
import { loggerOptions, requestLogger } from './logging.module';

/**
 * The request logger over a real pino logger with the app's options, writing JSON lines into
 * `lines`. The handler answers the status named by the path (/status/404) and writes a line of
 * its own while it serves the request.
 */
async function serve(lines: string[]): Promise<{ server: Server; logger: Logger }> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino(loggerOptions(loadConfig({ LOG_FORMAT: 'json' })), sink);
  const log = requestLogger(logger);
  const server = createServer((req, res) =>
    log(req, res, () => {
      setImmediate(() => {
        logger.info({ step: 'handler' }, 'inside the request');
        res.statusCode = Number(/^\/status\/(\d{3})$/.exec(req.url ?? '')?.[1] ?? 200);
        res.end('{}');
      });
    }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, logger };
}

describe('request logs', () => {
  const lines: string[] = [];
  let server: Server;
  let logger: Logger;
  let base: string;

  beforeAll(async () => {
    ({ server, logger } = await serve(lines));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  /** The lines one request wrote: the handler's, then the request line (written when the response closes). */
  const logged = async (path: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>[]> => {
    const before = lines.length;
    await (await fetch(`${base}${path}`, { headers })).text();
    for (let i = 0; i < 100 && lines.length < before + 2; i++) await new Promise((r) => setImmediate(r));
    return lines.slice(before).map((line) => JSON.parse(line) as Record<string, unknown>);
  };

  it('write one JSON line per request with the request id, method, path, status and duration', async () => {
    const line = (await logged('/stats/global', { 'x-request-id': 'req-7' })).find(
      (l) => l.msg === 'request completed',
    );
    expect(line).toMatchObject({
      level: 30,
      req: { id: 'req-7', method: 'GET', url: '/stats/global' },
      res: { statusCode: 200 },
      responseTime: expect.any(Number) as unknown,
    });
  });

  it('put the request id on every line written while the request is served', async () => {
    const inside = (await logged('/users/U-1/stats', { 'x-request-id': 'req-8' })).find(
      (l) => l.msg === 'inside the request',
    );
    expect(inside).toMatchObject({ req: { id: 'req-8' }, step: 'handler' });
  });

  it('leave the request id off lines written outside any request', () => {
    const before = lines.length;
    logger.info('between requests');
    expect(JSON.parse(lines[before] ?? '{}')).not.toHaveProperty('req');
  });

  it('never contain an API key or a credential header', async () => {
    const key = 'admin-key-0123456789abcdef';
    await logged('/admin/dead-letters', { 'x-api-key': key, authorization: `Bearer ${key}`, cookie: `s=${key}` });
    expect(lines.join('\n')).not.toContain(key);
  });

  it.each([
    [404, 40],
    [503, 40],
    [500, 50],
  ])('log a %i answer at pino level %i', async (status, level) => {
    const line = (await logged(`/status/${status}`)).find((l) => l.msg === 'request completed');
    expect(line).toMatchObject({ level, res: { statusCode: status } });
  });
});
