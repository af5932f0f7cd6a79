// The PNG encoder checked against the PNG specification: the signature,
// chunk lengths and CRC-32s (computed here bit by bit, not with the
// encoder's table), IHDR's fields, and IDAT inflating to filter-0 rows of the
// pixels given.

import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { crc32, encodePng } from "../src/cli/png.ts";

interface Chunk {
  type: string;
  data: Uint8Array;
  crc: number;
}

function chunks(png: Uint8Array): Chunk[] {
  const v = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const out: Chunk[] = [];
  for (let at = 8; at < png.length; ) {
    const length = v.getUint32(at);
    const type = String.fromCharCode(...png.subarray(at + 4, at + 8));
    out.push({ type, data: png.subarray(at + 8, at + 8 + length), crc: v.getUint32(at + 8 + length) });
    at += 12 + length;
  }
  return out;
}

/** CRC-32 one bit at a time (PNG spec annex D without the table). */
function bitwiseCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe("crc32", () => {
  it("gives the check value of the ISO 3309 CRC: crc32('123456789') = 0xCBF43926", () => {
    expect(crc32(new TextEncoder().encode("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });
});

describe("encodePng", () => {
  const width = 3;
  const height = 2;
  const rgba = Uint8Array.from({ length: width * height * 4 }, (_, i) => (i * 37) & 0xff);

  it("starts with the PNG signature and holds IHDR, IDAT, IEND in order with valid CRCs", () => {
    const png = encodePng(width, height, rgba);
    expect(Array.from(png.subarray(0, 8))).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    const cs = chunks(png);
    expect(cs.map((c) => c.type)).toEqual(["IHDR", "IDAT", "IEND"]);
    for (const c of cs) {
      const typed = new Uint8Array(4 + c.data.length);
      typed.set(new TextEncoder().encode(c.type));
      typed.set(c.data, 4);
      expect(c.crc).toBe(bitwiseCrc32(typed));
    }
    expect(cs[2].data.length).toBe(0);
    expect(cs[2].crc).toBe(0xae426082); // IEND's well-known CRC
  });

  it("IHDR: width, height, 8-bit RGBA, deflate, filter 0, no interlace", () => {
    const ihdr = chunks(encodePng(width, height, rgba))[0].data;
    const v = new DataView(ihdr.buffer, ihdr.byteOffset, ihdr.byteLength);
    expect(ihdr.length).toBe(13);
    expect(v.getUint32(0)).toBe(width);
    expect(v.getUint32(4)).toBe(height);
    expect(Array.from(ihdr.subarray(8))).toEqual([8, 6, 0, 0, 0]);
  });

  it("IDAT inflates to each row prefixed by filter byte 0", () => {
    const idat = chunks(encodePng(width, height, rgba))[1].data;
    const raw = new Uint8Array(inflateSync(idat));
    expect(raw.length).toBe(height * (1 + width * 4));
    for (let y = 0; y < height; y++) {
      const row = raw.subarray(y * (1 + width * 4), (y + 1) * (1 + width * 4));
      expect(row[0]).toBe(0);
      expect(Array.from(row.subarray(1))).toEqual(Array.from(rgba.subarray(y * width * 4, (y + 1) * width * 4)));
    }
  });

  it("refuses pixel data of the wrong size", () => {
    expect(() => encodePng(2, 2, new Uint8Array(15))).toThrow(RangeError);
    expect(() => encodePng(0, 2, new Uint8Array(0))).toThrow(RangeError);
  });
});
