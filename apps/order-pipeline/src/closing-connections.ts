import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

/**
 * From the first shutdown step on, every answer carries `Connection: close` and Node closes
 * its connection once it is written. The API keeps answering while the batches in flight
 * finish (readiness is already 503), so a client or load balancer still sending on a pooled
 * keep-alive connection is told to open a new one, to another instance, instead of keeping
 * a connection that the HTTP server's close would cut later, possibly under a request on
 * its way. Nothing is added to the request path before the shutdown.
 */
@Injectable()
export class ClosingConnections implements OnModuleDestroy {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleDestroy(): void {
    const server = this.adapterHost.httpAdapter?.getHttpServer() as Server | undefined;
    // Before Express's own listener, so the header is set before any answer is written.
    server?.prependListener('request', (_req: IncomingMessage, res: ServerResponse) => {
      res.setHeader('Connection', 'close');
    });
  }
}
