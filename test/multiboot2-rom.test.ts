// The multiboot2 test ROM (test-roms/multiboot2) paints its 1024x768x32
// framebuffer in four quadrants: red top left, green top right, blue bottom
// left, white bottom right (multiboot2_rom.c, draw_quadrants). Its serial
// output is checked against the GRUB-under-QEMU golden by roms-cr3.test.ts;
// this looks at what it drew, through cr3's --screenshot PNG, which QEMU's
// serial golden cannot show.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inflateSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { qemuCommand } from "../scripts/rom-tools.ts";

interface DecodedPng {
  width: number;
  height: number;
  /** RGBA, rows top to bottom. */
  rgba: Uint8Array;
}

/**
 * Decodes the PNGs src/cli/png.ts writes (PNG specification, W3C second
 * edition): 8-bit RGBA (colour type 6), no interlace, IDAT chunks holding a
 * zlib stream of rows that each start with filter type 0 (None). Anything
 * else is refused rather than misread.
 */
function decodePng(file: Uint8Array): DecodedPng {
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  expect(Array.from(file.subarray(0, 8)), "PNG signature").toEqual(signature);
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  let width = 0;
  let height = 0;
  const idat: Uint8Array[] = [];
  for (let at = 8; at + 12 <= file.length; ) {
    const length = view.getUint32(at);
    const type = String.fromCharCode(...file.subarray(at + 4, at + 8));
    const data = file.subarray(at + 8, at + 8 + length);
    if (type === "IHDR") {
      width = view.getUint32(at + 8);
      height = view.getUint32(at + 12);
      expect(Array.from(data.subarray(8, 13)), "IHDR: bit depth 8, colour type 6, deflate, filter 0, no interlace").toEqual([8, 6, 0, 0, 0]);
    } else if (type === "IDAT") {
      idat.push(data);
    } else if (type === "IEND") {
      break;
    }
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const rowBytes = width * 4;
  expect(raw.length, "inflated size: one filter byte and width*4 bytes per row").toBe((rowBytes + 1) * height);
  const rgba = new Uint8Array(rowBytes * height);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (rowBytes + 1)], `row ${y}: filter type 0`).toBe(0);
    rgba.set(raw.subarray(y * (rowBytes + 1) + 1, (y + 1) * (rowBytes + 1)), y * rowBytes);
  }
  return { width, height, rgba };
}

function rgbAt(png: DecodedPng, x: number, y: number): string {
  const i = (y * png.width + x) * 4;
  const hex = (v: number): string => v.toString(16).padStart(2, "0");
  return `#${hex(png.rgba[i])}${hex(png.rgba[i + 1])}${hex(png.rgba[i + 2])}`;
}

describe("the multiboot2 ROM under cr3", () => {
  it("paints red, green, blue and white quadrants in the 1024x768 framebuffer it asked for", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-multiboot2-"));
    try {
      const screenshot = join(dir, "screen.png");
      const run = spawnSync(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", ...qemuCommand("multiboot2"), "-display", "none", "--timeout", "150", "--screenshot", screenshot],
        { encoding: "latin1", maxBuffer: 16 << 20 },
      );
      expect(run.stdout, run.stderr).toContain("framebuffer: quadrants red green / blue white drawn, read back ok\n");
      expect(run.status, run.stderr).toBe(1); // isa-debug-exit with 0

      const png = decodePng(readFileSync(screenshot));
      expect([png.width, png.height]).toEqual([1024, 768]);
      const red = "#ff0000", green = "#00ff00", blue = "#0000ff", white = "#ffffff";
      const expected: Array<[number, number, string]> = [
        [0, 0, red],
        [256, 192, red],
        [511, 383, red],
        [512, 0, green],
        [768, 192, green],
        [1023, 383, green],
        [0, 384, blue],
        [256, 576, blue],
        [511, 767, blue],
        [512, 384, white],
        [768, 576, white],
        [1023, 767, white],
      ];
      for (const [x, y, colour] of expected) expect(rgbAt(png, x, y), `pixel (${x}, ${y})`).toBe(colour);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
