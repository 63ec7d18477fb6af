import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A port the OS just handed out and released: free for the process we start next. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts TCP connections on the port; rejects after the deadline. */
export async function waitForPort(port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = new Socket();
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => (socket.destroy(), resolve(false)));
      socket.connect(port, '127.0.0.1');
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`nothing listened on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface RedisServer {
  readonly port: number;
  /** Where its append-only file lives (restart with the same dir to keep the data). */
  readonly dir: string;
  readonly url: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A private redis-server on a free port (never the shared 6379), keeping nothing on disk
 * unless a directory for its append-only file is given (the caller's to remove). A directory
 * of its own is removed when it stops.
 */
export async function startRedisServer(options: { port?: number; dir?: string } = {}): Promise<RedisServer> {
  const port = options.port ?? (await freePort());
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'op-redis-'));
  const removeOwnDir = (): void => {
    if (options.dir === undefined) rmSync(dir, { recursive: true, force: true });
  };
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir];
  args.push('--appendonly', options.dir ? 'yes' : 'no');
  const child = spawn('redis-server', args, { stdio: 'ignore' });
  // A server that cannot bind (the port was taken meanwhile) says so at once, not after the wait.
  let listening = false;
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => {
      if (!listening) reject(new Error(`redis-server exited (code ${code}) before listening on port ${port}`));
    }),
  );
  try {
    await Promise.race([waitForPort(port), exited]);
    // Something else may hold the port (it was free when chosen): make sure it is this server.
    const info = await redisCli(port, 'INFO', 'server');
    const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
    if (pid !== child.pid)
      throw new Error(`port ${port} is held by another process (pid ${pid}), not our redis-server`);
  } catch (error) {
    child.kill('SIGKILL');
    removeOwnDir();
    throw error;
  }
  listening = true;
  return {
    port,
    dir,
    url: `redis://127.0.0.1:${port}`,
    process: child,
    stop: async () => {
      await stopProcess(child);
      removeOwnDir();
    },
  };
}

export interface SqsEmulator {
  readonly port: number;
  readonly endpoint: string;
  readonly process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * The fauxqs emulator as a child process (it is ESM-only, which Jest's CommonJS runtime
 * cannot import). Queues named in `queues` exist when this resolves.
 */
export async function startSqsEmulator(queues: readonly string[]): Promise<SqsEmulator> {
  const port = await freePort();
  // fauxqs exports nothing but its ESM entry, so find the CLI beside the project's node_modules.
  const cli = join(__dirname, '..', '..', 'node_modules', 'fauxqs', 'dist', 'cli.js');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    FAUXQS_PORT: String(port),
    FAUXQS_HOST: '127.0.0.1',
    FAUXQS_LISTEN_HOST: '127.0.0.1', // this project's patch of fauxqs (patches/): loopback only
    FAUXQS_LOGGER: 'false',
  };
  // FAUXQS_INIT is the path of a JSON file, removed when the emulator stops.
  const initDir = queues.length > 0 ? mkdtempSync(join(tmpdir(), 'op-fauxqs-')) : undefined;
  if (initDir !== undefined) {
    const init = join(initDir, 'init.json');
    writeFileSync(init, JSON.stringify({ queues: queues.map((name) => ({ name })) }));
    env.FAUXQS_INIT = init;
  }
  const child = spawn(process.execPath, [cli], { stdio: 'ignore', env });
  const stop = async (): Promise<void> => {
    await stopProcess(child);
    if (initDir !== undefined) rmSync(initDir, { recursive: true, force: true });
  };
  await waitForPort(port);
  return { port, endpoint: `http://127.0.0.1:${port}`, process: child, stop };
}

export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 5_000).unref();
  });
}

export interface RedisCluster {
  /** A seed node, for REDIS_URL with REDIS_CLUSTER=true. */
  readonly url: string;
  /** Every master as host:port, for REDIS_CLUSTER_NODES or a redis+cluster:// URL. */
  readonly nodes: readonly string[];
  /**
   * Stops master `index` (SHUTDOWN SAVE: its data is kept, as a node with persistence keeps
   * it) and starts it again on its port with its nodes.conf: its clients lose the connection.
   */
  restart(index: number): Promise<void>;
  /**
   * Stalls master `index` (SIGSTOP): its connections stay open and nothing answers, as with a
   * paused process or a black-holed network. The returned function resumes it (SIGCONT).
   */
  stall(index: number): () => void;
  stop(): Promise<void>;
}

