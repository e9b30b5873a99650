/**
 * RADIUS packets for password checks (RFC 2865, RFC 3579): an Access-Request with User-Name,
 * User-Password (PAP), NAS-Identifier and Message-Authenticator, and the decoding of its reply.
 * Pure: no socket, no clock; the random Request Authenticator is made by {@link newAuthenticator}
 * (node:crypto) or passed in. Nothing here throws on what a network sends: a reply that is not
 * a good answer to our request comes back as `{ ok: false, reason }`.
 *
 * Why every reply must carry a valid Message-Authenticator (CVE-2024-3596, "BlastRADIUS"): the
 * Response Authenticator is an MD5 over the packet and the shared secret, and MD5's chosen-prefix
 * collisions let an attacker on the path turn an Access-Reject into an Access-Accept with the
 * same Response Authenticator (hiding the difference in a Proxy-State attribute). The HMAC-MD5
 * of Message-Authenticator is not open to that attack, so a reply without one (or with a wrong
 * one) is dropped, never believed. In our requests it comes first among the attributes, as the
 * advisory recommends (a server can then check it before it looks at any other attribute).
 *
 * Access-Challenge (a second factor, a new PIN) is not supported: it reads as `challenge`, and
 * the client takes it as a reject.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

export const RADIUS_CODE = {
  accessRequest: 1,
  accessAccept: 2,
  accessReject: 3,
  accessChallenge: 11,
} as const;

export const RADIUS_ATTRIBUTE = {
  userName: 1,
  userPassword: 2,
  nasIdentifier: 32,
  messageAuthenticator: 80,
} as const;

/** RFC 2865 §3: a packet is 20 to 4096 bytes. */
export const HEADER_BYTES = 20;
export const MAX_PACKET_BYTES = 4096;
/** RFC 2865 §5.2: the password is hidden in at most 128 bytes (a multiple of 16). */
export const MAX_PASSWORD_BYTES = 128;
/** An attribute's value is at most 253 bytes (its length byte counts the 2 header bytes). */
export const MAX_ATTRIBUTE_VALUE_BYTES = 253;
const AUTHENTICATOR_BYTES = 16;
/** Type, length and 16 bytes of HMAC-MD5. */
const MESSAGE_AUTHENTICATOR_BYTES = 18;

/** What the NAS-Identifier of our requests says (RFC 2865 §5.32: names the client to the server). */
export const NAS_IDENTIFIER = "flowtally";

/** A fresh, unpredictable Request Authenticator (RFC 2865 §3: it must be, for password hiding). */
export function newAuthenticator(): Buffer {
  return randomBytes(AUTHENTICATOR_BYTES);
}

export interface AccessRequestInput {
  /** The packet's Identifier, 0 to 255: what matches the reply to the request. */
  id: number;
  /** 16 random bytes ({@link newAuthenticator}). */
  authenticator: Uint8Array;
  user: string;
  password: string;
  /** The shared secret of the server the request is for. */
  secret: string | Uint8Array;
  /** Default {@link NAS_IDENTIFIER}. */
  nasIdentifier?: string;
}

export type Encoded = { ok: true; packet: Buffer } | { ok: false; reason: string };

/**
 * An Access-Request: Message-Authenticator first, then User-Name, User-Password (hidden with the
 * secret and the Request Authenticator) and NAS-Identifier. Refuses (with a reason, never a
 * throw) what cannot be sent: an empty or too long user name or password, a bad id.
 */
