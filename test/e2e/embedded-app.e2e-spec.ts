import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { networkInterfaces, tmpdir } from 'node:os';
import { createConnection, createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { anOrder } from '../../libs/orders/test/order-builder';
import { appNodeFlags } from '../support/node-flags';
import { freePort, stopProcess } from '../support/processes';
import { eventually, e2eRedisUrl } from '../support/test-app';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'order-pipeline', 'src', 'main.js');

interface Running {
  readonly child: ChildProcess;
  readonly base: string;
  output(): string;
  /** Resolves once it answers HTTP; fails at once, quoting its output, if it exits first. */
  serving(): Promise<void>;
  /** Its exit status (or signal), within 30 s; after that a failure that quotes its output. */
  exited(): Promise<number | string | null>;
}

/**
 * The built app as a child process, as `./scripts/start` runs it (its node flags, so one that
 * Node refuses fails here): no SQS_QUEUE_URL, so it embeds fauxqs.
 */
async function startBuiltApp(env: Record<string, string>): Promise<Running> {
  const port = await freePort();
  let output = '';
  const child = spawn(process.execPath, [...appNodeFlags().start, MAIN], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      PORT: String(port),
      REDIS_URL: e2eRedisUrl(),
      SQS_WAIT_TIME_SECONDS: '1',
      SQS_RETRY_BACKOFF_SECONDS: '1',
      ...env,
    },
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exit = new Promise<number | string | null>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal)),
  );
  const exited = async (): Promise<number | string | null> => {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the app did not exit within 30 s; it wrote:\n${output}`)), 30_000);
    });
    return Promise.race([exit, late]).finally(() => clearTimeout(timer));
  };
  const base = `http://127.0.0.1:${port}`;
  const serving = async (): Promise<void> => {
    const up = eventually(async () => (await fetch(`${base}/health/live`)).ok, 60_000, 100);
    const gone = exit.then((status) => {
      throw new Error(`the app exited (${String(status)}) before it served HTTP; it wrote:\n${output}`);
    });
    await Promise.race([up, gone]);
  };
  return { child, base, output: () => output, serving, exited };
}

async function json<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

/** An IPv4 address of this machine other than 127.0.0.1. */
function otherAddress(): string {
  const external = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  if (external) return external.address;
  if (process.platform === 'linux') return '127.0.0.2';
  throw new Error('this machine has no IPv4 address but 127.0.0.1 to test the emulator against');
}

/** Whether a TCP connection to host:port is accepted. */
function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

interface Global {
  total_orders: number;
  total_revenue: number;
  rejected: number;
  duplicates: number;
  conflicts: number;
}

/** The global totals once every one of the sample's four messages has an outcome. */
async function sampleHandled(base: string): Promise<Global> {
  let stats: Global | undefined;
  await eventually(
    async () => {
      stats = await json<Global>(`${base}/stats/global`);
      return stats.total_orders + stats.rejected + stats.duplicates + stats.conflicts >= 4;
    },
    60_000,
    200,
  );
  return stats as Global;
}

