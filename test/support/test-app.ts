import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { Test, type TestingModule, type TestingModuleBuilder } from '@nestjs/testing';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Cluster } from 'ioredis';
import { Clock } from '@order-pipeline/config';
import { RedisService } from '@order-pipeline/redis';
import { AppModule } from '../../apps/order-pipeline/src/app.module';
import { APP_OPTIONS, configureApp, createHttpAdapter } from '../../apps/order-pipeline/src/configure-app';

/** GET /stats/global, as the specs read it. */
export interface GlobalStats {
  total_orders: number;
  total_revenue: number;
  duplicates: number;
  rejected: number;
  conflicts: number;
}

export interface TestApp {
  readonly app: INestApplication;
  readonly baseUrl: string;
  readonly queueUrl: string;
  readonly dlqUrl: string;
  readonly sqs: SQSClient;
  readonly keyPrefix: string;
  /** GET a path of the API; returns status and parsed JSON. */
  get<T = unknown>(path: string): Promise<{ status: number; body: T }>;
  /** The Prometheus text of GET /metrics. */
  metrics(): Promise<string>;
  /** Sends raw bodies in batches of 10. */
  send(bodies: readonly string[]): Promise<void>;
  /** Resolves when the queue holds no visible or in-flight messages. */
  drained(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/**
 * The day the specs' fixed order dates are judged on (the app's Clock): their orders are
 * dated in 2026 up to November, the default order 2026-03-04. The wall clock would age
 * them past the calendar rules (the guard flags orders over two years old; the dashboard
 * looks back 24 months). The clock starts here and runs at the wall clock's pace, so rate
 * windows and the breaker behave as ever.
 */
export const TEST_CLOCK_START = '2026-12-01T00:00:00Z';

/** A Clock that starts at `startIso` when it is made and then runs with the wall clock. */
export class TestClock extends Clock {
  private readonly offsetMs: number;

  constructor(startIso = TEST_CLOCK_START) {
    super();
    this.offsetMs = Date.parse(startIso) - Date.now();
  }

  now(): number {
    return Date.now() + this.offsetMs;
  }
}

/**
 * Boots the real AppModule in process against the e2e redis-server and fauxqs started
 * by the global setup. Each call gets its own queue pair and Redis key prefix, so
 * specs are independent. Extra environment overrides the defaults. The app's Clock is a
 * TestClock (`customise` may override it again).
 */
export async function startTestApp(
  env: Record<string, string> = {},
  customise: (builder: TestingModuleBuilder) => TestingModuleBuilder = (b) => b,
  /** Runs once the app is configured, before it listens (its queue and an SQS client at hand). */
  beforeListen?: (ready: { app: INestApplication; queueUrl: string; sqs: SQSClient }) => Promise<void>,
): Promise<TestApp> {
  const endpoint = required('E2E_SQS_ENDPOINT');
  const id = randomUUID().slice(0, 8);
  const sqs = emulatorClient(endpoint);
  // env.SQS_QUEUE_URL (with env.REDIS_KEY_PREFIX) points a second app at an earlier one's queue.
  const queues = env.SQS_QUEUE_URL
    ? { queueUrl: env.SQS_QUEUE_URL, dlqUrl: '' }
    : await createQueues(sqs, id, env.SQS_MAX_RECEIVE_COUNT ?? '5', env.SQS_VISIBILITY_TIMEOUT ?? '5');
  const queueUrl = queues.queueUrl;
  const keyPrefix = env.REDIS_KEY_PREFIX ?? `t${id}`;
  const saved = { ...process.env };
  Object.assign(process.env, {
    PORT: '0',
    REDIS_URL: required('E2E_REDIS_URL'),
    REDIS_KEY_PREFIX: keyPrefix,
    SQS_QUEUE_URL: queueUrl,
    SQS_ENDPOINT: endpoint,
    AWS_REGION: 'us-east-1',
    SQS_WAIT_TIME_SECONDS: '1',
    SQS_CONSUMER_CONCURRENCY: '2',
    SQS_RETRY_BACKOFF_SECONDS: '1',
    LOAD_SAMPLE_DATA: 'false',
    // Quiet specs: request and batch log lines only when a spec asks for them.
    LOG_LEVEL: 'error',
    ...env,
  });
  let moduleRef: TestingModule;
  try {
    const builder = Test.createTestingModule({ imports: [AppModule] })
      .overrideProvider(Clock)
      .useValue(new TestClock());
    moduleRef = await customise(builder).compile();
  } finally {
    // The configuration has been read: leave no variable behind for the next spec.
    for (const key of Object.keys(process.env)) if (!(key in saved)) delete process.env[key];
    Object.assign(process.env, saved);
  }
  const app = configureApp(moduleRef.createNestApplication(createHttpAdapter(), { ...APP_OPTIONS, logger: ['error'] }));
  try {
    await beforeListen?.({ app, queueUrl, sqs });
  } catch (error) {
    // A failing hook must not leave a consuming app behind to hold the test run open.
    await app.close();
    sqs.destroy();
    throw error;
  }
  await app.listen(0, '127.0.0.1');
  const baseUrl = await app.getUrl();
  // A Cluster client refuses commands until it knows the slots, which on a loaded host can take
  // longer than the app's own 5 s start-up wait: a spec starts from a client that is ready.
  const redis = app.get(RedisService);
  if (redis.client instanceof Cluster && !(await redis.waitUntilReady(60_000))) {
    const why = redis.downReason;
    await app.close();
    sqs.destroy();
    throw new Error(`the Redis Cluster client was not ready within 60 s (${why ?? 'no reason given'})`);
  }

  const attribute = async (
    name: 'ApproximateNumberOfMessages' | 'ApproximateNumberOfMessagesNotVisible',
  ): Promise<number> => {
    const res = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] }));
    return Number(res.Attributes?.[name] ?? 0);
  };

  return {
    app,
    baseUrl,
    queueUrl,
    dlqUrl: queues.dlqUrl,
    sqs,
    keyPrefix,
    async get<T>(path: string) {
      // Bounded, so a request the app never answers fails with a reason instead of hanging
      // the spec until jest's own timeout.
      const res = await fetch(`${baseUrl.replace('[::1]', '127.0.0.1')}${path}`, {
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
    },
    async metrics() {
      const res = await fetch(`${baseUrl.replace('[::1]', '127.0.0.1')}/metrics`, {
        signal: AbortSignal.timeout(30_000),
      });
      return res.text();
    },
    async send(bodies) {
      for (let i = 0; i < bodies.length; i += 10) {
        const batch = bodies.slice(i, i + 10);
        const res = await sqs.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: batch.map((body, j) => ({ Id: String(j), MessageBody: body })),
          }),
        );
        if ((res.Failed ?? []).length > 0) throw new Error(`send failed: ${JSON.stringify(res.Failed)}`);
      }
    },
    async drained(timeoutMs = 60_000) {
      await eventually(
        async () =>
          (await attribute('ApproximateNumberOfMessages')) +
            (await attribute('ApproximateNumberOfMessagesNotVisible')) ===
          0,
        timeoutMs,
      );
    },
    async close() {
      await app.close();
      sqs.destroy();
    },
  };
}

