// tsink-server command line and environment: flag parsing (reference §4.1 names and value syntaxes),
// env limits (§4.2), validation of flag combinations, and the --help text.
import { readFileSync } from "node:fs";
import type { TimestampPrecision } from "../protocols/timestamp-precision.js";
import { TenantPolicies, loadTenantPolicies } from "./tenant-policy.js";

export interface ServerConfig {
  listen: { host: string; port: number };
  dataPath?: string;
  retentionMs: number;
  timestampPrecision: TimestampPrecision;
  memoryLimitBytes?: number;
  cardinalityLimit?: number;
  chunkPoints?: number;
  maxWriters?: number;
  walEnabled: boolean;
  walSyncMode: "per-append" | "periodic";
  authToken?: string;
  adminAuthToken?: string;
  adminApiEnabled: boolean;
  adminPathPrefix?: string;
  tls?: { certPath: string; keyPath: string };
  /** Per-tenant quotas (--tenant-config); every tenant unlimited without it. */
  tenantPolicies: TenantPolicies;
  limits: ServerLimits;
  features: RemoteWriteFeatures;
  protocols: ProtocolIngestConfig;
  /** The rules engine's limits (TSINK_RULES_*, reference §4.2). */
  rules: { schedulerTickMs: number; maxRecordingRowsPerEval: number; maxAlertInstancesPerRule: number };
  logLevel: string;
  /** TSINK_* variables that are set but that this build (or these flags) never reads: logged as a warning. */
  unreadEnv?: string[];
}

/** Influx line protocol, OTLP, StatsD and Graphite ingest (flags and TSINK_* env of reference §4.1/4.2). */
export interface ProtocolIngestConfig {
  influxEnabled: boolean;
  influxMaxLinesPerRequest: number;
  otlpEnabled: boolean;
  statsd?: { listen: { host: string; port: number }; tenant: string; maxPacketBytes: number; maxEventsPerPacket: number };
  graphite?: { listen: { host: string; port: number }; tenant: string; maxLineBytes: number };
}

export interface ServerLimits {
  writeMaxInflightRequests: number;
  writeMaxInflightRows: number;
  writeAcquireTimeoutMs: number;
  readMaxInflightRequests: number;
  readMaxInflightQueries: number;
  readAcquireTimeoutMs: number;
  /** Largest request body accepted as sent on the wire (compressed for snappy bodies). */
  maxBodyBytes: number;
  /** Largest uncompressed size a snappy body may declare. */
  maxDecompressedBodyBytes: number;
}

