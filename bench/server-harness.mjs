// Shared scaffolding of the bench/server-*.mjs scripts: their common flags (workload size, port, server build,
// peerbench copy), peerbench's modules (its workload, request encoders, queries and /proc helpers), starting and
// stopping a server with `npm start`'s runtime settings, its CPU time, readiness and remote write, so every script
// drives tsink-server with exactly peerbench's data.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { benchArgs } from "./cli.mjs";
import { importPeerbench, PEERBENCH_ENV, PEERBENCH_FLAG } from "./peerbench.mjs";

export const root = resolve(import.meta.dirname, "..");

/**
 * The command line of a server bench: `flags` beside the common ones (--series, --points, --port, --server,
 * --peerbench; `defaults` sets the script's own defaults of series, points and port). series, points and port come
 * back as numbers and server as an absolute path; the script's own flags as benchArgs gives them.
 */
export function serverBenchArgs({ about, defaults, flags = {}, env = {} }) {
  const values = benchArgs({
    about,
    flags: {
      series: { type: "string", default: defaults.series, help: "series of peerbench's workload" },
      points: { type: "string", default: defaults.points, help: "points per series (15 s apart)" },
      port: { type: "string", default: defaults.port, help: "port of the tsink-server the script starts" },
      server: { type: "string", default: "dist/server/main.js", help: "the server build to run (another build for before/after)" },
      peerbench: PEERBENCH_FLAG,
      ...flags,
    },
    env: { ...PEERBENCH_ENV, ...env },
  }).values;
  const server = resolve(values.server === "dist/server/main.js" ? join(root, "dist", "server", "main.js") : values.server);
  return { ...values, series: Number(values.series), points: Number(values.points), port: Number(values.port), server };
}

/** peerbench's lib modules (workload, queries, encoders, /proc helpers) from the copy that --peerbench names. */
export async function loadPeerbench(dir) {
  return importPeerbench(dir, "workload.mjs", "queries.mjs", "encode.mjs", "util.mjs");
}

/** Waits until the server at `base` answers /ready with 200 (at most 30 s). */
export async function waitReady(pb, base) {
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error(`${base} not ready after 30 s`);
    if (await pb.request(`${base}/ready`, { timeoutMs: 1000 }).then((r) => r.status === 200, () => false)) return;
    await pb.sleep(100);
  }
}

/** The node flags of `npm start` and the tsink-server shebang: 4 MiB semi-spaces, kept at 4 MiB when idle. */
export const SERVER_NODE_ARGS = ["--max-semi-space-size=4", "--min-semi-space-size=4"];
/** The malloc settings of `npm start` and the tsink-server shebang: 2 arenas, mmap threshold 256 KiB. */
export const SERVER_ENV = { MALLOC_ARENA_MAX: "2", MALLOC_MMAP_THRESHOLD_: "262144" };

/**
 * Starts tsink-server `server` on 127.0.0.1:`port` over `dataDir` (in memory without one) with the runtime settings
 * of `npm start` (SERVER_NODE_ARGS, SERVER_ENV) plus `nodeArgs` and `env`; resolves
 * with the child once /ready answers. `stdio`: the child's stdout and stderr ("ignore", or an fd to append to).
 */
export async function startServer(pb, { server, port, dataDir, nodeArgs = [], env = {}, stdio = "ignore" }) {
  const args = [...SERVER_NODE_ARGS, ...nodeArgs, server, "--listen", `127.0.0.1:${port}`, ...(dataDir ? ["--data-path", dataDir] : [])];
  const child = spawn(process.execPath, args, {
    stdio: ["ignore", stdio, stdio],
    env: { ...process.env, ...SERVER_ENV, ...env },
  });
  await waitReady(pb, `http://127.0.0.1:${port}`);
  return child;
}

/** SIGTERM, then waits for the exit. */
export async function stopServer(child) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

/** CPU ns so far of the server's main thread and of all its threads (JIT compiler and GC helpers included). */
export function serverCpuNs(pid) {
  const ns = (tid) => {
    try {
      return Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
    } catch {
      return 0; // a thread that just ended
    }
  };
  let all = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) all += ns(tid);
  return { main: ns(pid), all };
}

/** Sends peerbench's encoded remote-write requests (one list per connection) as peerbench does; any non-2xx throws. */
export async function remoteWrite(pb, base, connections) {
  const { contentType, headers } = pb.PROTOCOLS.remote_write;
  let samples = 0;
  await Promise.all(
    connections.map(async (reqs) => {
      for (const r of reqs) {
        const resp = await pb.request(`${base}/api/v1/write`, { method: "POST", headers: { "Content-Type": contentType, ...headers }, body: r.body, maxSockets: 4 });
        if (resp.status >= 300) throw new Error(`remote write: HTTP ${resp.status} ${String(resp.body).slice(0, 200)}`);
        samples += r.samples ?? 0;
      }
    }),
  );
  return samples;
}
