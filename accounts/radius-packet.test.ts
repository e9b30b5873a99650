import { createHash, createHmac } from "node:crypto";
import { describe, expect, it } from "vitest";
import {
  decodeReply,
  encodeAccessRequest,
  hidePassword,
  newAuthenticator,
  responseAuthenticatorValid,
} from "./radius-packet.js";

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ""), "hex");

/** RFC 2865 §7.1, "User Telnet to Specified Host". */
const RFC = {
  secret: "xyzzy5461",
  authenticator: hex("0f403f9473978057bd83d5cb98f4227a"),
  password: "arctangent",
  /** The User-Password attribute of the RFC's Access-Request (type 2, length 18, hidden value). */
  hiddenAttribute: hex("02 12 0d be 70 8d 93 d4 13 ce 31 96 e4 3f 78 2a 0a ee"),
  /** The RFC's Access-Accept to it (no Message-Authenticator: RFC 2865 predates it). */
  accept: hex(`02 00 00 26 86 fe 22 0e 76 24 ba 2a 10 05 f6 bf 9b 55 e0 b2 06 06 00 00 00 01
    0f 06 00 00 00 00 0e 06 c0 a8 01 03`),
};

describe("encodeAccessRequest", () => {
  it("hides the password as RFC 2865 §7.1 shows", () => {
    const hidden = hidePassword(
      Buffer.from(RFC.password),
      Buffer.from(RFC.secret),
      RFC.authenticator,
    );
    expect(hidden).toEqual(RFC.hiddenAttribute.subarray(2));
  });

  it("writes Message-Authenticator first, then User-Name, User-Password and NAS-Identifier", () => {
    const encoded = encodeAccessRequest({
      id: 0,
      authenticator: RFC.authenticator,
      user: "nemo",
      password: RFC.password,
      secret: RFC.secret,
    });
    // Built by hand from RFC 2865 §3/§5 and RFC 3579 §3.2; the HMAC-MD5 computed by openssl:
    //   echo -n 01000049 0f40..227a 5012 00..00 01066e656d6f 0212 0dbe..0aee 200b 666c..79 |
    //   xxd -r -p | openssl dgst -md5 -mac HMAC -macopt key:xyzzy5461
    expect(encoded).toEqual({
      ok: true,
      packet: hex(`01 00 00 49 0f403f9473978057bd83d5cb98f4227a
        50 12 18121b3fd51478e3769fd0f6f298377d
        01 06 6e656d6f
        02 12 0dbe708d93d413ce3196e43f782a0aee
        20 0b 666c6f7774616c6c79`),
    });
  });

  it("pads a password to the next multiple of 16 bytes, chaining the blocks", () => {
    const secret = Buffer.from("s3cret");
    const auth = Buffer.alloc(16, 7);
    for (const [length, hiddenLength] of [
      [1, 16],
      [16, 16],
      [17, 32],
      [100, 112],
      [128, 128],
    ] as const) {
      const password = Buffer.alloc(length, 0x61);
      const hidden = hidePassword(password, secret, auth);
      expect(hidden.length, `${length}`).toBe(hiddenLength);
      // Undo it by RFC 2865 §5.2's recipe: b(i) = MD5(S + c(i-1)), p(i) = c(i) xor b(i).
      const plain = Buffer.alloc(hidden.length);
      let previous: Buffer = auth;
      for (let at = 0; at < hidden.length; at += 16) {
        const b = createHash("md5").update(secret).update(previous).digest();
        for (let i = 0; i < 16; i++) plain[at + i] = hidden[at + i]! ^ b[i]!;
        previous = hidden.subarray(at, at + 16);
      }
      expect(plain).toEqual(Buffer.concat([password, Buffer.alloc(hiddenLength - length)]));
    }
  });

  it("refuses what cannot be sent, with a reason", () => {
    const base = {
      id: 1,
      authenticator: newAuthenticator(),
      user: "u",
      password: "p",
      secret: "s",
    };
    const reason = (over: Partial<typeof base>) => {
      const r = encodeAccessRequest({ ...base, ...over });
      return r.ok ? "ok" : r.reason;
    };
    expect(reason({})).toBe("ok");
    expect(reason({ password: "é".repeat(64) })).toBe("ok"); // 128 bytes
    expect(reason({ password: `${"é".repeat(64)}x` })).toMatch(/password is longer than 128/);
    expect(reason({ password: "" })).toMatch(/password is empty/);
    expect(reason({ user: "" })).toMatch(/user name is empty/);
    expect(reason({ user: "u".repeat(254) })).toMatch(/longer than 253/);
    expect(reason({ secret: "" })).toMatch(/secret is empty/);
    expect(reason({ id: 256 })).toMatch(/identifier/);
    expect(reason({ authenticator: Buffer.alloc(15) })).toMatch(/authenticator/);
  });

  it("makes a new random authenticator each time", () => {
    const a = newAuthenticator();
    expect(a.length).toBe(16);
    expect(newAuthenticator().equals(a)).toBe(false);
  });
});

