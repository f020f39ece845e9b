// The Graphite plaintext TCP listener (--graphite-listen): lines framed per connection (half lines kept across
// chunks, over-long lines skipped without closing the connection), bad lines dropped and counted one by one, good
// lines of each chunk stored as one batch for --graphite-tenant through the shared ingest path (a "stream"
// write). The socket is paused while a batch is written, so a slow storage pushes back on the client through TCP.
import { type Server, type Socket, createServer } from "node:net";
import { ProtocolError } from "../../protocols/errors.js";
import { LineFramer, parseGraphiteLine } from "../../protocols/graphite.js";
import { SampleColumnsBuilder } from "../../protocols/sample-columns.js";
import { scaleMillis } from "../../protocols/timestamp-precision.js";
import { countRejected, ingest } from "../protocol-ingest.js";
import type { Runtime } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";
import type { LegacyListener } from "./statsd.js";

const MAX_CONNECTIONS = 1024;
/** Connections silent for this long are closed (a stuck client cannot hold a slot forever). */
const IDLE_TIMEOUT_MS = 300_000;
const METADATA_HELP = "Graphite plaintext sample coerced to gauge samples";

export async function startGraphiteListener(rt: Runtime): Promise<LegacyListener | undefined> {
  const cfg = rt.config.protocols.graphite;
  if (!cfg) return undefined;
  const tenant = tenantLabel(cfg.tenant);
  const sockets = new Set<Socket>();
  const pending = new Set<Promise<void>>();

  const store = async (lines: string[]) => {
    const opts = { now: scaleMillis(Date.now(), rt.config.timestampPrecision), serverPrecision: rt.config.timestampPrecision, tenantLabel: tenant };
    const columns = new SampleColumnsBuilder(rt.config.timestampPrecision === "ns");
    for (const line of lines) {
      try {
        parseGraphiteLine(line, opts, columns);
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err;
        countRejected(rt, "graphite", err);
        rt.logger.debug({ err: err.message }, "graphite line dropped");
      }
    }
    if (columns.count === 0) return;
    try {
      await ingest(rt, { protocol: "graphite", tenant: cfg.tenant, kind: "stream" }, () => {
        const metrics = new Set(columns.series.map((k) => k.metric));
        return { columns, metadata: [...metrics].map((metric) => ({ metric, type: "gauge", help: METADATA_HELP, unit: "" })) };
      });
    } catch (err) {
      rt.logger.warn({ err: (err as Error).message, lines: columns.count }, "graphite lines not stored");
    }
  };

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const framer = new LineFramer(cfg.maxLineBytes);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    const run = (lines: string[]) => {
      if (lines.length === 0) return;
      socket.pause();
      const p = store(lines).finally(() => {
        pending.delete(p);
        if (!socket.destroyed) socket.resume();
      });
      pending.add(p);
    };
    socket.on("data", (chunk: Buffer) => {
      const { lines, overlong, invalidUtf8 } = framer.push(chunk);
      for (let i = 0; i < overlong; i++) countRejected(rt, "graphite", new ProtocolError("too_large", `graphite line longer than ${cfg.maxLineBytes} bytes`));
      for (let i = 0; i < invalidUtf8; i++) countRejected(rt, "graphite", new ProtocolError("malformed", "graphite line is not valid UTF-8"));
      run(lines);
    });
    socket.on("end", () => {
      const last = framer.finish();
      if (last !== undefined) run([last]);
    });
    socket.on("error", (err) => rt.logger.debug({ err: err.message }, "graphite connection error"));
    socket.on("close", () => sockets.delete(socket));
  });
  server.maxConnections = MAX_CONNECTIONS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(cfg.listen.port, cfg.listen.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as import("node:net").AddressInfo;
  rt.logger.info({ address: `${address.address}:${address.port}`, tenant: cfg.tenant }, "graphite listener bound");
  return {
    address,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of sockets) s.end();
      await Promise.allSettled([...pending]);
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
