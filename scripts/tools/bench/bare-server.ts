// The API baselines, run as a child process by api.ts. All three answer the benchmarked
// routes with the same key reads and the same JSON (bare-reads.ts); they differ only in
// what carries the request to those reads:
//
//   BARE_MODE=node     a bare node:http server: the baseline of every API figure
//   BARE_MODE=express  Express 5 with the app's settings (no ETag, no X-Powered-By), one
//                      route per endpoint, no middleware: the floor of the Express layer
//   BARE_MODE=nest     Nest 11 on Express with one controller, no middleware, guard, pipe,
//                      filter or logger: the floor of the framework the app is built on
//
// The two floors say how much of the app's per-request cost is the framework itself and
// how much its own middleware (helmet, request logging, the key and rate-limit guards,
// validation). Prints "ready" on stdout once it listens.

import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { answer } from './bare-reads.ts';

const require = createRequire(import.meta.url);
const ROUTES = ['/users/:user_id/stats', '/stats/global', '/stats/top-users', '/stats/range'];
const port = Number(process.env.BARE_PORT);
const mode = process.env.BARE_MODE ?? 'node';

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

const fail = (error: unknown): [number, unknown] => [
  500,
  { message: error instanceof Error ? error.message : String(error) },
];

/** The path and query of a request, as the reads want them. */
function target(req: IncomingMessage): [string, URLSearchParams] {
  const url = new URL(req.url ?? '/', 'http://localhost');
  return [url.pathname, url.searchParams];
}

async function listenNode(): Promise<{ close(): unknown }> {
  const server = createServer((req, res) => {
    answer(...target(req)).then(
      ([status, body]) => send(res, status, body),
      (error: unknown) => send(res, ...fail(error)),
    );
  });
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
  return server;
}

type Handler = (req: IncomingMessage, res: ServerResponse & { status(s: number): { json(b: unknown): void } }) => void;

async function listenExpress(): Promise<{ close(): unknown }> {
  // The Express the app runs on: @nestjs/platform-express's own dependency.
  const express = createRequire(require.resolve('@nestjs/platform-express'))('express') as () => {
    set(name: string, value: unknown): void;
    get(path: string, handler: Handler): void;
    listen(port: number, host: string, done: () => void): { keepAliveTimeout: number; close(): unknown };
  };
  const app = express();
  app.set('etag', false);
  app.set('x-powered-by', false);
  for (const route of ROUTES) {
    app.get(route, (req, res) => {
      answer(...target(req)).then(
        ([status, body]) => res.status(status).json(body),
        (error: unknown) => res.status(500).json(fail(error)[1]),
      );
    });
  }
  return new Promise((done) => {
    const server = app.listen(port, '127.0.0.1', () => done(server));
    server.keepAliveTimeout = 65_000;
  });
}

async function listenNest(): Promise<{ close(): unknown }> {
  // Node runs this file by type stripping, which has no decorator syntax: the decorators
  // are applied by hand, as TypeScript would.
  require('reflect-metadata');
  const common = require('@nestjs/common') as typeof import('@nestjs/common');
  const { NestFactory } = require('@nestjs/core') as typeof import('@nestjs/core');
  class FloorController {
    read(req: IncomingMessage): Promise<unknown> {
      return answer(...target(req)).then(([status, body]) => {
        if (status !== 200) throw new common.HttpException(body as object, status);
        return body;
      });
    }
  }
  const names = ROUTES.map((_, i) => `route${i}`);
  ROUTES.forEach((path, i) => {
    const name = names[i] ?? '';
    // Nest keeps a route's metadata on its function: one function per route.
    const route = function (this: FloorController, req: IncomingMessage): Promise<unknown> {
      return this.read(req);
    };
    Object.defineProperty(FloorController.prototype, name, { value: route, writable: true });
    const descriptor = Object.getOwnPropertyDescriptor(FloorController.prototype, name) as PropertyDescriptor;
    common.Get(path.slice(1))(FloorController.prototype, name, descriptor);
    common.Req()(FloorController.prototype, name, 0);
  });
  common.Controller()(FloorController);
  class FloorModule {}
  common.Module({ controllers: [FloorController] })(FloorModule);
  const app = await NestFactory.create(FloorModule, { logger: false });
  const instance = app.getHttpAdapter().getInstance() as { set(name: string, value: unknown): void };
  instance.set('etag', false);
  instance.set('x-powered-by', false);
  await app.listen(port, '127.0.0.1');
  return { close: () => app.close() };
}

const listen = { node: listenNode, express: listenExpress, nest: listenNest }[mode];
if (!listen) throw new Error(`BARE_MODE must be node, express or nest, not ${mode}`);
const server = await listen();
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  void server.close();
  process.exit(0);
});