/** A three-master Redis Cluster of private redis-server processes (all 16384 slots covered). */
export async function startRedisCluster(): Promise<RedisCluster> {
  const ports = [await freePort(), await freePort(), await freePort()];
  const dirs = ports.map(() => mkdtempSync(join(tmpdir(), 'op-cluster-')));
  const logOf = (i: number): string => join(dirs[i] ?? '', 'redis.log');
  const launch = (i: number): ChildProcess => {
    const args = ['--port', String(ports[i]), '--bind', '127.0.0.1', '--dir', dirs[i] ?? '', '--save', ''];
    args.push('--appendonly', 'no', '--cluster-enabled', 'yes', '--logfile', logOf(i));
    // A restart on a loaded machine may take longer than the default 15 s; past the node
    // timeout the other masters would mark the node failed and the cluster stay down.
    args.push('--cluster-node-timeout', '60000');
    return spawn('redis-server', args, { stdio: 'ignore' });
  };
  const children = ports.map((_, i) => launch(i));
  const stop = async (): Promise<void> => {
    for (const child of children) child.kill('SIGCONT'); // a stalled node would not stop
    await Promise.all(children.map((c) => stopProcess(c)));
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  };
  // Every step is bounded and says what went wrong: a step that waited for ever once left a
  // spec to its jest timeout with nothing to go on. redis-cli exits 0 on an error reply, so
  // replies are read, not exit codes.
  const logTail = (i: number): string => {
    const lines = existsSync(logOf(i)) ? readFileSync(logOf(i), 'utf8').trim().split('\n') : [];
    return lines.slice(-5).join(' | ') || 'empty';
  };
  const ok = async (port: number): Promise<boolean> =>
    (await redisCli(port, 'CLUSTER', 'INFO').catch(() => '')).includes('cluster_state:ok');
  const allOk = async (): Promise<void> => {
    const deadline = Date.now() + 15_000;
    while (!(await Promise.all(ports.map(ok))).every(Boolean)) {
      if (Date.now() > deadline) throw new Error('the Redis Cluster did not reach cluster_state:ok within 15 s');
      await delay(100);
    }
  };
  try {
    await Promise.all(ports.map((p) => waitForPort(p)));
    const nodes = ports.map((p) => `127.0.0.1:${p}`);
    execFileSync('redis-cli', ['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes'], {
      stdio: 'ignore',
      timeout: 30_000,
    });
    await allOk();
    const restart = async (i: number): Promise<void> => {
      const old = children[i];
      const port = ports[i];
      if (old === undefined || port === undefined) throw new Error(`no cluster node ${i}`);
      const exited = new Promise<true>((resolve) => old.once('exit', () => resolve(true)));
      // SHUTDOWN answers nothing when it works (the server closes the connection).
      const reply = await redisCli(port, 'SHUTDOWN', 'SAVE').catch((error: Error) => error.message);
      if (!(await Promise.race([exited, delay(10_000).then(() => false)]))) {
        throw new Error(
          `cluster node ${port} did not stop on SHUTDOWN SAVE (${reply.trim() || 'no reply'}); log: ${logTail(i)}`,
        );
      }
      const child = launch(i);
      children[i] = child;
      await waitForPort(port);
      // The port was free for a moment: make sure the server on it is the one just started.
      const pid = Number(/process_id:(\d+)/.exec(await redisCli(port, 'INFO', 'server'))?.[1]);
      if (pid !== child.pid) throw new Error(`port ${port} is held by another process (pid ${pid}), not the node`);
      await allOk().catch((error: Error) => {
        throw new Error(`${error.message} after node ${port} restarted; its log: ${logTail(i)}`);
      });
    };
    const stall = (i: number): (() => void) => {
      const child = children[i];
      if (child === undefined) throw new Error(`no cluster node ${i}`);
      child.kill('SIGSTOP');
      return () => child.kill('SIGCONT');
    };
    return { url: `redis://127.0.0.1:${ports[0]}`, nodes, restart, stall, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** redis-cli's output for one command, within 5 s. */
async function redisCli(port: number, ...args: string[]): Promise<string> {
  const { stdout } = await execFileAsync('redis-cli', ['-p', String(port), ...args], { timeout: 5_000 });
  return stdout;
}