export function encodeAccessRequest(input: AccessRequestInput): Encoded {
  const secret = bytesOf(input.secret);
  const user = Buffer.from(input.user, "utf8");
  const password = Buffer.from(input.password, "utf8");
  const nas = Buffer.from(input.nasIdentifier ?? NAS_IDENTIFIER, "utf8");
  if (!Number.isInteger(input.id) || input.id < 0 || input.id > 255) {
    return { ok: false, reason: `identifier ${input.id} is not 0 to 255` };
  }
  if (input.authenticator.length !== AUTHENTICATOR_BYTES) {
    return { ok: false, reason: "the request authenticator is not 16 bytes" };
  }
  if (secret.length === 0) return { ok: false, reason: "the shared secret is empty" };
  if (user.length === 0) return { ok: false, reason: "the user name is empty" };
  if (user.length > MAX_ATTRIBUTE_VALUE_BYTES) {
    return { ok: false, reason: `the user name is longer than ${MAX_ATTRIBUTE_VALUE_BYTES} bytes` };
  }
  if (password.length === 0) return { ok: false, reason: "the password is empty" };
  if (password.length > MAX_PASSWORD_BYTES) {
    return { ok: false, reason: `the password is longer than ${MAX_PASSWORD_BYTES} bytes` };
  }
  if (nas.length === 0 || nas.length > MAX_ATTRIBUTE_VALUE_BYTES) {
    return { ok: false, reason: "the NAS-Identifier is empty or too long" };
  }
  const hidden = hidePassword(password, secret, input.authenticator);
  const attributes = [
    attribute(RADIUS_ATTRIBUTE.messageAuthenticator, Buffer.alloc(AUTHENTICATOR_BYTES)),
    attribute(RADIUS_ATTRIBUTE.userName, user),
    attribute(RADIUS_ATTRIBUTE.userPassword, hidden),
    attribute(RADIUS_ATTRIBUTE.nasIdentifier, nas),
  ];
  const length = HEADER_BYTES + attributes.reduce((n, a) => n + a.length, 0);
  const packet = Buffer.alloc(length);
  packet[0] = RADIUS_CODE.accessRequest;
  packet[1] = input.id;
  packet.writeUInt16BE(length, 2);
  packet.set(input.authenticator, 4);
  let at = HEADER_BYTES;
  for (const a of attributes) {
    packet.set(a, at);
    at += a.length;
  }
  // RFC 3579 §3.2: HMAC-MD5 over the whole packet with the attribute's value still zero.
  const mac = messageAuthenticator(packet, secret);
  packet.set(mac, HEADER_BYTES + 2);
  return { ok: true, packet };
}

/**
 * RFC 2865 §5.2: the password padded with zeros to a multiple of 16 bytes (at least 16), each
 * 16-byte block XORed with MD5(secret + previous block), the first previous block being the
 * Request Authenticator and the others the hidden blocks before.
 */
export function hidePassword(
  password: Uint8Array,
  secret: Uint8Array,
  authenticator: Uint8Array,
): Buffer {
  const blocks = Math.max(1, Math.ceil(password.length / 16));
  const out = Buffer.alloc(blocks * 16);
  out.set(password);
  let previous: Uint8Array = authenticator;
  for (let b = 0; b < blocks; b++) {
    const key = createHash("md5").update(secret).update(previous).digest();
    for (let i = 0; i < 16; i++) out[b * 16 + i]! ^= key[i]!;
    previous = out.subarray(b * 16, b * 16 + 16);
  }
  return out;
}

/** HMAC-MD5 of `packet` keyed with the secret (RFC 3579 §3.2), as the caller has framed it. */
export function messageAuthenticator(packet: Uint8Array, secret: Uint8Array): Buffer {
  return createHmac("md5", secret).update(packet).digest();
}

/** What a reply says, once it has been checked to be the answer to our request. */
export type ReplyCode = "accept" | "reject" | "challenge";

export type DecodedReply =
  | { ok: true; code: ReplyCode; id: number }
  | { ok: false; reason: string };

/** What of the request the reply is checked against. */
export interface SentRequest {
  id: number;
  authenticator: Uint8Array;
}

/**
 * Checks a datagram against the request it should answer and says what it answers: the length
 * fields and every attribute within bounds, the code one of Access-Accept, -Reject or
 * -Challenge, the Identifier the request's, the Response Authenticator right, and exactly one
 * Message-Authenticator, right. Bytes beyond the packet's Length are padding (RFC 2865 §3) and
 * ignored. Never throws; a reason names what is wrong and holds no secret.
 */
