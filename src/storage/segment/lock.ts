// Data-directory lock (`.tsink.lock`): one process per data dir. A lock left by a process that
// died (SIGKILL, power loss) is detected by pid + process start time and taken over.
// Hand-written, not proper-lockfile: that one calls a lock stale when its mtime stops being refreshed (a timer in the
// owner, a wait of its stale period after a crash); pid + start time knows at once whether the owner still runs.
import { closeSync, existsSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";
import { invalidConfiguration } from "../wal/durability-errors.js";

const LOCK_FILE_NAME = ".tsink.lock";

function processStartTime(pid: number): string {
  try {
    // Field 22 of /proc/<pid>/stat is the start time; the command name (field 2) may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? "";
  } catch {
    return "";
  }
}

function isAlive(pid: number, startTime: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
  const current = processStartTime(pid);
  return startTime === "" || current === "" || current === startTime;
}

export class DataDirLock {
  private released = false;
  private constructor(readonly path: string) {}

  /** Takes the lock or throws a clear error naming the process that holds it. */
  static acquire(dataDir: string): DataDirLock {
    const path = join(dataDir, LOCK_FILE_NAME);
    const content = `${process.pid} ${processStartTime(process.pid)}\n`;
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = openSync(path, "wx");
        try {
          writeSync(fd, content);
        } finally {
          closeSync(fd);
        }
        return new DataDirLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      let holder = "";
      try {
        holder = readFileSync(path, "utf8");
      } catch {
        continue; // removed between our open and read: retry
      }
      const [pidText, startTime = ""] = holder.trim().split(" ");
      const pid = Number(pidText);
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && isAlive(pid, startTime)) {
        throw invalidConfiguration(
          `data directory ${dataDir} is locked by process ${pid} (${path}); only one process may open it`,
          { path, pid },
        );
      }
      if (pid === process.pid) {
        throw invalidConfiguration(`data directory ${dataDir} is already open in this process (${path})`, { path, pid });
      }
      unlinkSync(path); // stale lock of a dead process
    }
    throw invalidConfiguration(`could not take the lock ${path}`, { path });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