/**
 * A queue pair of its own on the e2e emulator, for a spec whose queue must differ from what
 * the app is told (pass its queueUrl as SQS_QUEUE_URL).
 */
export async function createQueuePair(
  maxReceiveCount: string,
  visibilityTimeout = '5',
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const sqs = emulatorClient(required('E2E_SQS_ENDPOINT'));
  try {
    return await createQueues(sqs, randomUUID().slice(0, 8), maxReceiveCount, visibilityTimeout);
  } finally {
    sqs.destroy();
  }
}

async function createQueues(
  sqs: SQSClient,
  id: string,
  maxReceiveCount: string,
  visibilityTimeout: string,
): Promise<{ queueUrl: string; dlqUrl: string }> {
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `dlq-${id}` }));
  const dlqArn = (
    await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes?.QueueArn;
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: `orders-${id}`,
      Attributes: {
        VisibilityTimeout: visibilityTimeout,
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  return { queueUrl: queue.QueueUrl ?? '', dlqUrl: dlq.QueueUrl ?? '' };
}

/** Polls `condition` until it holds (no fixed sleeps in assertions); rejects at the deadline. */
/** A queue's visible and in-flight messages (the app's queue unless told another, e.g. t.dlqUrl). */
export async function depth(t: TestApp, url = t.queueUrl): Promise<{ visible: number; inFlight: number }> {
  const res = await t.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    visible: Number(res.Attributes?.ApproximateNumberOfMessages ?? 0),
    inFlight: Number(res.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

export async function eventually(
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      // A try that does not answer ends at the deadline (or a second after it, so that a try
      // started just before it is not cut short): the wait stays bounded.
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        const left = Math.max(deadline - Date.now(), 1_000);
        timer = setTimeout(() => reject(new Error(`the last try did not answer within ${left} ms`)), left);
      });
      const met = await Promise.race([condition(), timedOut]).finally(() => clearTimeout(timer));
      if (met) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `condition not met within ${timeoutMs} ms${lastError instanceof Error ? `: ${lastError.message}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** An SQS client for the e2e emulator; a stuck emulator fails a call instead of holding the spec. */
function emulatorClient(endpoint: string): SQSClient {
  return new SQSClient({
    region: 'us-east-1',
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestHandler: {
      connectionTimeout: 5_000,
      requestTimeout: 30_000,
      socketTimeout: 30_000,
      throwOnRequestTimeout: true,
    },
  });
}

/** The private Redis of the e2e run (global setup): never the machine's shared one on 6379. */
export function e2eRedisUrl(): string {
  return required('E2E_REDIS_URL');
}

/** The port of the e2e run's SQS emulator (global setup). */
export function e2eSqsPort(): number {
  return Number(new URL(required('E2E_SQS_ENDPOINT')).port);
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run e2e specs through jest (global setup)`);
  return value;
}
