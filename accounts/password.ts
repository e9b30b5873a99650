/**
 * Local passwords: the policy (at least 12 characters, at most 1024 bytes) and scrypt hashes
 * (node:crypto) at OWASP's current parameters (N = 2^17, r = 8, p = 1), a 16-byte random salt and a
 * 64-byte key, encoded with their parameters (`$scrypt$ln=17,r=8,p=1$salt$key`, base64) so that a
 * later release can raise them and still verify the old hashes. Verification compares in
 * constant time; a hash that cannot be read verifies nothing.
 */
import { randomBytes, scrypt, timingSafeEqual } from "node:crypto";

export interface ScryptParams {
  /** log2 of N, the cost. */
  ln: number;
  r: number;
  p: number;
}

/** OWASP Password Storage Cheat Sheet: scrypt N = 2^17, r = 8, p = 1. */
export const OWASP_SCRYPT: ScryptParams = { ln: 17, r: 8, p: 1 };
export const SALT_BYTES = 16;
export const KEY_BYTES = 64;
export const MIN_PASSWORD_CHARS = 12;
export const MAX_PASSWORD_BYTES = 1024;
/** The most a stored hash may ask for (log2 N), so that a forged row cannot exhaust memory. */
const MAX_LN = 20;

/** Why `password` is refused, or undefined. Characters are code points, not UTF-16 units. */
export function passwordProblem(password: string): string | undefined {
  if (Buffer.byteLength(password, "utf8") > MAX_PASSWORD_BYTES) {
    return `must be at most ${MAX_PASSWORD_BYTES} bytes`;
  }
  if ([...password].length < MIN_PASSWORD_CHARS) {
    return `must be at least ${MIN_PASSWORD_CHARS} characters`;
  }
  return undefined;
}

/** Memory scrypt needs for the parameters (128·N·r), with room to spare. */
export function scryptMaxmem(params: ScryptParams): number {
  return 128 * 2 ** params.ln * params.r * (params.p + 1) + 1024 * 1024;
}

function derive(password: string, salt: Buffer, params: ScryptParams, length: number) {
  return new Promise<Buffer>((resolve, reject) => {
    scrypt(
      password.normalize("NFC"),
      salt,
      length,
      { N: 2 ** params.ln, r: params.r, p: params.p, maxmem: scryptMaxmem(params) },
      (e, key) => (e === null ? resolve(key) : reject(e)),
    );
  });
}

export async function hashPassword(
  password: string,
  params: ScryptParams = OWASP_SCRYPT,
): Promise<string> {
  const salt = randomBytes(SALT_BYTES);
  const key = await derive(password, salt, params, KEY_BYTES);
  return `$scrypt$ln=${params.ln},r=${params.r},p=${params.p}$${salt.toString("base64")}$${key.toString("base64")}`;
}

export interface ParsedHash {
  params: ScryptParams;
  salt: Buffer;
  key: Buffer;
}

/** The parts of an encoded hash, or undefined when it is not one this module wrote. */
export function parseHash(encoded: string): ParsedHash | undefined {
  const m =
    /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/.exec(
      encoded,
    );
  if (m === null) return undefined;
  const params = { ln: Number(m[1]), r: Number(m[2]), p: Number(m[3]) };
  if (params.ln < 1 || params.ln > MAX_LN || params.r < 1 || params.p < 1) return undefined;
  const salt = Buffer.from(m[4]!, "base64");
  const key = Buffer.from(m[5]!, "base64");
  if (salt.length < 8 || key.length < 16) return undefined;
  return { params, salt, key };
}

/** Whether `password` matches `encoded`; false for a hash that cannot be read. */
export async function verifyPassword(password: string, encoded: string): Promise<boolean> {
  const parsed = parseHash(encoded);
  if (parsed === undefined) return false;
  const key = await derive(password, parsed.salt, parsed.params, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}

/** Whether a hash was made with weaker parameters than `params` (to rehash at the next login). */
export function needsRehash(encoded: string, params: ScryptParams = OWASP_SCRYPT): boolean {
  const parsed = parseHash(encoded);
  return (
    parsed === undefined ||
    parsed.params.ln < params.ln ||
    parsed.params.r < params.r ||
    parsed.params.p < params.p
  );
}
