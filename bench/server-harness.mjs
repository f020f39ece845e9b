// Shared scaffolding of the bench/server-*.mjs scripts: command-line options and peerbench's modules (its workload,
// request encoders, queries and /proc helpers), so every script drives tsink-server with exactly peerbench's data.
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The value after `--name` on the command line, or `fallback`. */
export const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};

/**
 * peerbench's lib modules: from `--peerbench DIR` (a peerbench checkout with its node_modules), else the lib directory
 * in TSINK_PEERBENCH_LIB, else ../shared/tools/peerbench beside the repo (run `npm install` there once).
 */
export async function loadPeerbench() {
  const dir = arg("peerbench", undefined);
  const lib = dir ? join(resolve(dir), "lib") : process.env.TSINK_PEERBENCH_LIB ?? resolve(root, "..", "shared", "tools", "peerbench", "lib");
  const [workload, queries, encode, util] = await Promise.all(
    ["workload.mjs", "queries.mjs", "encode.mjs", "util.mjs"].map((m) => import(join(lib, m))),
  );
  return { ...workload, ...queries, ...encode, ...util };
}

/** Waits until the server at `base` answers /ready with 200 (at most 30 s). */
export async function waitReady(pb, base) {
  for (let i = 0; ; i++) {
    if (i > 300) throw new Error(`${base} not ready after 30 s`);
    if (await pb.request(`${base}/ready`, { timeoutMs: 1000 }).then((r) => r.status === 200, () => false)) return;
    await pb.sleep(100);
  }
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