export interface RemoteWriteFeatures {
  metadataEnabled: boolean;
  exemplarsEnabled: boolean;
  histogramsEnabled: boolean;
  maxMetadataUpdates: number;
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

export const HELP_TEXT = `tsink-server: Prometheus-compatible time-series server (remote write/read, PromQL, text import,
InfluxDB line protocol, OTLP/HTTP metrics, StatsD, Graphite)

Usage: tsink-server [help] [flags]

Flags (booleans take an explicit value: true/1/yes/on or false/0/no/off):
  --listen ADDR                 listen address host:port (default 127.0.0.1:9201)
  --data-path PATH              data directory (default: none = in-memory, nothing persisted)
  --retention DUR               data retention (default 14d); DUR = seconds or <float><ms|s|m|h|d|w|y>
  --timestamp-precision P       s|ms|us|ns (or seconds, milliseconds, microseconds, nanoseconds; default ms)
  --memory-limit BYTES          memory budget; BYTES = integer or <float>K|M|G|T (powers of 1024)
  --cardinality-limit N         maximum number of series
  --chunk-points N              points per sealed chunk
  --max-writers N               concurrent storage writers
  --wal-enabled BOOL            write-ahead log (default true; needs --data-path to persist)
  --wal-sync-mode MODE          per-append|periodic (periodic = fsync every 1 s; default per-append)
  --auth-token TOKEN            bearer token required on public routes
  --auth-token-file PATH        same, read from a file (trimmed); exclusive with --auth-token
  --admin-auth-token TOKEN      bearer token for /api/v1/admin/* (falls back to --auth-token)
  --admin-auth-token-file PATH  same, read from a file; exclusive with --admin-auth-token
  --admin-api-enabled           enable /api/v1/admin/* (alias --enable-admin-api); needs an auth or admin token
  --admin-path-prefix PATH      confine admin snapshot/restore paths under PATH (needs --admin-api-enabled)
  --statsd-listen ADDR          StatsD/DogStatsD UDP listener host:port (default off)
  --statsd-tenant ID            tenant of StatsD samples (default "default")
  --graphite-listen ADDR        Graphite plaintext TCP listener host:port (default off)
  --graphite-tenant ID          tenant of Graphite samples (default "default")
  --tls-cert PATH, --tls-key PATH   serve HTTPS with this PEM certificate and key (each needs the other)
  --tenant-config PATH          per-tenant policy, JSON {defaults:{quotas, admission},
                                tenants:{"<id>":{quotas, admission, auth}}}; quotas: maxWriteRowsPerRequest,
                                maxReadQueriesPerRequest, maxMetadataMatchersPerRequest, maxQueryLengthBytes,
                                maxRangePointsPerQuery (413 when exceeded); admission: maxInflightReads,
                                maxInflightWrites (503 when full); auth: {tokens:[{token, scopes:["read","write"]}]}
  -h, --help                    show this help

Reference flags this build does not implement (rejected with a message): --object-store-path,
  --hot-tier-retention, --warm-tier-retention, --storage-mode, --remote-segment-refresh-interval,
  --mirror-hot-segments-to-object-store, --rbac-config, --cluster-*, --edge-sync-*

Environment:
  TSINK_SERVER_WRITE_MAX_INFLIGHT_REQUESTS (64)   TSINK_SERVER_WRITE_MAX_INFLIGHT_ROWS (200000)
  TSINK_SERVER_WRITE_RESOURCE_ACQUIRE_TIMEOUT_MS (25)
  TSINK_SERVER_READ_MAX_INFLIGHT_REQUESTS (64)    TSINK_SERVER_READ_MAX_INFLIGHT_QUERIES (128)
  TSINK_SERVER_READ_RESOURCE_ACQUIRE_TIMEOUT_MS (25)
  TSINK_SERVER_MAX_BODY_BYTES (16777216)          TSINK_SERVER_MAX_DECOMPRESSED_BODY_BYTES (67108864)
  TSINK_REMOTE_WRITE_METADATA_ENABLED (true)      TSINK_REMOTE_WRITE_MAX_METADATA_UPDATES (512)
  TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED (true)     exemplars of remote write and text import go to the exemplar
                                  store (false: requests carrying them get 422); OTLP exemplars are always stored
  TSINK_REMOTE_WRITE_HISTOGRAMS_ENABLED           native histograms are not stored yet: requests carrying them get 422
  TSINK_INFLUX_LINE_PROTOCOL_ENABLED (true)       TSINK_INFLUX_LINE_PROTOCOL_MAX_LINES_PER_REQUEST (4096)
  TSINK_OTLP_METRICS_ENABLED (true)               TSINK_STATSD_MAX_PACKET_BYTES (8192)
  TSINK_STATSD_MAX_EVENTS_PER_PACKET (1024)       TSINK_GRAPHITE_MAX_LINE_BYTES (8192)
  TSINK_RULES_SCHEDULER_TICK_MS (1000)            TSINK_RULES_MAX_RECORDING_ROWS_PER_EVAL (10000)
  TSINK_RULES_MAX_ALERT_INSTANCES_PER_RULE (10000)
  TSINK_LOG_LEVEL (info)          pino level: trace|debug|info|warn|error|fatal|silent
  Other TSINK_* variables of the reference (TSINK_MAX_CPUS, TSINK_EDGE_SYNC_*, TSINK_CLUSTER_*,
  TSINK_REMOTE_WRITE_MAX_HISTOGRAM_BUCKET_ENTRIES) are not read: the server logs a warning naming any that are set.
`;

const BOOL_TRUE = new Set(["true", "1", "yes", "on"]);
const BOOL_FALSE = new Set(["false", "0", "no", "off"]);

function parseBool(flag: string, raw: string): boolean {
  const v = raw.trim().toLowerCase();
  if (BOOL_TRUE.has(v)) return true;
  if (BOOL_FALSE.has(v)) return false;
  throw new ConfigError(`${flag}: expected true/false (or 1/0, yes/no, on/off), got ${JSON.stringify(raw)}`);
}

const DURATION_UNIT_MS: Record<string, number> = {
  ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000, y: 365.25 * 86_400_000,
};

/**
 * Reference duration syntax (flags, rule intervals): a bare integer is seconds; otherwise `<float><unit>`. Returns
 * ms, not rounded; undefined when `raw` is not such a duration.
 */
export function referenceDurationMs(raw: string): number | undefined {
  const v = raw.trim();
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const m = /^(\d+(?:\.\d+)?|\.\d+)(ms|s|m|h|d|w|y)$/.exec(v);
  return m ? Number(m[1]) * DURATION_UNIT_MS[m[2]!]! : undefined;
}

function parseDurationFlag(flag: string, raw: string): number {
  const ms = referenceDurationMs(raw);
  if (ms === undefined || !Number.isFinite(ms)) {
    throw new ConfigError(`${flag}: invalid duration ${JSON.stringify(raw)} (use seconds, or e.g. 500ms, 30s, 15m, 2h, 14d, 1w, 1y)`);
  }
  return Math.round(ms);
}

const BYTE_UNITS: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** Integer bytes, or a float with suffix K, M, G or T (powers of 1024). */
function parseBytesFlag(flag: string, raw: string): number {
  const v = raw.trim();
  if (/^\d+$/.test(v)) return Number(v);
  const m = /^(\d+(?:\.\d+)?|\.\d+)([KMGT])$/i.exec(v);
  if (m) return Math.floor(Number(m[1]) * BYTE_UNITS[m[2]!.toUpperCase()]!);
  throw new ConfigError(`${flag}: invalid byte size ${JSON.stringify(raw)} (use an integer or e.g. 512M, 1.5G)`);
}

function parsePositiveInt(flag: string, raw: string): number {
  if (!/^\d+$/.test(raw.trim()) || Number(raw) <= 0) throw new ConfigError(`${flag}: expected a positive integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

const PRECISIONS: Record<string, TimestampPrecision> = {
  s: "s", seconds: "s", second: "s", ms: "ms", milliseconds: "ms", millisecond: "ms",
  us: "us", microseconds: "us", microsecond: "us", ns: "ns", nanoseconds: "ns", nanosecond: "ns",
};

function parseListen(flag: string, raw: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(raw.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${flag}: expected host:port, got ${JSON.stringify(raw)}`);
  return { host: m[1] ?? (m[2] || "0.0.0.0"), port };
}

/** Flags of the reference server that this build does not implement: named so the error says so. */
const UNSUPPORTED_FLAGS = [
  "--object-store-path",
  "--hot-tier-retention", "--warm-tier-retention", "--storage-mode", "--remote-segment-refresh-interval",
  "--mirror-hot-segments-to-object-store", "--rbac-config",
];
/** Whole flag families of the reference (§4.1 cluster identity, consistency, internal auth/mTLS; edge sync). */
const UNSUPPORTED_FLAG_PREFIXES = ["--cluster-", "--edge-sync-"];

const VALUE_FLAGS = new Set([
  "--listen", "--data-path", "--retention", "--timestamp-precision", "--memory-limit", "--cardinality-limit",
  "--chunk-points", "--max-writers", "--wal-enabled", "--wal-sync-mode", "--auth-token", "--auth-token-file",
  "--admin-auth-token", "--admin-auth-token-file", "--admin-path-prefix", "--tls-cert", "--tls-key",
  "--statsd-listen", "--statsd-tenant", "--graphite-listen", "--graphite-tenant", "--tenant-config",
]);
const SWITCH_FLAGS = new Set(["--admin-api-enabled", "--enable-admin-api", "--help", "-h"]);

type Env = Record<string, string | undefined>;

function envInt(env: Env, name: string, def: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return def;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}: expected a non-negative integer, got ${JSON.stringify(raw)}`);
  return Number(raw);
}

function envBool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name];
  return raw === undefined || raw === "" ? def : parseBool(name, raw);
}

function tenantPoliciesFrom(path: string): TenantPolicies {
  try {
    return loadTenantPolicies(path);
  } catch (err) {
    throw new ConfigError(`--tenant-config ${path}: ${(err as Error).message}`);
  }
}

function readTokenFile(flag: string, path: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new ConfigError(`${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
  const token = text.trim();
  if (!token) throw new ConfigError(`${flag}: ${path} is empty`);
  return token;
}

/** Parses argv (without node and script) and env. Returns "help" when help was asked for. */
export function parseServerArgs(argv: readonly string[], givenEnv: Env): ServerConfig | "help" {
  // Every variable the parse looks at is noted, so the TSINK_* ones set but never read can be reported.
  const read = new Set<string>();
  const env = new Proxy(givenEnv, { get: (target, name) => (typeof name === "string" && read.add(name), target[name as string]) });
  const values = new Map<string, string>();
  const switches = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (i === 0 && arg === "help") return "help";
    if (!arg.startsWith("-")) throw new ConfigError(`unknown mode ${JSON.stringify(arg)} (the only positional argument is "help")`);
    const eq = arg.indexOf("=");
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (SWITCH_FLAGS.has(flag)) {
      if (eq > 0) throw new ConfigError(`${flag} takes no value`);
      switches.add(flag);
    } else if (VALUE_FLAGS.has(flag)) {
      let value: string | undefined;
      if (eq > 0) value = arg.slice(eq + 1);
      else value = argv[++i];
      if (value === undefined) throw new ConfigError(`${flag} needs a value`);
      if (values.has(flag)) throw new ConfigError(`${flag} given more than once`);
      values.set(flag, value);
    } else if (UNSUPPORTED_FLAGS.includes(flag) || UNSUPPORTED_FLAG_PREFIXES.some((p) => flag.startsWith(p))) {
      throw new ConfigError(`${flag} is not supported by this tsink-server build (no object store, RBAC, edge sync or cluster mode)`);
    } else {
      throw new ConfigError(`unknown flag ${flag} (see --help)`);
    }
  }
  if (switches.has("--help") || switches.has("-h")) return "help";

