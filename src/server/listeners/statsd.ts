// The StatsD UDP listener (--statsd-listen): each datagram is parsed whole and stored as one batch for
// --statsd-tenant at its receive time. Packets are handled one at a time in arrival order (relative gauges depend
// on it); while storage is slow, up to MAX_QUEUED_PACKETS wait and later ones are dropped and counted.
import { type Socket, createSocket } from "node:dgram";
import type { AddressInfo } from "node:net";
import { ProtocolError } from "../../protocols/errors.js";
import { scaleMillis } from "../../protocols/rows.js";
import { type StatsdGaugeState, commitGauges, parseStatsdPacket } from "../../protocols/statsd.js";
import { accountIngest, storeRows } from "../protocol-ingest.js";
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
      const parsed = parseStatsdPacket(packet, {
        now: scaleMillis(receivedAtMs, rt.config.timestampPrecision), maxPacketBytes: cfg.maxPacketBytes,
        maxEventsPerPacket: cfg.maxEventsPerPacket, tenantLabel: tenant,
      }, gauges);
      await storeRows(rt, "statsd", cfg.tenant, parsed.rows, parsed.metadata);
      commitGauges(gauges, parsed.gauges);
      accountIngest(rt, "statsd", undefined);
    } catch (err) {
      const failure = accountIngest(rt, "statsd", err);
      if (err instanceof ProtocolError) rt.logger.debug({ err: err.message }, "statsd packet dropped");
      else rt.logger.warn({ status: failure?.status, err: failure?.message }, "statsd packet not stored");
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
