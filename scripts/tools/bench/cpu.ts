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

/**
 * User + system CPU seconds of a live process by thread, from /proc/<pid>/task/<tid>/stat
 * (Linux; undefined where there is no /proc or the process is gone). Node names its threads
 * "WorkerThread" and V8's "V8Worker" / "V8 DefaultWorke…"; the main thread's id is the pid.
 * /proc counts in clock ticks of 1/100 s (USER_HZ, 100 on every Linux build in use).
 */
export function threadCpu(pid: number | undefined): ThreadCpu | undefined {
  if (pid === undefined) return undefined;
  const cpu = { main: 0, workers: 0, v8: 0, other: 0 };
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      // After the name, fields[0] is the state (field 3 of the line): utime (14) and stime (15)
      // are fields[11] and fields[12].
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const seconds = (Number(fields[11]) + Number(fields[12])) / 100;
      const kind =
        tid === String(pid) ? 'main' : name === 'WorkerThread' ? 'workers' : name.startsWith('V8') ? 'v8' : 'other';
      cpu[kind] += seconds;
    }
  } catch {
    return undefined;
  }
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

/**
 * Starts counting the CPU of this process (all its threads: the garbage collector's helpers
 * too) and of Redis; the function it resolves to reads both, in seconds, since the start.
 */
export async function cpuStopwatch(redis: {
  info(section: string): Promise<string>;
}): Promise<() => Promise<{ node: number; redis: number }>> {
  const redisBefore = await redisCpuSeconds(redis);
  const nodeBefore = process.cpuUsage();
  return async () => {
    const node = process.cpuUsage(nodeBefore);
    return { node: (node.user + node.system) / 1e6, redis: (await redisCpuSeconds(redis)) - redisBefore };
  };
}
