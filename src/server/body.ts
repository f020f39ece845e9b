// Request body reading with a hard cap on the bytes taken off the wire (413 before buffering more than the limit).
import type { Context } from "koa";
import { HttpError } from "./http-error.js";

export async function readBody(ctx: Context, maxBytes: number, json = false): Promise<Buffer> {
  const chunks = await readBodyChunks(ctx, maxBytes, json);
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** The body as the socket delivered it (no concatenated copy), for consumers that copy it somewhere anyway. */
export async function readBodyChunks(ctx: Context, maxBytes: number, json = false): Promise<Buffer[]> {
  const declared = Number(ctx.get("content-length") || NaN);
  if (declared > maxBytes) {
    throw new HttpError(413, `request body of ${declared} bytes exceeds the limit of ${maxBytes} bytes`, { json });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > maxBytes) {
        ctx.set("Connection", "close");
        throw new HttpError(413, `request body exceeds the limit of ${maxBytes} bytes`, { json });
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof HttpError) throw err;
    throw new HttpError(400, `reading the request body failed: ${(err as Error).message}`, { json });
  }
  return chunks;
}
