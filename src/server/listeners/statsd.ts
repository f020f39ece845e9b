// The StatsD UDP listener (--statsd-listen): each datagram is parsed whole and stored as one batch for
// --statsd-tenant at its receive time, through the shared ingest path (a "stream" write: no per-request quota). Packets are handled one at a time in arrival order (relative gauges depend
// on it); while storage is slow, up to MAX_QUEUED_PACKETS wait and later ones are dropped and counted.
import { type Socket, createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { scaleMillis } from "../../protocols/timestamp-precision.js";
import { type StatsdGaugeState, commitGauges, parseStatsdPacket } from "../../protocols/statsd.js";
import { ingest } from "../protocol-ingest.js";
import type { Runtime } from "../runtime.js";
import { tenantLabel } from "../tenancy.js";

const MAX_QUEUED_PACKETS = 4096;

export interface LegacyListener {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

export async function startStatsdListener(rt: Runtime): Promise<LegacyListener | undefined> {
  const cfg = rt.config.protocols.statsd;
  if (!cfg) return undefined;
  const socket: Socket = createSocket(cfg.listen.host.includes(":") ? "udp6" : "udp4");
  const gauges: StatsdGaugeState = new Map();
  const tenant = tenantLabel(cfg.tenant);
  let queued = 0;
  let chain = Promise.resolve();

  const handle = async (packet: Buffer, receivedAtMs: number) => {
    try {
      await ingest(rt, { protocol: "statsd", tenant: cfg.tenant, kind: "stream" }, () => {
        const parsed = parseStatsdPacket(packet, {
          now: scaleMillis(receivedAtMs, rt.config.timestampPrecision), maxPacketBytes: cfg.maxPacketBytes,
          maxEventsPerPacket: cfg.maxEventsPerPacket, tenantLabel: tenant,
        }, gauges);
        return { columns: parsed.columns, metadata: parsed.metadata, after: () => commitGauges(gauges, parsed.gauges) };
      });
    } catch (err) {
      // counted (and logged when the server is at fault) by ingest()
      rt.logger.debug({ err: (err as Error).message }, "statsd packet dropped");
    }
  };

  socket.on("message", (packet) => {
    if (queued >= MAX_QUEUED_PACKETS) {
      rt.metrics.ingestRejected.inc({ protocol: "statsd", reason: "queue_full" });
      return;
    }
    queued++;
    const receivedAtMs = Date.now();
    chain = chain.then(() => handle(packet, receivedAtMs)).finally(() => queued--);
  });
  socket.on("error", (err) => rt.logger.error({ err: err.message }, "statsd socket error"));
  await new Promise<void>((resolve, reject) => {
    socket.once("error", reject);
    socket.bind(cfg.listen.port, cfg.listen.host, () => {
      socket.off("error", reject);
      resolve();
    });
  });
  const address = socket.address();
  rt.logger.info({ address: `${address.address}:${address.port}`, tenant: cfg.tenant }, "statsd listener bound");
  return {
    address,
    async close() {
      await new Promise<void>((resolve) => socket.close(() => resolve()));
      await chain;
    },
  };
}
