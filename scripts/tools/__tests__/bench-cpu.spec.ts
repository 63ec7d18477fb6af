import { Worker } from 'node:worker_threads';
import { cpuBetween, threadCpu } from '../bench/cpu.ts';

type ThreadCpuUsage = () => NodeJS.CpuUsage;
/** This thread's own CPU (Node ≥ 23.9; the toolchain's Node 24 has it). */
const threadCpuUsage = (process as { threadCpuUsage?: ThreadCpuUsage }).threadCpuUsage;

/** Keeps this thread busy until it has used `seconds` of its own CPU. */
function spin(seconds: number): void {
  const used = (): number => {
    const u = (threadCpuUsage as ThreadCpuUsage).call(process);
    return (u.user + u.system) / 1e6;
  };
  const start = used();
  while (used() - start < seconds);
}

/**
 * A worker thread that uses 0.3 s of its own CPU, says 'spun', then exits at once or, when
 * `stay`, once it is told to.
 */
function spinningWorker(stay: boolean): Worker {
  return new Worker(
    `const { parentPort } = require('node:worker_threads');
     const used = () => { const u = process.threadCpuUsage(); return u.user + u.system; };
     const start = used();
     while (used() - start < 300000) {}
     parentPort.postMessage('spun');
     if (${stay}) parentPort.once('message', () => process.exit(0)); else process.exit(0);`,
    { eval: true },
  );
}

// The e2e bench splits the app's CPU by thread from /proc (Linux only, as the bench is).
const linux = process.platform === 'linux' && threadCpuUsage !== undefined ? describe : describe.skip;

linux('threadCpu, the CPU of a process by thread (./scripts/bench)', () => {
  it('counts the main thread as main', () => {
    const before = threadCpu(process.pid);
    spin(0.3);
    const used = cpuBetween(before, threadCpu(process.pid));
    expect(used?.main).toBeGreaterThanOrEqual(0.25);
    expect(used?.workers).toBeLessThan(0.1);
  });

  it('counts a Node worker thread as a worker, not as the main thread', async () => {
    const worker = spinningWorker(true);
    const ownSeconds = (): number => {
      const u = (threadCpuUsage as ThreadCpuUsage).call(process);
      return (u.user + u.system) / 1e6;
    };
    try {
      const ownBefore = ownSeconds();
      const before = threadCpu(process.pid);
      await new Promise((done) => worker.once('message', done));
      // Read while the thread still exists: /proc forgets a thread once it has exited.
      const used = cpuBetween(before, threadCpu(process.pid));
      const own = ownSeconds() - ownBefore;
      expect(used?.workers).toBeGreaterThanOrEqual(0.2);
      // What "main" gained is this thread's own CPU (whatever else it did meanwhile, on a
      // loaded host), not the worker's: /proc counts in 10 ms ticks.
      expect(Math.abs((used?.main ?? Number.NaN) - own)).toBeLessThan(0.05);
    } finally {
      worker.postMessage('stop');
      await new Promise((done) => worker.once('exit', done));
    }
  });

  it('counts what a thread that has exited spent as other', async () => {
    const before = threadCpu(process.pid);
    const worker = spinningWorker(false);
    await new Promise((done) => worker.once('exit', done));
    const used = cpuBetween(before, threadCpu(process.pid));
    expect(used?.other).toBeGreaterThanOrEqual(0.2);
    expect(used?.workers).toBeLessThan(0.1);
  });

  it('answers undefined for a process that is not there', () => {
    expect(threadCpu(2 ** 22 + 1)).toBeUndefined(); // above the kernel's pid_max limit
    expect(threadCpu(undefined)).toBeUndefined();
  });
});
