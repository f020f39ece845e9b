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
