/**
 * Coded errors (fastify's FST_ERR_* style): every error flowtally reports to a user has a stable
 * code, listed with what to do about it in docs/errors.md.
 */
export const errorCodes = {
  FT_CONFIG_READ: "The config file could not be read.",
  FT_CONFIG_PARSE: "The config file is not valid YAML, or its aliases expand or loop.",
  FT_CONFIG_INVALID: "The config file does not match the schema.",
  FT_CAPTURE_READ: "A capture file could not be read.",
  FT_CAPTURE_OPEN: "A live capture (inputs.capture) could not be opened.",
  FT_STATE_READ: "The decoder state file could not be read or parsed.",
  FT_STATE_WRITE: "The decoder state file could not be written.",
  FT_STORE_OPEN: "The embedded store could not be opened, or a query found no store at its path.",
  FT_STORE_FILE: "The embedded store's file was deleted or replaced while flowtally had it open.",
  FT_STORE_UNREACHABLE:
    "The InfluxDB store could not be reached (connection refused, timeout, DNS).",
  FT_STORE_WRITE:
    "The store refused a write: InfluxDB's HTTP status and body, or DuckDB's error (disk full, read-only, I/O).",
  FT_STORE_QUERY: "The store refused a query or answered with an error.",
  FT_STORE_CLOSED: "A store call came before the store was started or after it was stopped.",
  FT_STORE_SPOOL:
    "Rows the store did not take could not be spooled, or a spool file not written back.",
  FT_WAL:
    "The write-ahead log (wal.path) could not be created, written or read: received data is then not crash-safe.",
  FT_DATA_LOCKED:
    "A data file (decoder state, collector spool) is in use by another running flowtally process.",
  FT_LISTEN: "A UDP input or the query API could not listen on its address.",
  FT_SEND: "`flowtally send` could not read a capture or send to the target.",
  FT_QUERY:
    "`flowtally query` was asked something the API refuses: a time, parameter, customer, site, link or class that is not valid or not configured.",
  FT_API_URL: "`flowtally query --api` was given something that is not the API's base URL.",
  FT_API_TOKEN:
    "`flowtally query --api` has no operator token, could not read --token-file, or was given the token on the command line.",
  FT_API_UNREACHABLE: "`flowtally query --api` could not reach the API, or had no answer in time.",
  FT_API_UNAUTHORIZED:
    "The API refused the token (401), blocks this address for failed tokens (429), or has no tokens configured (503).",
  FT_API_ERROR: "The API failed (500), or what answered is not the flowtally API.",
  FT_REGISTRY_INVALID:
    "A customer registry change (or import) breaks a rule: a field, or the whole tree's rules as the config's (host bits, a prefix owned twice, an interface given twice). The message names each record's path and the reason.",
  FT_REGISTRY_CONFLICT:
    "A registry change named a record revision (ETag) that is no longer current: someone changed the record since it was read (HTTP 412). Read it again and redo the change.",
  FT_REGISTRY_EXISTS:
    "A registry change adds a customer, site or link whose id is taken (HTTP 409).",
  FT_REGISTRY_NOT_FOUND:
    "A registry change updates, deletes or adds under a customer, site or link that does not exist (HTTP 404).",
  FT_REGISTRY_OPEN:
    "The customer registry's database (embedded file or PostgreSQL) could not be opened, reached or written, or a call came while it was stopped.",
  FT_REGISTRY_SOURCE:
    "`flowtally customers import` was run with registry.source: config: customers come from the config file then.",
  FT_CUSTOMERS_FILE:
    "`flowtally customers import|export`: the file could not be read or written, or its format is not known from its extension.",
  FT_ACCOUNT:
    "`flowtally users add` was refused: the id is taken or not valid, the password breaks the policy (12 characters to 1024 bytes), or a customer role lacks --customer.",
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class FlowtallyError extends Error {
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "FlowtallyError";
    this.code = code;
  }
}

export function isFlowtallyError(e: unknown, code?: ErrorCode): e is FlowtallyError {
  return e instanceof FlowtallyError && (code === undefined || e.code === code);
}
