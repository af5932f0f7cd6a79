import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { DiskError, DiskImage } from "../src/devices/disk-image.ts";

const made: string[] = [];
afterEach(() => {
  for (const f of made.splice(0)) fs.rmSync(f, { force: true, recursive: true });
});

function tempFile(content: Uint8Array): string {
  const file = path.join(os.tmpdir(), `cr3-disk-${process.pid}-${made.length}-${Date.now()}.img`);
  fs.writeFileSync(file, content);
  made.push(file);
  return file;
}

/** `sectors` sectors, sector n filled with n + 1. */
function pattern(sectors: number): Uint8Array {
  const bytes = new Uint8Array(sectors * 512);
  for (let s = 0; s < sectors; s++) bytes.fill(s + 1, s * 512, (s + 1) * 512);
  return bytes;
}

describe("DiskImage on a file", () => {
  it("reads sectors from the file", () => {
    const image = DiskImage.open(tempFile(pattern(8)));
    expect(image.sectorCount).toBe(8);
    const buf = new Uint8Array(3 * 512);
    image.read(2, 3, buf, 0);
    expect([buf[0], buf[511], buf[512], buf[1535]]).toEqual([3, 3, 4, 5]);
    image.close();
  });

  it("keeps writes in memory, as whole sectors, until flush", () => {
    const file = tempFile(pattern(8));
    const image = DiskImage.open(file);
    image.write(5, 2, new Uint8Array(1024).fill(0xaa), 0);
    image.write(1, 1, new Uint8Array(512).fill(0xbb), 0);
    expect(image.dirtySectors).toBe(3);
    expect(fs.readFileSync(file)).toEqual(Buffer.from(pattern(8)));
    // Reads see the writes, mixed with the file's sectors.
    const buf = new Uint8Array(8 * 512);
    image.read(0, 8, buf, 0);
    expect(Array.from({ length: 8 }, (_, s) => buf[s * 512])).toEqual([1, 0xbb, 3, 4, 5, 0xaa, 0xaa, 8]);
    image.flush();
    expect(image.dirtySectors).toBe(0);
    const expected = pattern(8);
    expected.fill(0xbb, 512, 1024);
    expected.fill(0xaa, 5 * 512, 7 * 512);
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(expected);
    image.close();
  });

  it("close() flushes", () => {
    const file = tempFile(pattern(2));
    const image = DiskImage.open(file);
    image.write(0, 1, new Uint8Array(512).fill(7), 0);
    image.close();
    expect(fs.readFileSync(file)[0]).toBe(7);
  });

  it("snapshot mode never writes the file, even on flush and close", () => {
    const file = tempFile(pattern(4));
    const before = fs.statSync(file).mtimeMs;
    const image = DiskImage.open(file, { snapshot: true });
    image.write(0, 4, new Uint8Array(2048).fill(0x11), 0);
    image.flush();
    const buf = new Uint8Array(512);
    image.read(3, 1, buf, 0);
    expect(buf[0]).toBe(0x11);
    image.close();
    expect(new Uint8Array(fs.readFileSync(file))).toEqual(pattern(4));
    expect(fs.statSync(file).mtimeMs).toBe(before);
  });

  it("rounds a size that is not a multiple of 512 up, as QEMU does: the tail reads zeros", () => {
    // qemu-io on a 1000-byte raw file: length 1 KiB; a write at 512 grows it to 1024.
    const file = tempFile(new Uint8Array(1000).fill(0x33));
    const image = DiskImage.open(file);
    expect(image.sectorCount).toBe(2);
    const buf = new Uint8Array(512).fill(0xff);
    image.read(1, 1, buf, 0);
    expect(buf[487]).toBe(0x33);
    expect(buf.subarray(488).every((b) => b === 0)).toBe(true);
    image.write(1, 1, new Uint8Array(512).fill(0x44), 0);
    image.close();
    const after = fs.readFileSync(file);
    expect(after.length).toBe(1024);
    expect(after[1023]).toBe(0x44);
  });

  it("read-only media refuse writes", () => {
    const file = tempFile(pattern(2));
    const image = DiskImage.open(file, { readOnly: true });
    expect(image.write(0, 1, new Uint8Array(512), 0)).toBe(false);
    expect(image.dirtySectors).toBe(0);
    image.close();
  });

  it("contains() bounds the sectors", () => {
    const image = DiskImage.blank(10);
    expect(image.contains(0, 10)).toBe(true);
    expect(image.contains(9, 2)).toBe(false);
    expect(image.contains(-1, 1)).toBe(false);
  });
});

describe("DiskImage errors", () => {
  it("a missing file is a DiskError naming it", () => {
    const missing = path.join(os.tmpdir(), "cr3-no-such-image.img");
    expect(() => DiskImage.open(missing)).toThrow(DiskError);
    expect(() => DiskImage.open(missing)).toThrow(`could not open disk image '${missing}': no such file`);
  });

  it("a directory is refused", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "cr3-dir-"));
    made.push(dir);
    expect(() => DiskImage.open(dir, { snapshot: true })).toThrow(/not a regular file|is a directory/);
  });

  // QEMU: "Could not open 'ro.img': Permission denied" unless snapshot=on.
  // Root may write any file: as root, the check runs as the user nobody.
  it("a file the user may not write needs snapshot mode", (ctx) => {
    const file = tempFile(pattern(2));
    fs.chmodSync(file, 0o444);
    const script = `
      import { DiskImage } from ${JSON.stringify(path.resolve("src/devices/disk-image.ts"))};
      let refused = "";
      try { DiskImage.open(${JSON.stringify(file)}); } catch (e) { refused = e.message; }
      const image = DiskImage.open(${JSON.stringify(file)}, { snapshot: true });
      console.log(JSON.stringify({ refused, sectors: image.sectorCount }));
      image.close();`;
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], { encoding: "utf8", ...asNobody });
    if (run.status !== 0 && "uid" in asNobody && !run.stdout.includes("refused")) {
      // The checkout itself is closed to nobody (e.g. under /root): nothing here can run as another user.
      ctx.skip();
    }
    expect(run.status, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { refused: string; sectors: number };
    expect(result.refused).toMatch(/permission denied \(add snapshot=on or -snapshot/);
    expect(result.sectors).toBe(2);
  });
});

describe("DiskImage in memory", () => {
  it("fromBytes copies and rounds up; writes land directly", () => {
    const source = new Uint8Array(600).fill(5);
    const image = DiskImage.fromBytes(source);
    expect(image.sectorCount).toBe(2);
    image.write(0, 1, new Uint8Array(512).fill(6), 0);
    expect(source[0]).toBe(5);
    const buf = new Uint8Array(1024);
    image.read(0, 2, buf, 0);
    expect([buf[0], buf[512], buf[599], buf[600]]).toEqual([6, 5, 5, 0]);
    expect(image.dirtySectors).toBe(0);
  });
});
