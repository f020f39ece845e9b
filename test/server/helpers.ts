// Test helpers: start the real server (real storage) on 127.0.0.1:0, and build real snappy-protobuf requests.
import { type ChildProcess, spawn } from "node:child_process";
import { request as httpRequest } from "node:http";
import { pino } from "pino";
import { TsinkServer } from "../../src/server/app.js";
import { parseServerArgs, type ServerConfig } from "../../src/server/config.js";
import { storageHooks } from "../../src/server/storage.js";
import { remoteProto } from "../../src/protocols/remote.js";
import { snappyCompress, snappyDecompress } from "../../src/protocols/snappy.js";

export interface RunningServer {
  url: string;
  port: number;
  server: TsinkServer;
  stop(): Promise<void>;
}

export async function startServer(args: string[] = [], env: Record<string, string> = {}): Promise<RunningServer> {
  const config = parseServerArgs(["--listen", "127.0.0.1:0", ...args], env) as ServerConfig;
  const server = new TsinkServer(config, pino({ level: "silent" }), storageHooks(config), "0.1.0-test");
  const address = await server.start();
  return { url: `http://127.0.0.1:${address.port}`, port: address.port, server, stop: () => server.stop() };
}

const WriteRequest = remoteProto.lookupType("prometheus.WriteRequest");
const ReadRequest = remoteProto.lookupType("prometheus.ReadRequest");
const ReadResponse = remoteProto.lookupType("prometheus.ReadResponse");

export interface SeriesSpec {
  labels: Record<string, string>;
  samples: [timestampMs: number, value: number][];
}

export function writeRequestBytes(series: SeriesSpec[], extra: Record<string, unknown> = {}): Uint8Array {
  return WriteRequest.encode(
    WriteRequest.fromObject({
      timeseries: series.map((s) => ({
        labels: Object.entries(s.labels).map(([name, value]) => ({ name, value })),
        samples: s.samples.map(([timestamp, value]) => ({ timestamp, value })),
      })),
      ...extra,
    }),
  ).finish();
}

export function remoteWriteBody(series: SeriesSpec[], extra: Record<string, unknown> = {}): Buffer {
  return Buffer.from(snappyCompress(writeRequestBytes(series, extra)));
}

export const REMOTE_WRITE_HEADERS = {
  "Content-Type": "application/x-protobuf",
  "Content-Encoding": "snappy",
  "X-Prometheus-Remote-Write-Version": "0.1.0",
};

export async function remoteWrite(url: string, series: SeriesSpec[], headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${url}/api/v1/write`, { method: "POST", body: remoteWriteBody(series), headers: { ...REMOTE_WRITE_HEADERS, ...headers } });
}

export function readRequestBody(queries: { startMs: number; endMs: number; matchers: { type: number; name: string; value: string }[] }[], acceptedResponseTypes?: number[]): Buffer {
  const bytes = ReadRequest.encode(
    ReadRequest.fromObject({
      queries: queries.map((q) => ({ startTimestampMs: q.startMs, endTimestampMs: q.endMs, matchers: q.matchers })),
      ...(acceptedResponseTypes ? { acceptedResponseTypes } : {}),
    }),
  ).finish();
  return Buffer.from(snappyCompress(bytes));
}

export interface DecodedReadResponse {
  results: { timeseries: { labels: { name: string; value: string }[]; samples: { value: number; timestamp: number }[] }[] }[];
}

export function decodeReadResponse(body: ArrayBuffer): DecodedReadResponse {
  const raw = snappyDecompress(new Uint8Array(body), 1 << 26);
  return ReadResponse.toObject(ReadResponse.decode(raw), { longs: Number, defaults: true, arrays: true }) as DecodedReadResponse;
}

export async function getJson(url: string, init?: RequestInit): Promise<{ status: number; headers: Headers; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, headers: res.headers, body };
}

/**
 * Opens a POST whose body never finishes: it holds the route's admission slot until `release()` ends it.
 * Resolves once the server's in-flight gauge (/metrics) counts it, so a loaded machine cannot race the caller.
 */
export async function holdOpenPost(port: number, path: string, headers: Record<string, string>): Promise<{ release(): Promise<number> }> {
  const gauge = path === "/api/v1/read" ? "tsink_query_inflight_requests" : "tsink_ingest_inflight_requests";
  const auth: Record<string, string> = headers.authorization ?? headers.Authorization ? { authorization: (headers.authorization ?? headers.Authorization)! } : {};
  const inflight = async (): Promise<number | undefined> => {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`, { headers: auth });
    const m = res.ok ? new RegExp(`^${gauge} (\\d+)$`, "m").exec(await res.text()) : null;
    return m ? Number(m[1]) : undefined;
  };
  const before = await inflight();
  const req = httpRequest({ host: "127.0.0.1", port, path, method: "POST", headers: { ...headers, "Content-Length": "1000" } });
  const done = new Promise<number>((resolve, reject) => {
    req.on("response", (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
    });
    req.on("error", reject);
  });
  done.catch(() => {}); // a server stopped while the request is held ends it with "socket hang up"
  req.write(Buffer.alloc(10));
  if (before === undefined) await new Promise((r) => setTimeout(r, 200));
  else for (const started = Date.now(); ((await inflight()) ?? 0) <= before && Date.now() - started < 5_000; ) await new Promise((r) => setTimeout(r, 10));
  return {
    async release() {
      req.destroy();
      return done.catch(() => 0);
    },
  };
}

/** Unix ms a little in the past, aligned to the second (inside the 15-minute future window, inside retention). */
export function recentMs(secondsAgo = 60): number {
  return Math.floor(Date.now() / 1000) * 1000 - secondsAgo * 1000;
}

/** The server entry point, run through tsx so tests need no build step. */
export const SERVER_MAIN = "src/server/main.ts";

/** Spawns the server on an ephemeral port; resolves with its port once its "ready" log line appears. */
export function spawnServer(args: string[]): Promise<{ child: ChildProcess; port: number; logs: () => string }> {
  const child = spawn(process.execPath, ["--import", "tsx", SERVER_MAIN, "--listen", "127.0.0.1:0", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    let port = 0;
    child.stdout!.on("data", (d: Buffer) => {
      out += d;
      const complete = out.split("\n").slice(0, -1);
      for (const line of complete) {
        if (!line.startsWith("{")) continue;
        const entry = JSON.parse(line) as { msg: string; address?: string };
        if (entry.address) port = Number(entry.address.split(":").pop());
        if (entry.msg === "storage open; ready" && port) resolve({ child, port, logs: () => out });
      }
    });
    child.stderr!.on("data", (d: Buffer) => (out += d));
    child.on("exit", (code) => reject(new Error(`server exited early with ${code}: ${out}`)));
  });
}

