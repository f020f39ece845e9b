#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=262144 node --max-semi-space-size=4 --min-semi-space-size=4
// tsink-server entry point: parse flags and env, start the HTTP server over the embedded storage, log as JSON
// (pino), and shut down gracefully on SIGTERM/SIGINT.
// The shebang (and `npm start`, bench/peers.sh) cap V8's young generation at 2 x 4 MiB (default 2 x 16 MiB) and
// glibc at 2 malloc arenas: together ~40 MiB less resident memory under remote-write load (docs/benchmarks.md, Memory);
// and they have glibc map blocks of >= 256 KiB (slab pages, read batches) on their own, so freeing one returns it to
// the system instead of leaving a hole in the malloc heap (~20-40 MiB at 100k series; same section).
import "./v8-tiering.js"; // first: V8 flags for the code every other module holds (see there)
import { readFileSync } from "node:fs";
import { pino } from "pino";
import { TsinkServer } from "./app.js";
import { startBufferGc } from "./buffer-gc.js";
import { ConfigError, HELP_TEXT, parseServerArgs, startupHint } from "./config.js";
import { storageHooks } from "./storage.js";

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return pkg.version;
}

async function main(): Promise<void> {
  let config;
  try {
    config = parseServerArgs(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`tsink-server: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (config === "help") {
    process.stdout.write(HELP_TEXT);
    return;
  }
  startBufferGc();
  // Log lines go to fd 1 synchronously, like Prometheus' and VictoriaMetrics' logs: once a write fails with EPIPE
  // (stdout closed, e.g. `| head -2`), pino turns the destination into a no-op. pino's default (asynchronous)
  // destination instead flushes at exit with sonic-boom's flushSync, which retries a failing write forever: a line
  // still buffered when the reader had gone (the "shutting down" line) hung SIGTERM (test/server/process-edges.test.ts).
  const logger = pino({ level: config.logLevel, base: { service: "tsink-server" } }, pino.destination({ dest: 1, sync: true }));
  if (config.unreadEnv?.length) {
    logger.warn({ variables: config.unreadEnv }, "environment variables not read by this build or these flags (see --help); they have no effect");
  }
  const server = new TsinkServer(config, logger, storageHooks(config), packageVersion());
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    server.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
  try {
    await server.start();
  } catch (err) {
    if (stopping) return; // a signal during startup: the shutdown above exits
    logger.fatal({ err, hint: startupHint(err, config) }, "startup failed");
    process.exit(1);
  }
}

void main();
