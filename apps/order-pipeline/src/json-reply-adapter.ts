import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import { StreamableFile, type NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Request, Response } from 'express';

/**
 * Nest's Express adapter, with a shorter way to send the common answer: a route's object
 * or array, with 200, to a request that is not conditional. Express's `res.json` then
 * `res.send` look up settings, content types and freshness that cannot apply to it; this
 * writes the same bytes and the same headers (Content-Type `application/json;
 * charset=utf-8`, then Content-Length) itself (Node sends no body to a HEAD, as for Express).
 * About 6% of a user request's instructions (docs/PERFORMANCE.md).
 *
 * Its close also ends when connections linger (below).
 *
 * Everything else goes to Nest's own reply, as before: another status, a conditional
 * request (If-None-Match, If-Modified-Since: Express may answer 304), a Content-Type a route
 * has set, errors, strings, empty bodies and files; and every answer while one of Express's
 * settings that change a JSON answer is on (JSON_SETTINGS).
 */
export class JsonReplyExpressAdapter extends ExpressAdapter {
  /** Every open connection, for the close below (one listener per connection, none per request). */
  private readonly connections = new Set<Socket>();

  override initHttpServer(options: NestApplicationOptions): void {
    super.initHttpServer(options);
    (this.getHttpServer() as Server).on('connection', (socket: Socket) => {
      this.connections.add(socket);
      socket.once('close', () => this.connections.delete(socket));
    });
  }

  /**
   * The HTTP server's close ends. Node's `server.close()` waits for every connection, and
   * once closing it no longer enforces `headersTimeout`: a connection that never sent a
   * whole request (a browser's preconnect, a load balancer's TCP check, a stuck client) held
   * the shutdown until the watchdog exited with status 1, skipping the steps after it (Redis
   * closed last). So from IDLE_CUT_MS after the close began, every connection with no answer
   * in progress is ended (and one whose answer finishes, once it has), while answers still
   * being worked out (a reprocess waiting on the model, a redrive) finish; at ALL_CUT_MS,
   * inside the watchdog's 10 s, whatever is left is cut.
   */
  override async close(): Promise<void> {
    const server = this.getHttpServer() as Server | undefined;
    const endIdle = (): void => {
      for (const socket of this.connections) if (!answering(socket)) socket.end();
    };
    let sweep: NodeJS.Timeout | undefined;
    const idle = setTimeout(() => {
      endIdle();
      sweep = setInterval(endIdle, SWEEP_MS);
      sweep.unref();
    }, IDLE_CUT_MS);
    const all = setTimeout(() => server?.closeAllConnections(), ALL_CUT_MS);
    idle.unref();
    all.unref();
    try {
      await super.close();
    } finally {
      clearTimeout(idle);
      clearInterval(sweep);
      clearTimeout(all);
    }
  }

  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if (!plainJsonAnswer(response, body, statusCode)) return super.reply(response, body, statusCode);
    const text = JSON.stringify(body);
    response.statusCode = 200;
    response.setHeader('Content-Type', 'application/json; charset=utf-8');
    response.setHeader('Content-Length', Buffer.byteLength(text));
    response.end(text);
    return response;
  }
}

/** When the HTTP server's close ends the connections with no answer in progress (then every SWEEP_MS), and cuts all. */
const IDLE_CUT_MS = 2_000;
const SWEEP_MS = 100;
const ALL_CUT_MS = 8_000;

/**
 * Whether a response is being answered on the socket: Node's http server keeps the current
 * ServerResponse there (`_httpMessage`) until it is finished, as http-terminator and
 * stoppable read it; a public per-request listener would cost every request.
 */
function answering(socket: Socket): boolean {
  return (socket as Socket & { _httpMessage?: unknown })._httpMessage != null;
}

/** Express's settings that change a JSON answer (configureApp turns ETags off and sets none of the others). */
const JSON_SETTINGS = ['etag fn', 'json replacer', 'json spaces', 'json escape'] as const;

function plainJsonAnswer(response: Response, body: unknown, statusCode: number | undefined): boolean {
  const plainBody =
    typeof body === 'object' &&
    body !== null &&
    !(body instanceof Error) &&
    !(body instanceof StreamableFile) &&
    !Buffer.isBuffer(body);
  if (!plainBody || (statusCode ?? response.statusCode) !== 200 || response.hasHeader('content-type')) return false;
  const settings = response.app.settings as Record<string, unknown>;
  const { headers } = response.req as Request;
  return (
    JSON_SETTINGS.every((name) => !settings[name]) &&
    headers['if-none-match'] === undefined &&
    headers['if-modified-since'] === undefined
  );
}
