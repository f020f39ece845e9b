// Measures how long work blocks the event loop, in CPU time of the main thread: a 1 ms timer reads the thread's
// on-CPU nanoseconds (/proc/self/task/<pid>/schedstat) each turn, so time the OS spent running other processes on
// the 2 shared cores does not count as a block, while every ms our own synchronous code runs does.
import { readFileSync } from "node:fs";

export interface EventLoopBlocks {
  /** Longest main-thread CPU time between two consecutive timer turns. */
  maxCpuMs: number;
  /** Longest wall time between two consecutive timer turns (includes time the OS did not schedule us). */
  maxWallMs: number;
}

const schedstat = `/proc/self/task/${process.pid}/schedstat`;
const threadCpuNs = (): number => Number(readFileSync(schedstat, "latin1").split(" ", 1)[0]);

/** Runs `work` while probing the event loop; returns its result and the longest blocks seen. */
export async function probeEventLoop<T>(work: () => Promise<T>): Promise<{ result: T; blocks: EventLoopBlocks }> {
  const blocks: EventLoopBlocks = { maxCpuMs: 0, maxWallMs: 0 };
  let lastWall = performance.now();
  let lastCpu = threadCpuNs();
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    const wall = performance.now();
    const cpu = threadCpuNs();
    blocks.maxWallMs = Math.max(blocks.maxWallMs, wall - lastWall);
    blocks.maxCpuMs = Math.max(blocks.maxCpuMs, (cpu - lastCpu) / 1e6);
    lastWall = wall;
    lastCpu = cpu;
    timer = setTimeout(tick, 1);
  };
  timer = setTimeout(tick, 1);
  try {
    const result = await work();
    clearTimeout(timer);
    tick(); // the turn that finished the work
    return { result, blocks };
  } finally {
    clearTimeout(timer);
  }
}

export const describeBlocks = (b: EventLoopBlocks): string => `${b.maxCpuMs.toFixed(1)} ms CPU (${b.maxWallMs.toFixed(1)} ms wall)`;