/**
 * A reply as a server makes it (RFC 2865 §3, RFC 3579 §3.2), written here from the RFCs:
 * Message-Authenticator (unless left out) over the packet with the Request Authenticator, then
 * the Response Authenticator over it all.
 */
function reply(
  code: number,
  id: number,
  requestAuth: Uint8Array,
  secret: string,
  options: { mac?: boolean; extra?: Buffer } = {},
): Buffer {
  const attrs = Buffer.concat([
    options.mac === false ? Buffer.alloc(0) : Buffer.from([80, 18, ...Buffer.alloc(16)]),
    options.extra ?? Buffer.alloc(0),
  ]);
  const p = Buffer.concat([Buffer.from([code, id, 0, 0]), Buffer.from(requestAuth), attrs]);
  p.writeUInt16BE(p.length, 2);
  if (options.mac !== false) {
    createHmac("md5", secret).update(p).digest().copy(p, 22);
  }
  const resp = createHash("md5").update(p.subarray(0, 4)).update(requestAuth);
  resp.update(p.subarray(20)).update(secret);
  resp.digest().copy(p, 4);
  return p;
}

describe("decodeReply", () => {
  const request = { id: 0, authenticator: RFC.authenticator };

  it("takes an Access-Accept made by openssl from the RFCs' recipes", () => {
    // The Message-Authenticator and the Response Authenticator computed with openssl dgst
    // -md5 [-mac HMAC -macopt key:xyzzy5461] over the bytes RFC 3579 §3.2 and RFC 2865 §3 name.
    const accept = hex(`02 00 00 26 134f4ca467a2eda4402b4785511e0d71
      50 12 0a7bc8350fccc4a9e8c3b8bc189a1a94`);
    expect(decodeReply(accept, request, RFC.secret)).toEqual({ ok: true, code: "accept", id: 0 });
    expect(reply(2, 0, RFC.authenticator, RFC.secret)).toEqual(accept);
  });

  it("checks the RFC 2865 §7.1 Access-Accept's Response Authenticator, then drops it for want of a Message-Authenticator", () => {
    expect(responseAuthenticatorValid(RFC.accept, RFC.authenticator, Buffer.from(RFC.secret))).toBe(
      true,
    );
    expect(
      responseAuthenticatorValid(RFC.accept, RFC.authenticator, Buffer.from("xyzzy5462")),
    ).toBe(false);
    expect(decodeReply(RFC.accept, request, RFC.secret)).toEqual({
      ok: false,
      reason: "no Message-Authenticator (required in every reply: CVE-2024-3596)",
    });
  });

  it("reads Accept, Reject and Challenge; refuses other codes", () => {
    const auth = newAuthenticator();
    const req = { id: 42, authenticator: auth };
    expect(decodeReply(reply(2, 42, auth, "k"), req, "k")).toEqual({
      ok: true,
      code: "accept",
      id: 42,
    });
    expect(decodeReply(reply(3, 42, auth, "k"), req, "k")).toMatchObject({ code: "reject" });
    expect(decodeReply(reply(11, 42, auth, "k"), req, "k")).toMatchObject({ code: "challenge" });
    expect(decodeReply(reply(1, 42, auth, "k"), req, "k")).toEqual({
      ok: false,
      reason: "code 1 is not a reply",
    });
    expect(decodeReply(reply(5, 42, auth, "k"), req, "k")).toMatchObject({ ok: false });
  });

  it("refuses another identifier, another secret, another request's authenticator", () => {
    const auth = newAuthenticator();
    const good = reply(2, 7, auth, "k");
    expect(decodeReply(good, { id: 8, authenticator: auth }, "k")).toEqual({
      ok: false,
      reason: "identifier 7 is not the request's 8",
    });
    expect(decodeReply(good, { id: 7, authenticator: auth }, "K")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Response Authenticator is wrong/),
    });
    expect(decodeReply(good, { id: 7, authenticator: newAuthenticator() }, "k")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/Response Authenticator is wrong/),
    });
  });

  it("refuses a reply whose Message-Authenticator is wrong though its Response Authenticator is right", () => {
    const auth = newAuthenticator();
    const p = reply(2, 1, auth, "k");
    p[30] = p[30]! ^ 1; // inside the HMAC
    // Sign it again so that only the Message-Authenticator is wrong.
    const resp = createHash("md5").update(p.subarray(0, 4)).update(auth);
    resp.update(p.subarray(20)).update("k").digest().copy(p, 4);
    expect(decodeReply(p, { id: 1, authenticator: auth }, "k")).toEqual({
      ok: false,
      reason: "the Message-Authenticator is wrong",
    });
  });

  it("refuses a reply without Message-Authenticator, or with two", () => {
    const auth = newAuthenticator();
    const req = { id: 1, authenticator: auth };
    expect(decodeReply(reply(2, 1, auth, "k", { mac: false }), req, "k")).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/no Message-Authenticator/),
    });
    const two = reply(2, 1, auth, "k", { extra: Buffer.from([80, 18, ...Buffer.alloc(16)]) });
    expect(decodeReply(two, req, "k")).toEqual({
      ok: false,
      reason: "more than one Message-Authenticator",
    });
  });

  it("ignores padding after the packet's length", () => {
    const auth = newAuthenticator();
    const padded = Buffer.concat([reply(3, 9, auth, "k"), Buffer.from([1, 2, 3])]);
    expect(decodeReply(padded, { id: 9, authenticator: auth }, "k")).toMatchObject({
      ok: true,
      code: "reject",
    });
  });

  it("never throws on malformed datagrams", () => {
    const auth = newAuthenticator();
    const req = { id: 3, authenticator: auth };
    const good = reply(2, 3, auth, "k", { extra: Buffer.from([18, 5, 104, 105, 33]) });
    const reason = (d: Uint8Array) => {
      const r = decodeReply(d, req, "k");
      return r.ok ? "ok" : r.reason;
    };
    expect(reason(good)).toBe("ok");
    expect(reason(Buffer.alloc(0))).toMatch(/^truncated: 0 bytes/);
    expect(reason(good.subarray(0, 19))).toMatch(/^truncated: 19 bytes/);
    expect(reason(good.subarray(0, good.length - 1))).toMatch(/^truncated: length says 43/);
    const withLength = (n: number) => {
      const p = Buffer.from(good);
      p.writeUInt16BE(n, 2);
      return p;
    };
    expect(reason(withLength(19))).toBe("bad length 19: not 20 to 4096");
    expect(reason(withLength(5000))).toBe("bad length 5000: not 20 to 4096");
    // An attribute that runs past the packet, one of length 0 (a loop), one of length 1.
    const at = (offset: number, value: number) => {
      const p = Buffer.from(good);
      p[offset] = value;
      return p;
    };
    expect(reason(at(39, 6))).toMatch(/attribute 18 at byte 38 has bad length 6/);
    expect(reason(at(39, 0))).toMatch(/bad length 0/);
    expect(reason(at(39, 1))).toMatch(/bad length 1/);
    expect(reason(at(21, 17))).toMatch(/Message-Authenticator has length 17/);
    // A lone byte where an attribute header should be: length 21 packet of 21 bytes.
    const cut = Buffer.concat([good.subarray(0, 20), Buffer.from([1])]);
    cut.writeUInt16BE(21, 2);
    expect(reason(cut)).toMatch(/attribute at byte 20 is cut off/);
    // Random bytes, random lengths: a reason every time, never a throw, never a false accept.
    let seed = 12345;
    const next = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let k = 0; k < 2000; k++) {
      const d = Buffer.alloc(next() % 80);
      for (let i = 0; i < d.length; i++) d[i] = next() & 0xff;
      if (d.length >= 4 && k % 2 === 0) {
        d[1] = 3;
        d.writeUInt16BE(d.length, 2);
      }
      expect(decodeReply(d, req, "k").ok).toBe(false);
    }
  });
});
