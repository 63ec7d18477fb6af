import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { loadConfig } from '@order-pipeline/config';
import { loggerOptions, requestContextAfterBody, requestLogger, startupLogger } from './logging.module';

type Step = (req: IncomingMessage, res: ServerResponse, next: () => void) => void;

/**
 * The request logger over a real pino logger with the app's options, writing JSON lines into
 * `lines`, then `steps` (a body parser, say), then a handler that writes a line of its own
 * and answers the status named by the path (/status/404) or by `?status=` on any path; /hang answers only when the
 * client has gone. `arrived` is told of each request as it reaches the steps.
 */
async function serve(
  lines: string[],
  steps: Step[] = [],
  arrived: (req: IncomingMessage) => void = () => undefined,
): Promise<{ server: Server; logger: Logger }> {
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const logger = pino(loggerOptions(loadConfig({ LOG_FORMAT: 'json' })), sink);
  const chain: Step[] = [
    requestLogger(logger),
    (req, _res, next) => {
      arrived(req);
      next();
    },
    ...steps,
  ];
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    setImmediate(() => {
      logger.info({ step: 'handler' }, 'inside the request');
      if (req.url === '/hang') {
        res.once('close', () => res.end());
        return;
      }
      res.statusCode = Number(
        /^\/status\/(\d{3})$|[?&]status=(\d{3})/
          .exec(req.url ?? '')
          ?.slice(1)
          .find(Boolean) ?? 200,
      );
      res.end('{}');
    });
  };
  const server = createServer((req, res) => {
    const run = (i: number): void => {
      const step = chain[i];
      if (step) step(req, res, () => run(i + 1));
      else handler(req, res);
    };
    run(0);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, logger };
}

/** Reads the whole body from the stream's events before passing on, as body-parser does. */
const readBody: Step = (req, _res, next) => {
  req.on('data', () => undefined);
  req.once('end', next);
};

/** Waits (a turn of the event loop at a time) until `lines` holds a line matching `match`. */
async function lineWith(
  lines: string[],
  match: (line: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>> {
  for (let i = 0; i < 1000; i++) {
    const found = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find(match);
    if (found) return found;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error('no such line was written');
}

/** Sends a POST whose body follows its headers only once the server holds the request. */
async function postInTwoParts(port: number, id: string, heldBy: Promise<unknown>): Promise<void> {
  const req = request({
    host: '127.0.0.1',
    port,
    method: 'POST',
    path: '/admin/body',
    headers: { 'x-request-id': id },
  });
  req.flushHeaders();
  await heldBy;
  await new Promise<void>((resolve, reject) => {
    req.once('response', (res) => res.resume().once('end', resolve)).once('error', reject);
    req.end('{"a":1}');
  });
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

  it.each(['/health/live', '/health/ready', '/metrics'])(
    'log a passing %s (a probe or scrape) at debug level: no line at the default level',
    async (path) => {
      // The next request's line comes after the probe's, had the probe written one.
      const written = [...(await logged(path)), ...(await logged('/stats/global'))];
      const requestLines = written.filter((l) => l.msg === 'request completed');
      expect(requestLines.map((l) => (l.req as { url: string }).url)).toEqual(['/stats/global']);
    },
  );

  it('log a failing probe at warn level', async () => {
    const line = (await logged('/health/ready?status=503')).find((l) => l.msg === 'request errored');
    expect(line).toMatchObject({ level: 40, req: { url: '/health/ready?status=503' } });
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
    const line = JSON.parse(lines[before] ?? 'null') as Record<string, unknown> | null;
    expect(line?.msg).toBe('between requests');
    expect(line).not.toHaveProperty('req');
  });

  it('never contain an API key or a credential header', async () => {
    const key = 'admin-key-0123456789abcdef';
    await logged('/admin/dead-letters', { 'x-api-key': key, authorization: `Bearer ${key}`, cookie: `s=${key}` });
    expect(lines.join('\n')).not.toContain(key);
  });

  it('redact credential headers should anything log a request with its headers', () => {
    const key = 'admin-key-0123456789abcdef';
    const before = lines.length;
    const headers = { 'x-api-key': key, authorization: `Bearer ${key}`, cookie: `s=${key}`, accept: 'json' };
    logger.info({ req: { headers } }, 'with headers');
    const line = JSON.parse(lines[before] ?? 'null') as { req?: { headers?: Record<string, string> } } | null;
    expect(line?.req?.headers).toEqual({ accept: 'json' });
  });

  it.each([
    [404, 40, 'request completed'],
    [503, 40, 'request errored'],
    [500, 50, 'request errored'],
  ])('log a %i answer at pino level %i as %s', async (status, level, msg) => {
    const line = (await logged(`/status/${status}`)).find(
      (l) => (l.res as { statusCode?: number } | undefined)?.statusCode === status,
    );
    expect(line).toMatchObject({ level, msg });
  });

  it('log a request whose connection closed before the answer as aborted', async () => {
    const hanging = request({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, path: '/hang' });
    hanging
      .setHeader('x-request-id', 'req-gone')
      .on('error', () => undefined)
      .end();
    await lineWith(
      lines,
      (l) => l.msg === 'inside the request' && (l.req as { id?: string } | undefined)?.id === 'req-gone',
    );
    hanging.destroy();
    const line = await lineWith(lines, (l) => l.msg === 'request aborted');
    expect(line).toMatchObject({ req: { id: 'req-gone', url: '/hang' } });
  });

  describe('with a body read from the stream before the handler', () => {
    it('keep the request id on lines written after the body, with requestContextAfterBody', async () => {
      const own: string[] = [];
      let held!: () => void;
      const holding = new Promise<void>((resolve) => (held = resolve));
      const app = await serve(own, [readBody, requestContextAfterBody()], () => held());
      try {
        await postInTwoParts((app.server.address() as AddressInfo).port, 'req-body', holding);
        const inside = await lineWith(own, (l) => l.msg === 'inside the request');
        expect(inside).toMatchObject({ req: { id: 'req-body' } });
      } finally {
        await new Promise((resolve) => app.server.close(resolve));
      }
    });
  });
});

describe('the start-up logger (Nest, before nestjs-pino takes over)', () => {
  it("writes Nest's lines, and an error with its stack, as JSON lines with their context", () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(...chunk.toString().split('\n').filter(Boolean));
        done();
      },
    });
    const nest = startupLogger(pino(loggerOptions(loadConfig({ LOG_FORMAT: 'json' })), sink));
    nest.log('Starting Nest application...', 'NestFactory');
    nest.error(new Error('listen EADDRINUSE'), undefined, 'ExceptionHandler');
    const parsed = lines.map((l) => JSON.parse(l) as { level: number; context?: string; msg: string });
    expect(parsed.map((l) => [l.level, l.context, l.msg.split('\n')[0]])).toEqual([
      [30, 'NestFactory', 'Starting Nest application...'],
      [50, 'ExceptionHandler', 'Error: listen EADDRINUSE'],
    ]);
    expect(parsed[1]?.msg).toContain('logging.module.spec');
  });
});
