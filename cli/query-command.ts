/**
 * `flowtally query overview|traffic|response-times`: the API's answers (docs/api.md), from a
 * running flowtally (`--api URL`, with a token) or from the configured store opened here
 * (`--config FILE`, when nothing else holds it). Both paths ask the same question, the API's
 * request target, and get the same answer: over HTTP, or from `ApiServer.answer` in process, so
 * the checks, defaults and figures cannot differ between them.
 */
import { isoTime } from "../query/api/parameters.js";
import { type OverviewColumn, overviewColumnList } from "../query/overview.js";
import { STEP_MS, type TrafficStep } from "../query/traffic.js";
import { FlowtallyError, isFlowtallyError } from "../schema/errors.js";
import { apiBaseUrl, type FetchedAnswer, fetchAnswer, tokenFrom } from "./api-client.js";
import {
  type OverviewAnswer,
  overviewOutput,
  type QueryFormat,
  type ResponseTimesAnswer,
  responseTimesOutput,
  type TrafficAnswer,
  trafficOutput,
} from "./query-output.js";
import { parseQueryTime, RELATIVE_TIME_FORMS } from "./query-times.js";

export type QueryKind = "overview" | "traffic" | "response-times";

/** Where the answers come from, and the `--from`/`--to` text, as the command line gives them. */
export interface QueryCommandOptions {
  config?: string;
  api?: string;
  token?: string;
  tokenFile?: string;
  from: string;
  to?: string;
  format: QueryFormat;
  // overview
  router?: string;
  serviceType?: string;
  sort?: OverviewColumn;
  order?: "asc" | "desc";
  top?: number;
  /** The CSV's columns in their order ("customer,name,bpsIn"; default: every column). */
  fields?: string;
  // traffic, response-times
  step?: TrafficStep;
  site?: string;
  link?: string;
  class?: string;
}

/** The store path of the overview, with times already resolved (kept for callers and tests). */
export interface OverviewOptions {
  config: string;
  from: number;
  /** Default: now, rounded down to the minute (as the API). */
  to?: number;
  router?: string;
  serviceType?: string;
  sort: OverviewColumn;
  order: "asc" | "desc";
  limit?: number;
  format: QueryFormat;
}

const MINUTE_MS = 60_000;

/** The command-line option of each API parameter, to name it in a refusal. */
const OPTION_OF: Readonly<Record<string, string>> = {
  from: "--from",
  to: "--to",
  step: "--step",
  limit: "--top",
  router: "--router",
  serviceType: "--service-type",
  sort: "--sort",
  order: "--order",
  site: "--site",
  link: "--link",
  class: "--class",
};

export async function runQueryCommand(
  kind: QueryKind,
  customer: string | undefined,
  opts: QueryCommandOptions,
  env: NodeJS.ProcessEnv = process.env,
  nowMs = Date.now(),
): Promise<string> {
  if ((opts.api === undefined) === (opts.config === undefined)) {
    throw new FlowtallyError(
      "FT_QUERY",
      "give --api URL (ask a running flowtally) or --config FILE (open its store), one of them",
    );
  }
  // A token on the command line is refused on either path (tokenFrom says why).
  if (opts.token !== undefined) tokenFrom(opts, env);
  const stepMs = kind === "overview" ? MINUTE_MS : STEP_MS[opts.step ?? "1h"];
  const columns = csvColumns(opts);
  const time = (option: "--from" | "--to", text: string): string => {
    const t = parseQueryTime(text, nowMs, stepMs);
    if (Number.isNaN(t)) {
      throw new FlowtallyError(
        "FT_QUERY",
        `${option} ${JSON.stringify(text)} is not a time: ISO 8601 with a zone (2026-11-22T10:00:00Z, 2026-11-22) or ${RELATIVE_TIME_FORMS} (UTC)`,
      );
    }
    return isoTime(t);
  };
  const parameters: Array<[string, string | number | undefined]> = [
    ["from", time("--from", opts.from)],
    ["to", opts.to === undefined ? undefined : time("--to", opts.to)],
  ];
  let path: string;
  if (kind === "overview") {
    path = "/api/v1/overview";
    parameters.push(
      ["router", opts.router],
      ["serviceType", opts.serviceType],
      ["sort", opts.sort],
      ["order", opts.order],
      ["limit", opts.top],
    );
  } else {
    path = `/api/v1/customers/${encodeURIComponent(customer ?? "")}/${kind}`;
    parameters.push(
      ["step", opts.step],
      ["site", opts.site],
      ["link", opts.link],
      ["class", opts.class],
    );
  }
  const target = `${path}?${search(parameters)}`;

  let answer: FetchedAnswer;
  if (opts.api !== undefined) {
    const base = apiBaseUrl(opts.api);
    answer = await fetchAnswer(base, target, tokenFrom(opts, env));
  } else {
    if (opts.tokenFile !== undefined) {
      throw new FlowtallyError(
        "FT_QUERY",
        "--token-file goes with --api; with --config the store is read directly",
      );
    }
    answer = await storeAnswer(opts.config!, target);
  }
  const body = checkedAnswer(answer, opts.api === undefined ? opts.config! : `--api ${opts.api}`);
  if (kind === "overview") return overviewOutput(body as OverviewAnswer, opts.format, columns);
  if (kind === "traffic") return trafficOutput(body as TrafficAnswer, opts.format);
  return responseTimesOutput(body as ResponseTimesAnswer, opts.format);
}

