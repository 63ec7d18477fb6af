// CPU accounting of the benchmark suite: what a run cost each process and thread, and Redis.
// No side effects on import (harness.ts installs exit and signal handlers), so specs can use it.

import { readFileSync, readdirSync } from 'node:fs';

/** CPU seconds of one process, split by thread: what each part of a run cost. */
export interface ThreadCpu {
  /** The process's main thread (the event loop). */
  readonly main: number;
  /** Node worker threads (the app's embedded emulator runs on one). */
  readonly workers: number;
  /** V8's helper threads: parallel and concurrent garbage collection, background compiling. */
  readonly v8: number;
  /** Everything else (libuv's pool, the inspector, ...). */
  readonly other: number;
}

/** utime + stime of a /proc stat line, in seconds, and the name in its parentheses. */
function statLine(text: string): { name: string; seconds: number } {
  const name = text.slice(text.indexOf('(') + 1, text.lastIndexOf(')'));
  // After the name, fields[0] is the state (field 3 of the line): utime (14) and stime (15)
  // are fields[11] and fields[12]. /proc counts in ticks of 1/100 s (USER_HZ, 100 on every
  // Linux build in use).
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { name, seconds: (Number(fields[11]) + Number(fields[12])) / 100 };
}

/**
 * User + system CPU seconds of a live process by thread, from /proc/<pid>/task/<tid>/stat
 * (Linux; undefined where there is no /proc or the process is gone). Node 24 names its
 * threads: "WorkerThread" for worker threads, "V8Worker" (and "V8 DefaultWorke…") for V8's;
 * the main thread's id is the pid. What the process's threads that have already exited
 * spent, and any thread without one of those names, counts as `other` (the process total,
 * /proc/<pid>/stat, less what the live threads show). A thread that exits while it is being
 * read is skipped; its CPU lands in `other` the same way.
 */
export function threadCpu(pid: number | undefined): ThreadCpu | undefined {
  if (pid === undefined) return undefined;
  const cpu = { main: 0, workers: 0, v8: 0, other: 0 };
  let total: number;
  let tids: string[];
  try {
    total = statLine(readFileSync(`/proc/${pid}/stat`, 'utf8')).seconds;
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    let thread;
    try {
      thread = statLine(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
    } catch {
      continue; // gone since the listing
    }
    const kind =
      tid === String(pid)
        ? 'main'
        : thread.name === 'WorkerThread'
          ? 'workers'
          : thread.name.startsWith('V8')
            ? 'v8'
            : undefined;
    if (kind) cpu[kind] += thread.seconds;
  }
  cpu.other = Math.max(0, total - cpu.main - cpu.workers - cpu.v8);
  return cpu;
}

/** What a process's threads spent between two readings (undefined when either is missing). */
export function cpuBetween(before: ThreadCpu | undefined, after: ThreadCpu | undefined): ThreadCpu | undefined {
  if (!before || !after) return undefined;
  return {
    main: after.main - before.main,
    workers: after.workers - before.workers,
    v8: after.v8 - before.v8,
    other: after.other - before.other,
  };
}

export const cpuTotal = (cpu: ThreadCpu): number => cpu.main + cpu.workers + cpu.v8 + cpu.other;

/** Redis's own CPU seconds so far (INFO cpu: its main thread and its background threads). */
export async function redisCpuSeconds(redis: { info(section: string): Promise<string> }): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string): number => Number(new RegExp(`^${name}:(.*)$`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** CPU seconds of this process's main thread (its event loop) so far. */
function mainThreadSeconds(): number {
  // process.threadCpuUsage is Node ≥ 23.9; /proc otherwise (NaN where there is neither).
  const own = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.();
  return own ? (own.user + own.system) / 1e6 : (threadCpu(process.pid)?.main ?? Number.NaN);
}

/**
 * Starts counting the CPU of this process (its main thread alone, and all its threads: the
 * garbage collector's helpers too) and of Redis; the function it resolves to reads them, in
 * seconds, since the start.
 */
export async function cpuStopwatch(redis: {
  info(section: string): Promise<string>;
}): Promise<() => Promise<{ main: number; node: number; redis: number }>> {
  const redisBefore = await redisCpuSeconds(redis);
  const nodeBefore = process.cpuUsage();
  const mainBefore = mainThreadSeconds();
  return async () => {
    const main = mainThreadSeconds() - mainBefore;
    const node = process.cpuUsage(nodeBefore);
    return { main, node: (node.user + node.system) / 1e6, redis: (await redisCpuSeconds(redis)) - redisBefore };
  };
}