describe('the built app with the embedded SQS emulator', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'op-embedded-'));
  const sample = join(dataDir, 'sample.ndjson');
  let env: Record<string, string> & { SQS_EMULATOR_PORT: string };
  let app: Running | undefined;

  beforeAll(async () => {
    if (!existsSync(MAIN))
      throw new Error('dist/ is missing: run `pnpm build` (./scripts/test does) before the e2e specs');
    writeFileSync(
      sample,
      [anOrder().json(), anOrder().json(), anOrder().with({ user_id: 'u-2' }).json(), '{"order_id": "broken"'].join(
        '\n',
      ),
    );
    env = {
      SQS_EMULATOR_PORT: String(await freePort()),
      SQS_DATA_DIR: join(dataDir, 'sqs'),
      REDIS_KEY_PREFIX: `emb${Date.now()}`,
      LOAD_SAMPLE_DATA: 'true',
      SAMPLE_DATA_FILE: sample,
    };
  });

  afterEach(async () => {
    if (app) await stopProcess(app.child);
    app = undefined;
  });

  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it('creates its queues, loads the sample data and serves exact totals', async () => {
    app = await startBuiltApp(env);
    await app.serving();
    expect(await sampleHandled(app.base)).toMatchObject({ total_orders: 3, total_revenue: 299.97, rejected: 1 });
    expect(app.output()).toMatch(/embedded SQS emulator on http:\/\/127\.0\.0\.1:\d+: queue \S+orders/);
    // On every interface, with no READ_API_KEY: it says the read API is open to all.
    expect(app.output()).toContain('set READ_API_KEY, or HOST=127.0.0.1 to keep it to this machine');
  }, 90_000);

  it('keeps the emulator to this machine: it listens on loopback only (SQS_EMULATOR_HOST)', async () => {
    app = await startBuiltApp({ ...env, SQS_DATA_DIR: join(dataDir, 'sqs-loopback'), LOAD_SAMPLE_DATA: 'false' });
    const port = Number(env.SQS_EMULATOR_PORT);
    await eventually(async () => (await fetch(`${app?.base}/health/live`)).ok, 60_000, 200);
    // Another address of this machine, which all interfaces (fauxqs' own choice) would
    // accept: one of its network addresses, or on Linux 127.0.0.2 (loopback too, but not
    // the address it listens on).
    expect([await connects('127.0.0.1', port), await connects(otherAddress(), port)]).toEqual([true, false]);
  }, 90_000);

  it('restarts on the same data without sending the sample again', async () => {
    // Data of its own: a first start that loads the sample, then the restart.
    const own = { ...env, SQS_DATA_DIR: join(dataDir, 'sqs-restart'), REDIS_KEY_PREFIX: `${env.REDIS_KEY_PREFIX}r` };
    app = await startBuiltApp(own);
    expect(await sampleHandled(app.base)).toMatchObject({ total_orders: 3, duplicates: 0 });
    await stopProcess(app.child);
    app = await startBuiltApp(own);
    const base = app.base;
    await eventually(async () => (await fetch(`${base}/health/ready`)).status === 200, 60_000, 200);
    await eventually(() => app?.output().includes('was loaded before') ?? false, 10_000);
    expect(await json(`${base}/stats/global`)).toMatchObject({ total_orders: 3, duplicates: 0 });
  }, 90_000);

  it('keeps messages sent to it on disk: a crash before they are processed loses nothing', async () => {
    const crashEnv = {
      ...env,
      SQS_DATA_DIR: join(dataDir, 'sqs-crash'),
      LOAD_SAMPLE_DATA: 'false',
      SQS_VISIBILITY_TIMEOUT: '2',
    };
    // Redis unreachable: the consumers receive nothing, every message stays on the queue.
    app = await startBuiltApp({ ...crashEnv, REDIS_URL: 'redis://127.0.0.1:1' }); // nothing listens on port 1
    const sqsEndpoint = `http://127.0.0.1:${crashEnv.SQS_EMULATOR_PORT}`;
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: sqsEndpoint,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    await eventually(async () => (await fetch(`${app?.base}/health/live`)).ok, 60_000, 200);
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }));
    await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: anOrder().with({ user_id: 'u-crash' }).json() }));
    await eventually(async () => {
      const res = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }),
      );
      return (
        res.Attributes?.ApproximateNumberOfMessages === '1' && (app?.output().includes('consumption paused') ?? false)
      );
    });
    app.child.kill('SIGKILL');
    await app.exited();
    sqs.destroy();

    app = await startBuiltApp(crashEnv);
    const base = app.base;
    await eventually(async () => (await fetch(`${base}/users/u-crash/stats`)).status === 200, 60_000, 200);
    expect(await json(`${base}/users/u-crash/stats`)).toMatchObject({ order_count: 1, total_spend: 99.99 });
  }, 120_000);

  it('makes a message visible again at once when its visibility is set to 0, with messages kept on disk', async () => {
    // What the release at shutdown and a zero backoff do. Tried on the dead-letter queue,
    // which the app does not consume, so only this test receives from it.
    app = await startBuiltApp({ ...env, SQS_DATA_DIR: join(dataDir, 'sqs-visibility'), LOAD_SAMPLE_DATA: 'false' });
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${env.SQS_EMULATOR_PORT}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    try {
      await eventually(async () => (await fetch(`${app?.base}/health/live`)).ok, 60_000, 200);
      const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders-dlq' }));
      const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'released' }));
      const receive = async (): Promise<string[]> =>
        (
          (await sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 60, WaitTimeSeconds: 1 })))
            .Messages ?? []
        ).map((m) => m.ReceiptHandle ?? '');
      const [handle] = await receive();
      await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: handle, VisibilityTimeout: 0 }));
      const again = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1, AttributeNames: ['All'] }),
      );
      expect(again.Messages?.map((m) => [m.MessageId, m.Attributes?.ApproximateReceiveCount])).toEqual([
        [MessageId, '2'],
      ]);
    } finally {
      sqs.destroy();
    }
  }, 90_000);

  it('on SIGTERM finishes its batches and their deletes: nothing comes back as a duplicate', async () => {
    const termEnv = {
      ...env,
      SQS_DATA_DIR: join(dataDir, 'sqs-term'),
      REDIS_KEY_PREFIX: `term${Date.now()}`,
      LOAD_SAMPLE_DATA: 'false',
      // Long enough that a late heartbeat on a loaded machine does not redeliver a batch.
      SQS_VISIBILITY_TIMEOUT: '10',
    };
    app = await startBuiltApp(termEnv);
    const base = app.base;
    await eventually(async () => (await fetch(`${base}/health/ready`)).ok, 60_000, 100);
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint: `http://127.0.0.1:${termEnv.SQS_EMULATOR_PORT}`,
      credentials: { accessKeyId: 'x', secretAccessKey: 'x' },
    });
    const { QueueUrl } = await sqs.send(new GetQueueUrlCommand({ QueueName: 'orders' }));
    const total = 5000;
    for (let i = 0; i < total; i += 10) {
      const entries = Array.from({ length: 10 }, (_, j) => ({
        Id: String(j),
        MessageBody: anOrder()
          .with({ user_id: `u-${j}` })
          .json(),
      }));
      await sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries: entries }));
    }
    sqs.destroy();
    await eventually(
      async () => (await json<{ total_orders: number }>(`${base}/stats/global`)).total_orders >= 300,
      30_000,
      10,
    );
    app.child.kill('SIGTERM');
    // Nest runs the shutdown hooks, then the process exits with status 0.
    expect(await app.exited()).toBe(0);
    expect(app.output()).toMatch(/SIGTERM: stopping; batches in flight get up to \d+ s to finish/);

    app = await startBuiltApp(termEnv);
    const again = app.base;
    await eventually(
      async () => (await json<{ total_orders: number }>(`${again}/stats/global`)).total_orders === total,
      60_000,
      200,
    );
    expect(await json(`${again}/stats/global`)).toMatchObject({ total_orders: total, duplicates: 0 });
  }, 150_000);

  it('stops in order on SIGHUP too, past connections that never sent a whole request', async () => {
    app = await startBuiltApp({
      ...env,
      SQS_DATA_DIR: join(dataDir, 'sqs-hup'),
      REDIS_KEY_PREFIX: `hup${Date.now()}`,
      LOAD_SAMPLE_DATA: 'false',
      SHUTDOWN_GRACE_SECONDS: '3',
    });
    const base = app.base;
    await eventually(async () => (await fetch(`${base}/health/ready`)).ok, 60_000, 100);
    // A preconnect that sends nothing, and a client stuck halfway through its headers: the
    // HTTP server's close would wait for both for ever.
    const { port } = new URL(base);
    const idle = createConnection(Number(port), '127.0.0.1');
    const partial = createConnection(Number(port), '127.0.0.1', () => {
      partial.write('GET /stats/global HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    });
    for (const socket of [idle, partial]) socket.on('error', () => undefined);
    try {
      await eventually(() => !idle.connecting && !partial.connecting);
      app.child.kill('SIGHUP');
      // Exit 0 is the orderly end; the watchdog's exit (1) would come after grace + 10 s.
      expect(await app.exited()).toBe(0);
      expect(app.output()).toMatch(/SIGHUP: stopping; batches in flight get up to 3 s to finish/);
    } finally {
      idle.destroy();
      partial.destroy();
    }
  }, 120_000);

  it('refuses to start with a bad variable, naming it', async () => {
    app = await startBuiltApp({ ...env, SQS_MAX_RECEIVE_COUNT: 'lots' });
    expect(await app.exited()).toBe(78);
    expect(app.output()).toContain('Invalid configuration: SQS_MAX_RECEIVE_COUNT must be an integer');
  });

  it("names the emulator's settings when its port is taken", async () => {
    const holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
    try {
      const port = (holder.address() as AddressInfo).port;
      app = await startBuiltApp({ ...env, SQS_EMULATOR_PORT: String(port), LOAD_SAMPLE_DATA: 'false' });
      expect(await app.exited()).toBe(1);
      expect(app.output()).toContain(
        `cannot start the embedded SQS emulator on 127.0.0.1:${port} (SQS_EMULATOR_HOST, SQS_EMULATOR_PORT): the port is in use`,
      );
    } finally {
      holder.close();
    }
  });

  it('receives nothing when it cannot serve HTTP (its port taken), and names the setting', async () => {
    // A crash loop used to receive a batch on every start and leave it in flight: each start
    // spent a receive of it, until valid orders reached the dead-letter queue.
    const endpoint = process.env.E2E_SQS_ENDPOINT ?? '';
    const sqs = new SQSClient({
      region: 'us-east-1',
      endpoint,
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    });
    const holder = createServer();
    try {
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `taken-${Date.now()}` }));
      await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl,
          Entries: Array.from({ length: 10 }, (_, i) => ({ Id: String(i), MessageBody: anOrder().json() })),
        }),
      );
      await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
      const port = (holder.address() as AddressInfo).port;

      app = await startBuiltApp({
        HOST: '127.0.0.1',
        PORT: String(port),
        SQS_QUEUE_URL: QueueUrl ?? '',
        SQS_ENDPOINT: endpoint,
        REDIS_KEY_PREFIX: `taken${Date.now()}`,
        LOAD_SAMPLE_DATA: 'false',
      });
      expect(await app.exited()).toBe(1);
      expect(app.output()).toContain(`cannot serve HTTP on 127.0.0.1:${port} (HOST, PORT): the port is in use`);
      const { Attributes } = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      expect([Attributes?.ApproximateNumberOfMessages, Attributes?.ApproximateNumberOfMessagesNotVisible]).toEqual([
        '10',
        '0',
      ]);
      // Not even received and released: every message is on its first receive now.
      const counts: string[] = [];
      for (let tries = 0; counts.length < 10 && tries < 20; tries += 1) {
        const { Messages = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        counts.push(...Messages.map((m) => m.Attributes?.ApproximateReceiveCount ?? '?'));
      }
      expect(counts).toEqual(Array.from({ length: 10 }, () => '1'));
    } finally {
      holder.close();
      sqs.destroy();
    }
  });
});