  const get = (f: string) => values.get(f);
  const exclusive = (a: string, b: string) => {
    if (values.has(a) && values.has(b)) throw new ConfigError(`${a} and ${b} are mutually exclusive`);
  };
  exclusive("--auth-token", "--auth-token-file");
  exclusive("--admin-auth-token", "--admin-auth-token-file");
  if (values.has("--tls-cert") !== values.has("--tls-key")) {
    throw new ConfigError("--tls-cert and --tls-key must be given together");
  }
  const nonBlank = (flag: string): string | undefined => {
    const v = get(flag);
    if (v !== undefined && v.trim() === "") throw new ConfigError(`${flag} must not be empty`);
    return v?.trim();
  };
  const authToken = nonBlank("--auth-token") ?? (get("--auth-token-file") !== undefined ? readTokenFile("--auth-token-file", get("--auth-token-file")!) : undefined);
  const adminAuthToken =
    nonBlank("--admin-auth-token") ??
    (get("--admin-auth-token-file") !== undefined ? readTokenFile("--admin-auth-token-file", get("--admin-auth-token-file")!) : undefined);
  const adminApiEnabled = switches.has("--admin-api-enabled") || switches.has("--enable-admin-api");
  if (adminApiEnabled && !authToken && !adminAuthToken) {
    throw new ConfigError("--admin-api-enabled requires --admin-auth-token(-file) or --auth-token(-file)");
  }
  if (values.has("--admin-path-prefix") && !adminApiEnabled) {
    throw new ConfigError("--admin-path-prefix requires --admin-api-enabled");
  }
  const precisionRaw = get("--timestamp-precision");
  const timestampPrecision = precisionRaw === undefined ? "ms" : PRECISIONS[precisionRaw.trim().toLowerCase()];
  if (!timestampPrecision) throw new ConfigError(`--timestamp-precision: expected s|ms|us|ns, got ${JSON.stringify(precisionRaw)}`);
  const syncRaw = (get("--wal-sync-mode") ?? "per-append").trim().toLowerCase();
  const walSyncMode = ["per-append", "per_append", "perappend"].includes(syncRaw)
    ? "per-append"
    : syncRaw === "periodic"
      ? "periodic"
      : undefined;
  if (!walSyncMode) throw new ConfigError(`--wal-sync-mode: expected per-append or periodic, got ${JSON.stringify(get("--wal-sync-mode"))}`);

