/** Password hashing: PBKDF2 format, per-hash salt, any printable characters, malformed hashes never match. */
import { describe, expect, it } from "vitest";
import { hashPassword, PBKDF2_ITERATIONS, timingSafeEqual, verifyPassword } from "./password";

describe("password hashing", () => {
  it("hashes with PBKDF2-SHA256, 100k iterations and a fresh 16-byte salt", async () => {
    const pw = `p@ss w0rd!#$%^&*()"'\\`;
    const a = await hashPassword(pw);
    const b = await hashPassword(pw);
    expect(a).toMatch(/^pbkdf2-sha256\$100000\$[A-Za-z0-9+/=]{24}\$[A-Za-z0-9+/=]{44}$/);
    expect(PBKDF2_ITERATIONS).toBe(100_000);
    expect(a).not.toBe(b);
    expect(await verifyPassword(pw, a)).toBe(true);
    expect(await verifyPassword(`${pw} `, a)).toBe(false);
  });

  it("treats NFC and NFD forms of the same unicode password as equal", async () => {
    const hash = await hashPassword("caf\u00e9 au lait");
    expect(await verifyPassword("cafe\u0301 au lait", hash)).toBe(true);
  });

  it("never matches malformed stored values", async () => {
    for (const stored of ["", "plain", "bcrypt$10$x$y", "pbkdf2-sha256$abc$AAAA$AAAA", "pbkdf2-sha256$1000000$AAAA$AAAA", "pbkdf2-sha256$1000$!!$??"]) {
      expect(await verifyPassword("whatever-123", stored)).toBe(false);
    }
  });

  it("compares in constant time including length", () => {
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false);
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2, 0]))).toBe(false);
  });
});
