/**
 * The embedded fauxqs emulator's own thread (see embedded-emulator.ts): starts it, creates
 * the queues that are missing, says where they are, and stops it when asked. Everything
 * the emulator does per message (its HTTP server, JSON, SQLite writes) runs here, not on
 * the event loop that consumes the queue and serves the API.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { EmulatorRequest, EmulatorToMain, QueueSpec } from './embedded-emulator';

interface FauxqsServer {
  readonly port: number;
  createQueue(name: string, options?: { attributes?: Record<string, string> }): { queueUrl: string; queueArn: string };
  inspectQueue(name: string): { url: string; arn: string } | undefined;
  stop(): Promise<void>;
}
interface FauxqsModule {
  /** `listenHost` is this project's patch of fauxqs (patches/): 2.4.1 always listens on 0.0.0.0. */
  startFauxqs(options: {
    port: number;
    host: string;
    listenHost: string;
    logger: boolean;
    dataDir: string;
  }): Promise<FauxqsServer>;
}

const post = (message: EmulatorToMain): void => parentPort?.postMessage(message);

async function main(request: EmulatorRequest): Promise<void> {
  // fauxqs is ESM-only; the module: node16 build keeps this a real dynamic import.
  const fauxqs = (await import('fauxqs')) as unknown as FauxqsModule;
  const server = await fauxqs.startFauxqs({
    port: request.port,
    // `host` names the queue URLs' host; `listenHost` is where the server listens.
    host: '127.0.0.1',
    listenHost: request.host,
    logger: false,
    dataDir: request.dataDir,
  });
  // createQueue on a queue restored from disk empties it, so create only what is missing.
  const ensure = (spec: QueueSpec): { queueUrl: string; queueArn: string } => {
    const existing = server.inspectQueue(spec.name);
    return existing
      ? { queueUrl: existing.url, queueArn: existing.arn }
      : server.createQueue(spec.name, { attributes: spec.attributes });
  };
  const dlq = ensure(request.dlq);
  const attributes = {
    ...request.queue.attributes,
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq.queueArn, maxReceiveCount: request.maxReceiveCount }),
  };
  const queue = ensure({ name: request.queue.name, attributes });
  parentPort?.on('message', (message: unknown) => {
    if (message !== 'stop') return;
    server.stop().then(
      () => post({ type: 'stopped' }),
      (error: unknown) => post({ type: 'failed', message: String(error) }),
    );
  });
  post({ type: 'ready', port: server.port, queueUrl: queue.queueUrl, attributes });
}

main(workerData as EmulatorRequest).catch((error: unknown) => {
  post({ type: 'failed', message: error instanceof Error ? (error.stack ?? error.message) : String(error) });
});