export function decodeReply(
  datagram: Uint8Array,
  request: SentRequest,
  secret: string | Uint8Array,
): DecodedReply {
  if (datagram.length < HEADER_BYTES) {
    return { ok: false, reason: `truncated: ${datagram.length} bytes, fewer than a header's 20` };
  }
  const view = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const length = view.getUint16(2);
  if (length < HEADER_BYTES || length > MAX_PACKET_BYTES) {
    return { ok: false, reason: `bad length ${length}: not 20 to 4096` };
  }
  if (length > datagram.length) {
    return {
      ok: false,
      reason: `truncated: length says ${length} bytes, the datagram has ${datagram.length}`,
    };
  }
  const packet = datagram.subarray(0, length);
  const codeByte = packet[0]!;
  const code = replyCode(codeByte);
  if (code === undefined) return { ok: false, reason: `code ${codeByte} is not a reply` };
  const id = packet[1]!;
  if (id !== request.id) {
    return { ok: false, reason: `identifier ${id} is not the request's ${request.id}` };
  }
  // Attributes: each within the packet, at least its own 2 header bytes long.
  let macAt = -1;
  for (let at = HEADER_BYTES; at < length; ) {
    if (at + 2 > length) return { ok: false, reason: `attribute at byte ${at} is cut off` };
    const type = packet[at]!;
    const attrLength = packet[at + 1]!;
    if (attrLength < 2 || at + attrLength > length) {
      return { ok: false, reason: `attribute ${type} at byte ${at} has bad length ${attrLength}` };
    }
    if (type === RADIUS_ATTRIBUTE.messageAuthenticator) {
      if (attrLength !== MESSAGE_AUTHENTICATOR_BYTES) {
        return { ok: false, reason: `Message-Authenticator has length ${attrLength}, not 18` };
      }
      if (macAt !== -1) return { ok: false, reason: "more than one Message-Authenticator" };
      macAt = at;
    }
    at += attrLength;
  }
  const key = bytesOf(secret);
  if (request.authenticator.length !== AUTHENTICATOR_BYTES || key.length === 0) {
    return { ok: false, reason: "no request authenticator or shared secret to check against" };
  }
  if (!responseAuthenticatorValid(packet, request.authenticator, key)) {
    return {
      ok: false,
      reason: "the Response Authenticator is wrong (another shared secret, or forged)",
    };
  }
  if (macAt === -1) {
    return {
      ok: false,
      reason: "no Message-Authenticator (required in every reply: CVE-2024-3596)",
    };
  }
  // RFC 3579 §3.2: the reply's HMAC is over the reply with the Request Authenticator in place of
  // the Response Authenticator and the attribute's value zeroed.
  const framed = Buffer.from(packet);
  framed.set(request.authenticator, 4);
  framed.fill(0, macAt + 2, macAt + MESSAGE_AUTHENTICATOR_BYTES);
  const expected = messageAuthenticator(framed, key);
  const got = packet.subarray(macAt + 2, macAt + MESSAGE_AUTHENTICATOR_BYTES);
  if (!timingSafeEqual(expected, got)) {
    return { ok: false, reason: "the Message-Authenticator is wrong" };
  }
  return { ok: true, code, id };
}

/**
 * RFC 2865 §3: Response Authenticator = MD5(Code + Identifier + Length + Request Authenticator +
 * Attributes + secret), compared in constant time.
 */
export function responseAuthenticatorValid(
  packet: Uint8Array,
  requestAuthenticator: Uint8Array,
  secret: Uint8Array,
): boolean {
  if (packet.length < HEADER_BYTES || requestAuthenticator.length !== AUTHENTICATOR_BYTES) {
    return false;
  }
  const expected = createHash("md5")
    .update(packet.subarray(0, 4))
    .update(requestAuthenticator)
    .update(packet.subarray(HEADER_BYTES))
    .update(secret)
    .digest();
  return timingSafeEqual(expected, packet.subarray(4, HEADER_BYTES));
}

/** The Identifier of a datagram, to find the request it may answer; undefined when too short. */
export function replyIdentifier(datagram: Uint8Array): number | undefined {
  return datagram.length >= HEADER_BYTES ? datagram[1] : undefined;
}

function replyCode(code: number): ReplyCode | undefined {
  switch (code) {
    case RADIUS_CODE.accessAccept:
      return "accept";
    case RADIUS_CODE.accessReject:
      return "reject";
    case RADIUS_CODE.accessChallenge:
      return "challenge";
    default:
      return undefined;
  }
}

function attribute(type: number, value: Uint8Array): Buffer {
  const a = Buffer.alloc(2 + value.length);
  a[0] = type;
  a[1] = 2 + value.length;
  a.set(value, 2);
  return a;
}

function bytesOf(s: string | Uint8Array): Uint8Array {
  return typeof s === "string" ? Buffer.from(s, "utf8") : s;
}
