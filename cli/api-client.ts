/**
 * `flowtally query --api URL`: one GET to a running flowtally's HTTP API (docs/api.md), with the
 * operator token from the environment or a file, never from the command line (where `ps` shows
 * it to every user of the host and the shell keeps it in its history).
 */
import { readFileSync, statSync } from "node:fs";
import { FlowtallyError } from "../schema/errors.js";

/** How long an answer may take (the API's own api.requestTimeout default). */
export const API_TIMEOUT_MS = 30_000;

export interface TokenSources {
  /** `--token`: refused, see tokenFrom. */
  token?: string | undefined;
  /** `--token-file`. */
  tokenFile?: string | undefined;
}

/** What the API answered: status, content type and body, as `ApiServer.answer` gives them. */
export interface FetchedAnswer {
  status: number;
  contentType: string;
  body: string;
}

const ON_THE_COMMAND_LINE =
  "every user of this host sees the command line (ps) and the shell keeps it in its history; put the token in the FLOWTALLY_TOKEN environment variable or in a file given with --token-file";

/**
 * The base URL of the API from `--api`: http or https, no credentials, no query or fragment.
 * An address alone (`127.0.0.1:8080`) is taken as http. A path is kept (an API behind a
 * reverse proxy at `/flowtally/`).
 */
export function apiBaseUrl(text: string): URL {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`);
  } catch {
    throw new FlowtallyError(
      "FT_API_URL",
      `--api ${JSON.stringify(text)} is not a URL such as http://127.0.0.1:8080`,
    );
  }
  if (url.username !== "" || url.password !== "") {
    throw new FlowtallyError(
      "FT_API_TOKEN",
      `--api: credentials in the URL are refused: ${ON_THE_COMMAND_LINE}`,
    );
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new FlowtallyError("FT_API_URL", `--api ${url.protocol}: expected http or https`);
  }
  if (url.search !== "" || url.hash !== "") {
    throw new FlowtallyError(
      "FT_API_URL",
      "--api: give the API's base URL, without a query or fragment (http://127.0.0.1:8080)",
    );
  }
  if (!url.pathname.endsWith("/")) url.pathname = `${url.pathname}/`;
  return url;
}

/**
 * The operator token: the first line of `--token-file`, else `FLOWTALLY_TOKEN`. A token given
 * with `--token` is refused whatever else is set, so that it never becomes a habit.
 */
export function tokenFrom(sources: TokenSources, env: NodeJS.ProcessEnv): string {
  if (sources.token !== undefined) {
    throw new FlowtallyError("FT_API_TOKEN", `--token is refused: ${ON_THE_COMMAND_LINE}`);
  }
  if (sources.tokenFile !== undefined) {
    const path = sources.tokenFile;
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (e) {
      throw new FlowtallyError(
        "FT_API_TOKEN",
        `--token-file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
        { cause: e },
      );
    }
    const token = text.split(/\r?\n/, 1)[0]!.trim();
    if (token === "") {
      throw new FlowtallyError("FT_API_TOKEN", `--token-file ${path}: the first line is empty`);
    }
    if ((statSync(path).mode & 0o077) !== 0) {
      process.stderr.write(
        `flowtally: warning: --token-file ${path} can be read by other users (chmod 600 ${path})\n`,
      );
    }
    return token;
  }
  const token = env.FLOWTALLY_TOKEN?.trim() ?? "";
  if (token === "") {
    throw new FlowtallyError(
      "FT_API_TOKEN",
      "--api needs an operator token (one of api.operatorTokens): set FLOWTALLY_TOKEN or give --token-file FILE",
    );
  }
  return token;
}

/**
 * GET `target` (a path under the API, with its query) from the API at `base`; with `send`, that
 * method with a JSON body instead.
 */
export async function fetchAnswer(
  base: URL,
  target: string,
  token: string,
  timeoutMs = API_TIMEOUT_MS,
  send?: { method: "POST" | "PATCH" | "DELETE"; json: unknown },
): Promise<FetchedAnswer> {
  const url = new URL(target.replace(/^\//, ""), base);
  const where = `--api ${base.origin}${base.pathname.replace(/\/$/, "")}`;
  let res: Response;
  let body: string;
  try {
    res = await fetch(url, {
      ...(send === undefined ? {} : { method: send.method, body: JSON.stringify(send.json) }),
      headers: {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        ...(send === undefined ? {} : { "content-type": "application/json" }),
      },
      // A redirect would carry the token elsewhere: say where instead of following it.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    body = await res.text();
  } catch (e) {
    throw new FlowtallyError("FT_API_UNREACHABLE", `${where}: ${unreachableReason(e, timeoutMs)}`, {
      cause: e,
    });
  }
  if (res.status >= 300 && res.status < 400) {
    throw new FlowtallyError(
      "FT_API_ERROR",
      `${where}: answered ${res.status} redirecting to ${res.headers.get("location") ?? "nowhere"}; give that URL to --api`,
    );
  }
  return { status: res.status, contentType: res.headers.get("content-type") ?? "", body };
}

function unreachableReason(e: unknown, timeoutMs: number): string {
  const err = e as Error & { cause?: { code?: string; message?: string } };
  if (err.name === "TimeoutError" || err.name === "AbortError") {
    return `no answer within ${timeoutMs / 1000} s`;
  }
  const code = err.cause?.code;
  const why =
    code === "ECONNREFUSED"
      ? "connection refused"
      : code === "ENOTFOUND" || code === "EAI_AGAIN"
        ? "the host name does not resolve"
        : code === "ECONNRESET" || code === "UND_ERR_SOCKET"
          ? "the connection was closed without an answer"
          : (err.cause?.message ?? err.message);
  return `${why}${code === undefined ? "" : ` (${code})`}; is flowtally run or serve listening there (api.listen)?`;
}
