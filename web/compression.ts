/**
 * Compressed answers for the pages and their assets, for a client that accepts them
 * (`Accept-Encoding: br` or `gzip`, as every browser sends): the assets have precompressed
 * copies made once at start (web/assets.ts), a page is compressed as it is sent (brotli at
 * quality 4, about gzip's speed and smaller). Every such answer says `Vary: Accept-Encoding`, so
 * that a cache never hands one client's encoding to another. Bodies under 1 KiB are sent as they
 * are (the headers would outweigh the saving).
 */
import { promisify } from "node:util";
import { brotliCompress, constants, gzip } from "node:zlib";
import type { ApiReply } from "../query/api/reply.js";

export type Coding = "br" | "gzip";

/** Smaller bodies are not worth compressing. */
export const MIN_COMPRESSED_BYTES = 1024;

/**
 * The coding to answer with for a request's Accept-Encoding (RFC 9110 §12.5.3): br or gzip,
 * whichever has the higher q-value (br on a tie), a coding not listed taking `*`'s; undefined
 * when neither is acceptable (absent, q=0, or only others such as deflate).
 */
export function chooseCoding(accept: string | undefined): Coding | undefined {
  if (accept === undefined || accept.trim() === "") return undefined;
  const q = new Map<string, number>();
  for (const part of accept.split(",")) {
    const [name = "", ...params] = part.split(";").map((s) => s.trim().toLowerCase());
    if (name === "") continue;
    let weight = 1;
    for (const p of params) {
      const m = /^q\s*=\s*([01](?:\.[0-9]{0,3})?)$/.exec(p);
      if (m !== null) weight = Number(m[1]);
    }
    q.set(name === "x-gzip" ? "gzip" : name, weight);
  }
  const of = (c: Coding) => q.get(c) ?? q.get("*") ?? 0;
  const br = of("br");
  const gz = of("gzip");
  if (br <= 0 && gz <= 0) return undefined;
  return br >= gz ? "br" : "gzip";
}

const brotliAsync = promisify(brotliCompress);
const gzipAsync = promisify(gzip);

/**
 * The precompressed copies of a static body, at the best compression: made once, on libuv's
 * threads (brotli at quality 11 takes ~0.2 s for the pages' assets: made on the event loop, at
 * start, it held up every command that serves pages). Never rejects: without copies (undefined)
 * the body goes uncompressed.
 */
export function precompress(
  body: string | Uint8Array,
): Promise<Record<Coding, Uint8Array> | undefined> {
  return Promise.all([
    brotliAsync(body, {
      params: {
        [constants.BROTLI_PARAM_QUALITY]: constants.BROTLI_MAX_QUALITY,
        [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(body),
      },
    }),
    gzipAsync(body, { level: constants.Z_BEST_COMPRESSION }),
  ]).then(
    ([br, gzip]) => ({ br, gzip }),
    () => undefined,
  );
}

/** Adds Accept-Encoding to a reply's Vary header. */
function withVary(r: ApiReply): ApiReply {
  const vary = r.headers.vary;
  const list =
    vary === undefined
      ? []
      : String(vary)
          .split(",")
          .map((s) => s.trim());
  if (list.some((v) => v.toLowerCase() === "accept-encoding" || v === "*")) return r;
  return { ...r, headers: { ...r.headers, vary: [...list, "Accept-Encoding"].join(", ") } };
}

/** A reply with precompressed copies (an asset): the one the client accepts. */
export function encodedStatic(
  r: ApiReply,
  copies: Record<Coding, Uint8Array> | undefined,
  accept: string | undefined,
): ApiReply {
  const out = withVary(r);
  const coding = chooseCoding(accept);
  if (copies === undefined || coding === undefined || r.status !== 200) return out;
  return { ...out, headers: { ...out.headers, "content-encoding": coding }, bytes: copies[coding] };
}

/** A page compressed as it is sent, if the client accepts it and it is large enough. */
export async function encodedPage(r: ApiReply, accept: string | undefined): Promise<ApiReply> {
  if (r.status === 204 || r.status === 304 || r.headers["content-encoding"] !== undefined) return r;
  const out = withVary(r);
  const coding = chooseCoding(accept);
  const body = r.bytes ?? r.body;
  if (coding === undefined || Buffer.byteLength(body) < MIN_COMPRESSED_BYTES) return out;
  const bytes =
    coding === "br"
      ? await brotliAsync(body, {
          params: {
            [constants.BROTLI_PARAM_QUALITY]: 4,
            [constants.BROTLI_PARAM_SIZE_HINT]: Buffer.byteLength(body),
          },
        })
      : await gzipAsync(body, { level: 6 });
  return { ...out, headers: { ...out.headers, "content-encoding": coding }, bytes };
}
