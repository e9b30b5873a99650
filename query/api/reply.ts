/**
 * Answers: what a handler returns (a status, a content type, a body and extra headers), the JSON
 * and error forms, and the Response sent for one, with the headers every answer carries.
 */
import type { OutgoingHttpHeaders } from "node:http";
import type { ApiError } from "./errors.js";

/** An answer of the API: what `answer` returns and what is sent over HTTP. */
export interface ApiReply {
  status: number;
  contentType: string;
  body: string;
  headers: OutgoingHttpHeaders;
  /** A binary body, sent instead of `body` (an image of web/). */
  bytes?: Uint8Array;
}

export function reply(
  status: number,
  body: string,
  contentType: string,
  headers: OutgoingHttpHeaders = {},
): ApiReply {
  return { status, body, contentType, headers };
}

export function jsonReply(status: number, body: unknown, headers?: OutgoingHttpHeaders): ApiReply {
  return reply(status, `${JSON.stringify(body)}\n`, "application/json; charset=utf-8", headers);
}

/** 204 No Content, with extra headers (a cleared cookie). */
export function noContent(headers?: OutgoingHttpHeaders): ApiReply {
  return reply(204, "", "", headers);
}

export function errorReply(e: ApiError): ApiReply {
  const error = {
    code: e.code,
    ...(e.parameter === undefined ? {} : { parameter: e.parameter }),
    message: e.message,
    ...(e.details.problems === undefined ? {} : { problems: e.details.problems }),
    ...(e.details.revision === undefined ? {} : { revision: e.details.revision }),
  };
  return jsonReply(e.status, { error }, e.headers);
}

/**
 * Headers on every answer: no caching (traffic figures change as late data arrives, and answers
 * may be a user's own), and a browser that shows an answer runs no script, frame or plugin from
 * anywhere but this server, sends no Referer and sniffs no type. (Strict-Transport-Security is
 * added by app.ts when the API serves TLS.)
 */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "content-security-policy":
    "default-src 'self'; script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
};

/** The Response for a reply: its headers, SECURITY_HEADERS, and its length. */
export function toResponse(r: ApiReply): Response {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : `${value}`;
  }
  // A reply may cache longer than no-store (the content-named assets of web/); nothing else.
  const cache = headers["cache-control"];
  // A reply may also narrow the policy (an uploaded logo, which runs nothing: web/admin/).
  const policy = headers["content-security-policy"];
  Object.assign(headers, SECURITY_HEADERS);
  if (cache !== undefined) headers["cache-control"] = cache;
  if (policy !== undefined) headers["content-security-policy"] = policy;
  // 204 and 304 have no body (the Response refuses one), nor its type and length.
  if (r.status === 204 || r.status === 304) {
    return new Response(null, { status: r.status, headers });
  }
  headers["content-type"] = r.contentType;
  const body = r.bytes ?? r.body;
  headers["content-length"] = `${Buffer.byteLength(body)}`;
  return new Response(body, { status: r.status, headers });
}

/** A Response back as a reply (the in-process `answer`): its headers but the content type. */
export async function fromResponse(res: Response): Promise<ApiReply> {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of res.headers) if (name !== "content-type") headers[name] = value;
  return reply(res.status, await res.text(), res.headers.get("content-type") ?? "", headers);
}
