import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { type HttpException, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import helmet from 'helmet';
import { pino } from 'pino';
import { loadConfig } from '@order-pipeline/config';
import { loggerOptions, requestLogger } from '@order-pipeline/observability';
import { bodyReadable } from '@order-pipeline/stats';
import { HELMET_OPTIONS, answerClientErrors, bodyParsers, configureApp, inOrder, staticHeaders } from './configure-app';

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

describe('inOrder', () => {
  const step =
    (name: string, seen: string[], error?: Error): Middleware =>
    (_req, _res, next) => {
      seen.push(name);
      next(error);
    };
  const run = (middleware: Middleware): unknown => {
    let passed: unknown = 'not called';
    middleware({} as IncomingMessage, {} as ServerResponse, (error) => (passed = error));
    return passed;
  };

  it('runs the middlewares one after the other, then passes on', () => {
    const seen: string[] = [];

    expect(run(inOrder(step('a', seen), step('b', seen), step('c', seen)))).toBeUndefined();
    expect(seen).toEqual(['a', 'b', 'c']);
  });

  it('hands an error to Express and runs none of the rest', () => {
    const seen: string[] = [];
    const failure = new Error('refused');

    expect(run(inOrder(step('a', seen), step('b', seen, failure), step('c', seen)))).toBe(failure);
    expect(seen).toEqual(['a', 'b']);
  });
});

describe('bodyParsers', () => {
  /** What the next middleware sees of one request through bodyParsers(limit): the body, or the deferred error. */
  async function seenAfter(
    init: RequestInit,
    limit = 100,
  ): Promise<{ passed: string; body?: unknown; deferred?: unknown }> {
    const parsers = bodyParsers(limit);
    const server: Server = createServer((req, res) => {
      parsers(req, res, (error) => {
        let deferred: unknown;
        try {
          bodyReadable(req);
        } catch (thrown) {
          const { message, parameter } = thrown as HttpException & { parameter?: string };
          deferred = { status: (thrown as HttpException).getStatus(), message, parameter };
        }
        res.setHeader('content-type', 'application/json');
        res.end(
          JSON.stringify({
            passed: error === undefined ? 'yes' : error instanceof Error ? error.message : 'an error',
            body: (req as { body?: unknown }).body,
            deferred,
          }),
        );
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const { port } = server.address() as AddressInfo;
      return (await (await fetch(`http://127.0.0.1:${port}/`, init)).json()) as { passed: string };
    } finally {
      await new Promise((done) => server.close(done));
    }
  }
  const post = (type: string, body: string): RequestInit => ({
    method: 'POST',
    headers: { 'content-type': type },
    body,
  });

  it('parses a JSON body and a form body', async () => {
    expect(await seenAfter(post('application/json', '{"limit":3}'))).toEqual({ passed: 'yes', body: { limit: 3 } });
    expect(await seenAfter(post('application/x-www-form-urlencoded', 'limit=3'))).toEqual({
      passed: 'yes',
      body: { limit: '3' },
    });
  });

  it('passes a request with no body on untouched', async () => {
    expect(await seenAfter({ method: 'GET' })).toEqual({ passed: 'yes' });
  });

  it('keeps a body that is not JSON as a 400 naming the body, for the route to throw', async () => {
    const seen = await seenAfter(post('application/json', '{"limit":'));

    expect(seen).toMatchObject({
      passed: 'yes',
      deferred: { status: 400, parameter: 'body', message: 'the request body is not valid JSON' },
    });
  });

  it.each(['null', '12', '"x"'])(
    'keeps a JSON body %s that is neither object nor array as a 400 that says so',
    async (body) => {
      const seen = await seenAfter(post('application/json', body));

      expect(seen).toMatchObject({
        passed: 'yes',
        deferred: { status: 400, parameter: 'body', message: 'the request body must be a JSON object or array' },
      });
    },
  );

  it('keeps a body over the limit as a 413 that names the limit', async () => {
    const seen = await seenAfter(post('application/json', JSON.stringify({ padding: 'x'.repeat(200) })));

    expect(seen).toMatchObject({
      passed: 'yes',
      deferred: { status: 413, message: 'the request body is larger than 100 bytes (HTTP_BODY_LIMIT_BYTES)' },
    });
  });
});

describe('the request log with bodyParsers', () => {
  it('keeps the request id on lines logged after a body that arrives after the headers', async () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino(loggerOptions(loadConfig({ LOG_FORMAT: 'json' })), {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    });
    const front = inOrder(requestLogger(logger), bodyParsers(1_000));
    let arrived!: () => void;
    const headersIn = new Promise<void>((resolve) => (arrived = resolve));
    const server: Server = createServer((req, res) => {
      arrived();
      front(req, res, () => {
        logger.info('inside the request');
        res.end();
      });
    });
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    try {
      const req = request({
        host: '127.0.0.1',
        port: (server.address() as AddressInfo).port,
        method: 'POST',
        headers: { 'x-request-id': 'req-body', 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
      });
      req.flushHeaders();
      await headersIn;
      await new Promise<void>((resolve, reject) => {
        req.once('response', (res) => res.resume().once('end', resolve)).once('error', reject);
        req.end('{"a":1}');
      });

      expect(lines.find((line) => line.msg === 'inside the request')).toMatchObject({ req: { id: 'req-body' } });
    } finally {
      await new Promise((done) => server.close(done));
    }
  });
});

describe('answerClientErrors', () => {
  /**
   * Sends raw bytes to a server with the handler and keeps the client's side open (as a
   * client that never ends would); resolves with what the server wrote and whether the
   * server's own socket was destroyed once it had answered.
   */
  async function sendAndKeepOpen(bytes: string): Promise<{ answer: string; serverSocketClosed: boolean }> {
    const server: Server = createServer((_req, res) => res.end());
    answerClientErrors(server);
    const serverSockets: Socket[] = [];
    server.on('connection', (socket: Socket) => serverSockets.push(socket));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    const client = connect({ port: (server.address() as AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    try {
      let answer = '';
      client.setEncoding('utf8');
      client.on('data', (chunk: string) => (answer += chunk));
      const ended = new Promise<void>((resolve) => client.once('end', resolve));
      client.write(bytes, 'latin1');
      await ended;
      const [socket] = serverSockets;
      if (socket !== undefined && !socket.destroyed) await new Promise((resolve) => socket.once('close', resolve));
      return { answer, serverSocketClosed: socket?.destroyed === true };
    } finally {
      client.destroy();
      await new Promise((done) => server.close(done));
    }
  }

  it('answers a request Node cannot parse with a JSON 400 and closes the connection itself', async () => {
    const { answer, serverSocketClosed } = await sendAndKeepOpen('FOO / HTTP/1.1\r\nHost: x\r\n\r\n');
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(body)).toMatchObject({ statusCode: 400, error: 'Bad Request' });
    expect(serverSocketClosed).toBe(true);
  });

  it('answers headers over the limit with a JSON 431', async () => {
    const { answer } = await sendAndKeepOpen(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    expect(head.split('\r\n')[0]).toBe('HTTP/1.1 431 Request Header Fields Too Large');
    expect(head).toContain('Content-Type: application/json; charset=utf-8');
    expect(JSON.parse(body)).toMatchObject({ statusCode: 431, error: 'Request Header Fields Too Large' });
  });
});

describe('configureApp', () => {
  @Module({})
  class EmptyModule {}

  it("refuses an app created without the app's HTTP adapter", async () => {
    const app = await NestFactory.create(EmptyModule, { logger: false });
    try {
      expect(() => configureApp(app)).toThrow('create the app with createHttpAdapter() and APP_OPTIONS');
    } finally {
      await app.close();
    }
  });
});