/** `flowtally query overview --config` with resolved times (ms): the answer as text. */
export async function runOverview(opts: OverviewOptions): Promise<string> {
  const target = `/api/v1/overview?${search([
    ["from", isoTime(opts.from)],
    ["to", opts.to === undefined ? undefined : isoTime(opts.to)],
    ["router", opts.router],
    ["serviceType", opts.serviceType],
    ["sort", opts.sort],
    ["order", opts.order],
    ["limit", opts.limit],
  ])}`;
  const body = checkedAnswer(await storeAnswer(opts.config, target), opts.config);
  return overviewOutput(body as OverviewAnswer, opts.format);
}

/** `--fields`, checked before anything is asked: only for the overview's CSV. */
function csvColumns(opts: QueryCommandOptions): OverviewColumn[] | undefined {
  if (opts.fields === undefined) return undefined;
  if (opts.format !== "csv") {
    throw new FlowtallyError(
      "FT_QUERY",
      "--fields chooses the columns of --format csv; the table and JSON have every column",
    );
  }
  const columns = overviewColumnList(opts.fields);
  if (typeof columns === "string") throw new FlowtallyError("FT_QUERY", `--fields: ${columns}`);
  return columns;
}

function search(parameters: ReadonlyArray<[string, string | number | undefined]>): string {
  const p = new URLSearchParams();
  for (const [name, value] of parameters) if (value !== undefined) p.set(name, String(value));
  return p.toString();
}

/** The API's answer to `target` from the configured store, opened for this one question. */
async function storeAnswer(configPath: string, target: string): Promise<FetchedAnswer> {
  // Loaded here, not with the command: `--api` needs none of the store, the API or the model
  // (a question through --api took 0.9 s, most of it loading them).
  const [
    { loadConfigFile },
    { createLogger },
    { createStore },
    { createApiServer },
    { buildCustomerModel },
  ] = await Promise.all([
    import("../config/load-config.js"),
    import("./logger.js"),
    import("../store/create-store.js"),
    import("../query/api/index.js"),
    import("../collector/classify/customer-model.js"),
  ]);
  const cfg = loadConfigFile(configPath);
  const log = createLogger("warn");
  // Read-only: a query never creates a store, nor writes to one.
  const store = createStore(cfg.store, { log, readOnly: true });
  try {
    await store.start();
  } catch (e) {
    // A lock: flowtally run holds the file. Its API answers the same question.
    if (!isFlowtallyError(e, "FT_STORE_OPEN") || !/lock/i.test(e.message)) throw e;
    const where = /:0$/.test(cfg.api.listen)
      ? '(the address run logged as "query API listening")'
      : `http://${cfg.api.listen}`;
    throw new FlowtallyError(
      "FT_STORE_OPEN",
      `${e.message}; while flowtally run holds the store, ask its API: --api ${where}, the token in FLOWTALLY_TOKEN`,
      { cause: e },
    );
  }
  try {
    const api = createApiServer({ config: cfg, model: buildCustomerModel(cfg), store, log });
    return await api.answer(target);
  } finally {
    await store.stop();
  }
}

/** The answer's JSON when it is one; a coded error saying what went wrong when it is not. */
function checkedAnswer(answer: FetchedAnswer, where: string): unknown {
  let body: unknown;
  if (answer.contentType.startsWith("application/json")) {
    try {
      body = JSON.parse(answer.body);
    } catch {
      body = undefined;
    }
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; parameter?: unknown } })
    ?.error;
  if (answer.status === 200 && body !== undefined && error === undefined) return body;
  if (error === undefined || typeof error.message !== "string") {
    throw new FlowtallyError(
      "FT_API_ERROR",
      `${where}: not an answer of the flowtally API (HTTP ${answer.status}, ${answer.contentType || "no content type"})`,
    );
  }
  const what = `${error.message} (HTTP ${answer.status} ${String(error.code)})`;
  if (answer.status === 401 || answer.status === 429 || error.code === "FT_NO_OPERATOR_TOKENS") {
    throw new FlowtallyError(
      "FT_API_UNAUTHORIZED",
      `${where}: the API refused the token: ${what}${answer.status === 401 ? "; check FLOWTALLY_TOKEN or --token-file against api.operatorTokens" : ""}`,
    );
  }
  if (answer.status === 400 || answer.status === 404) {
    const option = typeof error.parameter === "string" ? OPTION_OF[error.parameter] : undefined;
    throw new FlowtallyError(
      "FT_QUERY",
      `${option === undefined ? "" : `${option}: `}${error.message}`,
    );
  }
  throw new FlowtallyError("FT_API_ERROR", `${where}: ${what}`);
}
