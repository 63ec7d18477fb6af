import { Injectable, type OnModuleInit } from '@nestjs/common';
import { RedisService } from '@order-pipeline/redis';
import { MetricsRegistry } from './metrics-registry';

const WATCHED = Symbol('order-pipeline:watched');

/** What ioredis hands to sendCommand: a command with its name and the promise of its reply. */
interface SentCommand {
  readonly name?: string;
  readonly promise?: Promise<unknown>;
  [WATCHED]?: true;
}

/** Redis.sendCommand(command, stream) and Cluster.sendCommand(command, stream, node). */
type SendCommand = (command: SentCommand, stream?: unknown, node?: unknown) => unknown;

/**
 * Counts Redis trouble: connection errors (the client's 'error' events, one per failed
 * connection attempt) and failed commands (every command whose reply is an error, by command
 * name). ioredis has no command hook, so the one client's `sendCommand` is wrapped: it only
 * watches each command's promise and changes nothing about how the command is sent. A
 * NOSCRIPT reply is not counted: ioredis answers it itself by sending the script again.
 */
@Injectable()
export class RedisMetrics implements OnModuleInit {
  constructor(
    private readonly redis: RedisService,
    private readonly metrics: MetricsRegistry,
  ) {}

  onModuleInit(): void {
    const connectionErrors = this.metrics.counter({
      name: 'order_pipeline_redis_connection_errors_total',
      help: 'Redis connection errors (ioredis error events; one per failed connection attempt while Redis is away).',
    });
    const commandErrors = this.metrics.counter({
      name: 'order_pipeline_redis_command_errors_total',
      help: 'Redis commands that failed (error reply, connection closed, timeout), by command name.',
      labelNames: ['command'],
    });
    const client = this.redis.client;
    client.on('error', () => connectionErrors.inc());

    const target = client as unknown as { sendCommand: SendCommand };
    const send: SendCommand = target.sendCommand.bind(client);
    // A command may pass through sendCommand more than once (offline queue, cluster redirects),
    // so it is marked when first watched. A mark on the command rather than a WeakSet of
    // commands: every read passes here, and a WeakSet entry per command kept the garbage
    // collector busy on many-key reads (docs/PERFORMANCE.md).
    target.sendCommand = (command, stream, node) => {
      if (command.promise !== undefined && command[WATCHED] !== true) {
        command[WATCHED] = true;
        const name = command.name;
        command.promise.catch((error: unknown) => {
          if (error instanceof Error && error.message.startsWith('NOSCRIPT')) return;
          commandErrors.inc({ command: (name ?? 'unknown').toLowerCase() });
        });
      }
      return send(command, stream, node);
    };
  }
}
