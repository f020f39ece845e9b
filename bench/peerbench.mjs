// Where every bench script finds peerbench (../shared/tools/peerbench: its workload generator, request encoders,
// queries and /proc helpers), so they all run on exactly peerbench's data: one lookup rule, one flag, one env var.
import { join, resolve } from "node:path";

const root = resolve(import.meta.dirname, "..");

/** The --peerbench flag for benchArgs (bench/cli.mjs). */
/** The workload-size flags of the in-process benches (peerbench's defaults: 10k series x 240 points). */
export const WORKLOAD_FLAGS = {
  series: { type: "string", default: 10_000, help: "series of peerbench's workload" },
  points: { type: "string", default: 240, help: "points per series (15 s apart)" },
};

export const PEERBENCH_FLAG = { type: "string", help: "a peerbench checkout, e.g. a copy with its node_modules installed (default ../shared/tools/peerbench)" };

/** The environment variables peerbenchLib reads, for benchArgs' --help. */
export const PEERBENCH_ENV = {
  TSINK_PEERBENCH_LIB: "peerbench's lib directory (used when --peerbench is not given)",
  PEERBENCH_DIR: "a peerbench checkout (older name of the same setting, used when neither of the above is)",
};

/** peerbench's lib directory: `dir`/lib (the --peerbench flag), else $TSINK_PEERBENCH_LIB, else $PEERBENCH_DIR/lib, else beside the repo. */
function peerbenchLib(dir) {
  if (dir) return join(resolve(dir), "lib");
  if (process.env.TSINK_PEERBENCH_LIB) return resolve(process.env.TSINK_PEERBENCH_LIB);
  if (process.env.PEERBENCH_DIR) return join(resolve(process.env.PEERBENCH_DIR), "lib");
  return resolve(root, "..", "shared", "tools", "peerbench", "lib");
}

/** The named modules of peerbench's lib (e.g. "workload.mjs", "queries.mjs"), their exports merged into one object. */
export async function importPeerbench(dir, ...modules) {
  const lib = peerbenchLib(dir);
  const loaded = await Promise.all(
    modules.map((m) =>
      import(join(lib, m)).catch((err) => {
        const hint = err.code === "ERR_MODULE_NOT_FOUND" && String(err.message).includes(lib)
          ? `no peerbench at ${lib}: pass --peerbench DIR or set TSINK_PEERBENCH_LIB`
          : `run \`npm install\` in ${join(lib, "..")}, or point --peerbench at a copy of peerbench that has its node_modules`;
        throw new Error(`loading peerbench's ${m} failed (${err.message}); ${hint}`);
      }),
    ),
  );
  return Object.assign({}, ...loaded);
}
