import type { Server } from 'node:http';
import { StreamableFile } from '@nestjs/common';
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
  /**
   * The HTTP server's close ends. Node's `server.close()` waits for every connection, and
   * once closing it no longer enforces `headersTimeout`: a connection that never sent a
   * whole request (a browser's preconnect, a load balancer's TCP check, a slow or stuck
   * client) held the shutdown until the watchdog exited with status 1, skipping the steps
   * after it (Redis closed last). Answers still being written get CLOSE_GRACE_MS, then every
   * connection left is cut.
   */
  override async close(): Promise<void> {
    const server = this.getHttpServer() as Server | undefined;
    const timer = setTimeout(() => server?.closeAllConnections(), CLOSE_GRACE_MS);
    timer.unref();
    try {
      await super.close();
    } finally {
      clearTimeout(timer);
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

/** How long the HTTP server's close waits for connections before it cuts them. */
const CLOSE_GRACE_MS = 2_000;

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
