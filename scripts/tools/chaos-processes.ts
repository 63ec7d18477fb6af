// The processes a chaos run starts, all on loopback and free ports: a redis-server with an
// append-only file, the fauxqs SQS emulator as its own process, and the built app.

import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { sleep, until as waitUntil } from './wait.ts';

export { freePort, sleep } from './wait.ts';

/** Polls until `check` holds (every 100 ms); throws after the deadline. */
export const until = (check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> =>
  waitUntil(check, timeoutMs, what, 100);

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new Socket();
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
    socket.connect(port, '127.0.0.1');
  });
}

const running = new Set<ChildProcess>();

/** SIGKILLs every process still running (the chaos CLI calls it when it is interrupted). */
export function killAll(): void {
  for (const child of running) child.kill('SIGKILL');
}

/** A child process whose output goes to a log file in the run directory. */
export class Child {
  readonly process: ChildProcess;
  private readonly exited: Promise<void>;

  constructor(command: string, args: readonly string[], env: NodeJS.ProcessEnv, log: WriteStream, cwd?: string) {
    this.process = spawn(command, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    this.process.stdout?.pipe(log, { end: false });
    this.process.stderr?.pipe(log, { end: false });
    running.add(this.process);
    this.exited = new Promise((resolve) =>
      this.process.once('exit', () => {
        running.delete(this.process);
        resolve();
      }),
    );
  }

  get running(): boolean {
    return this.process.exitCode === null && this.process.signalCode === null;
  }

  /** kill -9: no shutdown hook runs. */
  async kill(): Promise<void> {
    if (this.running) this.process.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code (null when killed). */
  async stop(graceMs = 30_000): Promise<number | null> {
    if (this.running) {
      this.process.kill('SIGTERM');
      const timer = setTimeout(() => this.process.kill('SIGKILL'), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    return this.process.exitCode;
  }
}

/** A private redis-server with appendonly yes and appendfsync always, restartable on its files. */
export class ChaosRedis {
  readonly port: number;
  private readonly dir: string;
  private readonly log: WriteStream;
  private child: Child | undefined;

  constructor(port: number, dir: string, log: WriteStream) {
    this.port = port;
    this.dir = dir;
    this.log = log;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // appendfsync always: a write is on disk before Redis answers it, so nothing the app
    // was told is stored (and then acknowledged to SQS) can be lost, even by a machine crash.
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--dir', this.dir, '--save', ''];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--logfile', join(this.dir, 'redis.log'));
    this.child = new Child('redis-server', args, { PATH: process.env.PATH ?? '' }, this.log);
    await until(() => portOpen(this.port), 30_000, `redis-server on port ${this.port}`);
  }

  /** kill -9 (a crash): what is on disk is all that survives. */
  async crash(): Promise<void> {
    await this.child?.kill();
  }

  async stop(): Promise<void> {
    await this.child?.stop(5_000);
  }
}

/** The fauxqs SQS emulator as its own process (as real SQS would be). */
export async function startFauxqs(root: string, port: number, log: WriteStream): Promise<Child> {
  const cli = join(root, 'node_modules', 'fauxqs', 'dist', 'cli.js');
  const env = {
    PATH: process.env.PATH ?? '',
    FAUXQS_PORT: String(port),
    FAUXQS_HOST: '127.0.0.1',
    FAUXQS_LISTEN_HOST: '127.0.0.1', // this project's patch of fauxqs (patches/): loopback only
    FAUXQS_LOGGER: 'false',
  };
  const child = new Child(process.execPath, [cli], env, log);
  await until(() => portOpen(port), 30_000, `fauxqs on port ${port}`);
  return child;
}

/** The built app (dist/) as a child process. */
export async function startApp(
  root: string,
  port: number,
  env: Record<string, string>,
  log: WriteStream,
): Promise<Child> {
  const main = join(root, 'dist', 'apps', 'order-pipeline', 'src', 'main.js');
  const child = new Child(
    process.execPath,
    [main],
    { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: String(port), ...env },
    log,
    root,
  );
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!child.running) throw new Error(`the app exited with code ${child.process.exitCode} (see the log)`);
    const live = await fetch(`http://127.0.0.1:${port}/health/live`).then(
      (r) => r.ok,
      () => false,
    );
    if (live) return child;
    if (Date.now() > deadline) throw new Error('the app did not answer /health/live within 60 s');
    await sleep(100);
  }
}

export function logFile(path: string): WriteStream {
  return createWriteStream(path, { flags: 'a' });
}