  const config: ServerConfig = {
    listen: parseListen("--listen", get("--listen") ?? "127.0.0.1:9201"),
    retentionMs: get("--retention") === undefined ? 14 * 86_400_000 : parseDurationFlag("--retention", get("--retention")!),
    timestampPrecision,
    walEnabled: get("--wal-enabled") === undefined ? true : parseBool("--wal-enabled", get("--wal-enabled")!),
    walSyncMode,
    adminApiEnabled,
    tenantPolicies: get("--tenant-config") === undefined ? new TenantPolicies() : tenantPoliciesFrom(get("--tenant-config")!),
    limits: {
      writeMaxInflightRequests: envInt(env, "TSINK_SERVER_WRITE_MAX_INFLIGHT_REQUESTS", 64),
      writeMaxInflightRows: envInt(env, "TSINK_SERVER_WRITE_MAX_INFLIGHT_ROWS", 200_000),
      writeAcquireTimeoutMs: envInt(env, "TSINK_SERVER_WRITE_RESOURCE_ACQUIRE_TIMEOUT_MS", 25),
      readMaxInflightRequests: envInt(env, "TSINK_SERVER_READ_MAX_INFLIGHT_REQUESTS", 64),
      readMaxInflightQueries: envInt(env, "TSINK_SERVER_READ_MAX_INFLIGHT_QUERIES", 128),
      readAcquireTimeoutMs: envInt(env, "TSINK_SERVER_READ_RESOURCE_ACQUIRE_TIMEOUT_MS", 25),
      maxBodyBytes: envInt(env, "TSINK_SERVER_MAX_BODY_BYTES", 16 * 1024 * 1024),
      maxDecompressedBodyBytes: envInt(env, "TSINK_SERVER_MAX_DECOMPRESSED_BODY_BYTES", 64 * 1024 * 1024),
    },
    features: {
      metadataEnabled: envBool(env, "TSINK_REMOTE_WRITE_METADATA_ENABLED", true),
      exemplarsEnabled: envBool(env, "TSINK_REMOTE_WRITE_EXEMPLARS_ENABLED", true),
      histogramsEnabled: envBool(env, "TSINK_REMOTE_WRITE_HISTOGRAMS_ENABLED", true),
      maxMetadataUpdates: envInt(env, "TSINK_REMOTE_WRITE_MAX_METADATA_UPDATES", 512),
    },
    protocols: {
      influxEnabled: envBool(env, "TSINK_INFLUX_LINE_PROTOCOL_ENABLED", true),
      influxMaxLinesPerRequest: Math.max(1, envInt(env, "TSINK_INFLUX_LINE_PROTOCOL_MAX_LINES_PER_REQUEST", 4096)),
      otlpEnabled: envBool(env, "TSINK_OTLP_METRICS_ENABLED", true),
    },
    rules: {
      schedulerTickMs: Math.max(1, envInt(env, "TSINK_RULES_SCHEDULER_TICK_MS", 1000)),
      maxRecordingRowsPerEval: envInt(env, "TSINK_RULES_MAX_RECORDING_ROWS_PER_EVAL", 10_000),
      maxAlertInstancesPerRule: envInt(env, "TSINK_RULES_MAX_ALERT_INSTANCES_PER_RULE", 10_000),
    },
    logLevel: env.TSINK_LOG_LEVEL || "info",
  };
  const listenerTenant = (flag: string): string => {
    const tenant = nonBlank(flag) ?? "default";
    if (tenant.startsWith("__")) throw new ConfigError(`${flag}: tenant ids must not start with "__"`);
    return tenant;
  };
  const statsdTenant = listenerTenant("--statsd-tenant");
  const graphiteTenant = listenerTenant("--graphite-tenant");
  if (values.has("--statsd-listen")) {
    config.protocols.statsd = {
      listen: parseListen("--statsd-listen", get("--statsd-listen")!),
      tenant: statsdTenant,
      maxPacketBytes: Math.max(64, envInt(env, "TSINK_STATSD_MAX_PACKET_BYTES", 8192)),
      maxEventsPerPacket: Math.max(1, envInt(env, "TSINK_STATSD_MAX_EVENTS_PER_PACKET", 1024)),
    };
  }
  if (values.has("--graphite-listen")) {
    config.protocols.graphite = {
      listen: parseListen("--graphite-listen", get("--graphite-listen")!),
      tenant: graphiteTenant,
      maxLineBytes: Math.max(64, envInt(env, "TSINK_GRAPHITE_MAX_LINE_BYTES", 8192)),
    };
  }
  if (get("--data-path") !== undefined) config.dataPath = nonBlank("--data-path");
  if (get("--memory-limit") !== undefined) config.memoryLimitBytes = parseBytesFlag("--memory-limit", get("--memory-limit")!);
  if (get("--cardinality-limit") !== undefined) config.cardinalityLimit = parsePositiveInt("--cardinality-limit", get("--cardinality-limit")!);
  if (get("--chunk-points") !== undefined) config.chunkPoints = parsePositiveInt("--chunk-points", get("--chunk-points")!);
  if (get("--max-writers") !== undefined) config.maxWriters = parsePositiveInt("--max-writers", get("--max-writers")!);
  if (authToken) config.authToken = authToken;
  if (adminAuthToken) config.adminAuthToken = adminAuthToken;
  if (get("--admin-path-prefix") !== undefined) config.adminPathPrefix = nonBlank("--admin-path-prefix");
  if (values.has("--tls-cert")) config.tls = { certPath: get("--tls-cert")!, keyPath: get("--tls-key")! };
  config.unreadEnv = Object.keys(givenEnv).filter((name) => name.startsWith("TSINK_") && !read.has(name)).sort();
  return config;
}

/** What to do about the usual startup failures (address in use, data path not usable). */
export function startupHint(err: unknown, config: { dataPath?: string }): string | undefined {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  switch (e?.code) {
    case "EADDRINUSE":
      return `${e.address}:${e.port} is already in use: stop the process holding it, or choose another address (--listen, --statsd-listen, --graphite-listen)`;
    case "EADDRNOTAVAIL":
      return `${e.address} is not an address of this machine: fix the listen address (e.g. --listen 127.0.0.1:9201 or 0.0.0.0:9201)`;
    case "EACCES":
    case "EPERM":
    case "ENOTDIR":
    case "EROFS":
    case "ENOSPC":
      if (e.syscall === "listen" || e.syscall === "bind") return `not allowed to listen on ${e.address}:${e.port}: use a port above 1023 or run with the needed privileges`;
      return `the data path ${config.dataPath ?? ""} is not usable (${e.code}): point --data-path at a writable directory with free space`;
    default:
      return undefined;
  }
}
