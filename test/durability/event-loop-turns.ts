// Measures the longest event-loop turn of this process, excluding the time the OS kept the main thread waiting for
// a CPU (Linux schedstat run-queue time): on 2 shared cores a wall-clock delay measures the machine's load, this
// measures what our code blocks (CPU work and synchronous I/O alike). Falls back to wall-clock time elsewhere.
import { readFileSync } from "node:fs";

const SCHEDSTAT = `/proc/self/task/${process.pid}/schedstat`;

/** Nanoseconds the main thread has waited on a run queue, or undefined without schedstat. */
function runQueueWaitNs(): number | undefined {
  try {
    return Number(readFileSync(SCHEDSTAT, "utf8").split(" ")[1]);
  } catch {
    return undefined;
  }
}

/** Starts watching; the returned stop() gives the longest turn seen (ms) and the longest in wall-clock time. */
export function watchTurns(): () => { blockedMs: number; wallMs: number } {
  let lastWall = performance.now();
  let lastWait = runQueueWaitNs();
  let blocked = 0;
  let wall = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const wait = runQueueWaitNs();
    const turn = now - lastWall;
    wall = Math.max(wall, turn);
    blocked = Math.max(blocked, wait !== undefined && lastWait !== undefined ? turn - (wait - lastWait) / 1e6 : turn);
    lastWall = now;
    lastWait = wait;
  }, 1);
  return () => {
    clearInterval(timer);
    return { blockedMs: blocked, wallMs: wall };
  };
}
