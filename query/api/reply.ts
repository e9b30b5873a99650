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
 * The Response for a reply. Every answer is `Cache-Control: no-store` (traffic figures change as
 * late data arrives) and `X-Content-Type-Options: nosniff`, and says its length.
 */
export function toResponse(r: ApiReply): Response {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(r.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : `${value}`;
  }
  headers["cache-control"] = "no-store";
  headers["x-content-type-options"] = "nosniff";
  // 204 and 304 have no body (the Response refuses one), nor its type and length.
  if (r.status === 204 || r.status === 304)
    return new Response(null, { status: r.status, headers });
  headers["content-type"] = r.contentType;
  headers["content-length"] = `${Buffer.byteLength(r.body)}`;
  return new Response(r.body, { status: r.status, headers });
}

/** A Response back as a reply (the in-process `answer`): its headers but the content type. */
export async function fromResponse(res: Response): Promise<ApiReply> {
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of res.headers) if (name !== "content-type") headers[name] = value;
  return reply(res.status, await res.text(), res.headers.get("content-type") ?? "", headers);
}
