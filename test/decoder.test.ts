// The instruction decoder: hand-written cases for the tricky encodings, then
// binutils' objdump as an oracle for instruction lengths on the ROM images.

import { spawnSync } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { parseElf } from "../src/boot/elf.ts";
import {
  DECODE_INCOMPLETE,
  DECODE_INVALID,
  DECODE_TOO_LONG,
  DECODE_UNSUPPORTED,
  DecodedInstruction,
  decode,
} from "../src/cpu/decoder.ts";

const out = new DecodedInstruction();

function hex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  const a = new Uint8Array(clean.length / 2);
  for (let i = 0; i < a.length; i++) a[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return a;
}

function dec(s: string, mode: 16 | 32 | 64 = 64): number {
  return decode(hex(s), 0, mode, out);
}

describe("decode: ModRM and SIB", () => {
  it("SIB with no base: mod=00, base=101 takes a disp32", () => {
    // mov eax, [rcx*4 + 0x12345678]
    expect(dec("8b 04 8d 78 56 34 12")).toBe(7);
    expect(out).toMatchObject({ hasModrm: 1, mod: 0, reg: 0, hasSib: 1, scale: 4, index: 1, base: -1, ripRelative: 0 });
    expect(out).toMatchObject({ displacement: 0x12345678, displacementSize: 4 });
    // no base and no index (index 100): [disp32] absolute
    expect(dec("8b 04 25 f0 ff ff ff")).toBe(7);
    expect(out).toMatchObject({ index: -1, base: -1, displacement: -16, ripRelative: 0 });
  });

  it("RIP-relative: mod=00, rm=101 in 64-bit mode (REX.B does not change it), absolute disp32 in 32-bit mode", () => {
    expect(dec("8b 05 10 00 00 00")).toBe(6);
    expect(out).toMatchObject({ ripRelative: 1, base: -1, index: -1, displacement: 16, displacementSize: 4 });
    expect(dec("41 8b 05 10 00 00 00")).toBe(7);
    expect(out).toMatchObject({ ripRelative: 1, base: -1, rexB: 1 });
    expect(dec("8b 05 10 00 00 00", 32)).toBe(6);
    expect(out).toMatchObject({ ripRelative: 0, base: -1, displacement: 16 });
  });

  it("r12 as a base needs a SIB, r13 as a base needs a displacement", () => {
    // mov rax, [r12]: 49 8b 04 24
    expect(dec("49 8b 04 24")).toBe(4);
    expect(out).toMatchObject({ rexW: 1, rexB: 1, hasSib: 1, base: 12, index: -1, displacementSize: 0, operandSize: 8 });
    // mov rax, [r13+0]: 49 8b 45 00
    expect(dec("49 8b 45 00")).toBe(4);
    expect(out).toMatchObject({ hasSib: 0, base: 13, displacement: 0, displacementSize: 1, ripRelative: 0 });
    // SIB base 101 with mod=00 and REX.B: still no base (disp32), not r13
    expect(dec("41 8b 04 2d 00 01 00 00")).toBe(8);
    expect(out).toMatchObject({ base: -1, index: 5, displacement: 0x100 });
    // REX.X makes index 100 mean r12
    expect(dec("42 8b 04 20")).toBe(4);
    expect(out).toMatchObject({ index: 12, base: 0, rexX: 1 });
  });

  it("16-bit addressing: no SIB, rm=110 with mod=00 is disp16", () => {
    expect(dec("8b 06 34 12", 16)).toBe(4);
    expect(out).toMatchObject({ addressSize: 2, operandSize: 2, base: -1, index: -1, displacement: 0x1234, displacementSize: 2 });
    expect(dec("8b 40 fe", 16)).toBe(3); // [bx+si-2]
    expect(out).toMatchObject({ base: 3, index: 6, displacement: -2 });
    expect(dec("67 8b 04 24", 32)).toBe(3); // 16-bit addressing: rm=100 is [si], no SIB
    expect(out).toMatchObject({ hasSib: 0, base: -1, index: 6, addressSize: 2 });
    expect(dec("67 8b 04 24", 16)).toBe(4); // 32-bit addressing in 16-bit mode: SIB
    expect(out).toMatchObject({ hasSib: 1, base: 4, addressSize: 4 });
  });

  it("MOV to/from CRn ignores mod: no displacement", () => {
    expect(dec("0f 20 05")).toBe(3);
    expect(out).toMatchObject({ mod: 3, reg: 0, rm: 5, displacementSize: 0, operandSize: 8 });
  });
});

describe("decode: prefixes and REX", () => {
  it("REX is only reported: 88 e0 is mov al, ah; 40 88 e0 is mov al, spl", () => {
    expect(dec("88 e0")).toBe(2);
    expect(out).toMatchObject({ rex: 0, reg: 4, rm: 0, operandSize: 1 });
    expect(dec("40 88 e0")).toBe(3);
    expect(out).toMatchObject({ rex: 0x40, rexW: 0, rexR: 0, rexX: 0, rexB: 0, reg: 4, rm: 0, operandSize: 1 });
  });

  it("66 with REX.W: W wins", () => {
    expect(dec("66 48 01 c8")).toBe(4);
    expect(out).toMatchObject({ operandSizeOverride: 1, rexW: 1, operandSize: 8 });
    expect(dec("66 01 c8")).toBe(3);
    expect(out.operandSize).toBe(2);
    expect(dec("66 48 c7 c0 ff ff ff ff")).toBe(8); // imm32 stays 4 bytes with REX.W
    expect(out).toMatchObject({ immediateSize: 4, immediateLo: -1, immediateHi: -1 });
  });

  it("REX counts only right before the opcode", () => {
    // 48 66 01 c8: the REX is followed by a prefix, so it is ignored
    expect(dec("48 66 01 c8")).toBe(4);
    expect(out).toMatchObject({ rex: 0, rexW: 0, operandSize: 2 });
    // two REX bytes: the last one counts
    expect(dec("48 41 01 c8")).toBe(4);
    expect(out).toMatchObject({ rex: 0x41, rexW: 0, rexB: 1, rm: 8, operandSize: 4 });
    // 40-4F are INC/DEC outside 64-bit mode
    expect(dec("48", 32)).toBe(1);
    expect(out).toMatchObject({ opcode: 0x48, rex: 0 });
  });

  it("legacy prefixes in any order, repeated; the last segment override wins", () => {
    expect(dec("f3 64 66 2e 3e 26 66 a5")).toBe(8);
    expect(out).toMatchObject({ rep: 1, repne: 0, segment: 0, operandSizeOverride: 1, operandSize: 2, opcode: 0xa5 });
    expect(dec("65 f2 ae")).toBe(3);
    expect(out).toMatchObject({ repne: 1, segment: 5, operandSize: 1 });
  });

  it("NOTRACK is a DS override; ENDBR64/ENDBR32 are F3 0F 1E FA/FB", () => {
    expect(dec("3e ff e0")).toBe(3);
    expect(out).toMatchObject({ segment: 3, opcode: 0xff, reg: 4, operandSize: 8 });
    expect(dec("f3 0f 1e fa")).toBe(4);
    expect(out).toMatchObject({ rep: 1, map: 1, opcode: 0x1e, mod: 3, reg: 7, rm: 2 });
    expect(dec("f3 0f 1e fb", 32)).toBe(4);
  });

  it("the 15-byte limit: 15 is fine, 16 is #GP", () => {
    // prefixes + C7 /0 [rax+disp32], imm32: 5 + 1 + 1 + 4 + 4 = 15 bytes
    expect(dec("66".repeat(14) + "90")).toBe(15);
    expect(dec("66".repeat(15) + "90")).toBe(DECODE_TOO_LONG);
    expect(dec("66".repeat(10) + "81 80 00 00 00 00 01 00")).toBe(DECODE_TOO_LONG);
    expect(dec("66".repeat(9) + "48 81 80 00 00 00 00 01 00 00 00")).toBe(DECODE_TOO_LONG);
    expect(dec("26".repeat(6) + "c7 80 00 00 00 00 01 00 00 00")).toBe(DECODE_TOO_LONG);
    expect(dec("26".repeat(5) + "c7 80 00 00 00 00 01 00 00 00")).toBe(15);
  });

  it("incomplete buffers ask for more bytes at every stage", () => {
    const full = "f0 48 81 84 88 44 33 22 11 78 56 34 12"; // lock add qword [rax+rcx*4+0x11223344], 0x12345678
    expect(dec(full)).toBe(13);
    const bytes = hex(full);
    for (let n = 0; n < 13; n++) expect(decode(bytes.subarray(0, n), 0, 64, out)).toBe(DECODE_INCOMPLETE);
    // an offset into a larger buffer
    const two = hex("90 " + full);
    expect(decode(two, 1, 64, out)).toBe(13);
    expect(decode(two.subarray(0, 13), 1, 64, out)).toBe(DECODE_INCOMPLETE);
  });
});

describe("decode: immediates", () => {
  it("mov moffs: 8-byte offset in 64-bit mode, 4 with 67; 4 / 2 in 32-bit mode", () => {
    expect(dec("a1 88 77 66 55 44 33 22 11")).toBe(9);
    expect(out).toMatchObject({ immediateSize: 8, immediateLo: 0x55667788, immediateHi: 0x11223344, addressSize: 8, operandSize: 4, hasModrm: 0 });
    expect(dec("67 a0 f0 ff ff ff")).toBe(6);
    expect(out).toMatchObject({ immediateSize: 4, immediateLo: -16, immediateHi: 0, addressSize: 4, operandSize: 1 });
    expect(dec("48 a3 00 00 00 00 00 00 00 80")).toBe(10);
    expect(out).toMatchObject({ operandSize: 8, immediateHi: 0x80000000 | 0 });
    expect(dec("a1 00 10 00 00", 32)).toBe(5);
    expect(dec("67 a1 00 10", 32)).toBe(4);
    expect(dec("a1 00 10", 16)).toBe(3);
  });

  it("B8+r: imm64 with REX.W, imm32 without, imm16 with 66", () => {
    expect(dec("48 b8 ef cd ab 89 67 45 23 01")).toBe(10);
    expect(out).toMatchObject({ operandSize: 8, immediateSize: 8, immediateLo: 0x89abcdef | 0, immediateHi: 0x01234567 });
    expect(dec("49 bf 00 00 00 00 00 00 00 00")).toBe(10);
    expect(dec("b8 00 00 00 80")).toBe(5);
    expect(dec("66 b8 00 80")).toBe(4);
    expect(out).toMatchObject({ operandSize: 2, immediateSize: 2 });
  });

  it("sign extension: imm8 of 83, imm32 of REX.W 81/C7, rel8/rel32; zero extension for ports, vectors, counts", () => {
    expect(dec("48 83 c0 ff")).toBe(4);
    expect(out).toMatchObject({ immediateLo: -1, immediateHi: -1, immediateSize: 1 });
    expect(dec("48 81 c0 00 00 00 80")).toBe(7);
    expect(out).toMatchObject({ immediateLo: 0x80000000 | 0, immediateHi: -1 });
    expect(dec("eb fe")).toBe(2);
    expect(out).toMatchObject({ immediateLo: -2, immediateSize: 1, operandSize: 8 });
    expect(dec("e8 fb ff ff ff")).toBe(5);
    expect(out).toMatchObject({ immediateLo: -5, immediateSize: 4, operandSize: 8 });
    expect(dec("0f 84 00 01 00 00")).toBe(6);
    expect(out).toMatchObject({ map: 1, opcode: 0x84, immediateLo: 0x100 });
    expect(dec("e4 ff")).toBe(2);
    expect(out).toMatchObject({ immediateLo: 0xff, immediateHi: 0 });
    expect(dec("cd 80")).toBe(2);
    expect(out.immediateLo).toBe(0x80);
    expect(dec("c1 e0 ff")).toBe(3);
    expect(out.immediateLo).toBe(0xff);
  });

  it("ENTER (imm16, imm8), RET/RETF imm16", () => {
    expect(dec("c8 10 20 03")).toBe(4);
    expect(out).toMatchObject({ immediateLo: 0x2010, immediateSize: 2, immediate2: 3, immediate2Size: 1, operandSize: 8 });
    expect(dec("c2 08 80")).toBe(3);
    expect(out).toMatchObject({ immediateLo: 0x8008, immediateSize: 2 });
    expect(dec("ca 08 00")).toBe(3);
  });

  it("group 3: F6/F7 /0 and /1 take an immediate, the others none", () => {
    expect(dec("f6 c1 01")).toBe(3); // test cl, 1
    expect(dec("f6 c9 01")).toBe(3); // /1, an alias of test
    expect(dec("f6 d1")).toBe(2); // not cl
    expect(dec("f7 c1 01 00 00 00")).toBe(6);
    expect(dec("66 f7 c1 01 00")).toBe(5);
    expect(dec("48 f7 f1")).toBe(3); // div rcx
  });

  it("0F map immediates: BA group, SHLD/SHRD imm8, 0F 3A imm8, 0F 38 ModRM only", () => {
    expect(dec("0f ba e0 05")).toBe(4);
    expect(dec("0f a4 c8 03")).toBe(4);
    expect(dec("0f ac c8 03")).toBe(4);
    expect(dec("0f a5 c8")).toBe(3);
    expect(dec("66 0f 3a 0f c1 08")).toBe(6); // palignr xmm0, xmm1, 8
    expect(out).toMatchObject({ map: 3, opcode: 0x0f, immediateSize: 1 });
    expect(dec("66 0f 38 00 04 24")).toBe(6); // pshufb xmm0, [rsp]
    expect(out).toMatchObject({ map: 2, opcode: 0x00, hasSib: 1, immediateSize: 0 });
    expect(dec("0f 0b")).toBe(2); // UD2 decodes
  });

  it("near branches and stack operations default to 64 bits; 66 gives 16 on push/pop, not on branches (Intel)", () => {
    expect(dec("50")).toBe(1);
    expect(out.operandSize).toBe(8);
    expect(dec("66 50")).toBe(2);
    expect(out.operandSize).toBe(2);
    expect(dec("6a ff")).toBe(2);
    expect(out.operandSize).toBe(8);
    expect(dec("66 68 34 12")).toBe(4);
    expect(out).toMatchObject({ operandSize: 2, immediateSize: 2 });
    expect(dec("ff 35 00 00 00 00")).toBe(6); // push [rip]
    expect(out.operandSize).toBe(8);
    expect(dec("ff d0")).toBe(2); // call rax
    expect(out.operandSize).toBe(8);
    expect(dec("ff 10", 32)).toBe(2);
    expect(out.operandSize).toBe(4);
    // Intel SDM (JMP, CALL, Jcc): in 64-bit mode 66 does not shrink a near
    // branch, rel stays 32 bits. (objdump's default AMD64 syntax reads rel16.)
    expect(dec("66 e9 00 00 00 00")).toBe(6);
    expect(out.operandSize).toBe(8);
    expect(dec("66 e9 00 00", 32)).toBe(4);
  });

  it("far pointers outside 64-bit mode", () => {
    expect(dec("ea 78 56 34 12 08 00", 32)).toBe(7);
    expect(out).toMatchObject({ immediateLo: 0x12345678, immediate2: 8, immediate2Size: 2 });
    expect(dec("ea 78 56 08 00", 16)).toBe(5);
  });
});

describe("decode: invalid and unsupported encodings", () => {
  it("opcodes invalid in 64-bit mode are #UD there and valid elsewhere", () => {
    for (const op of ["06", "07", "0e", "16", "17", "1e", "1f", "27", "2f", "37", "3f", "60", "61", "ce", "d6"]) {
      expect(dec(op), op).toBe(DECODE_INVALID);
      expect(dec(op, 32), op).toBe(1);
    }
    expect(dec("62 00")).toBe(DECODE_INVALID);
    expect(dec("62 00", 32)).toBe(2); // BOUND
    expect(dec("82 c0 01")).toBe(DECODE_INVALID);
    expect(dec("82 c0 01", 32)).toBe(3);
    expect(dec("9a 00 00 00 00 08 00")).toBe(DECODE_INVALID);
    expect(dec("ea 00 00 00 00 08 00")).toBe(DECODE_INVALID);
    expect(dec("d4 0a")).toBe(DECODE_INVALID);
    expect(dec("d5 0a")).toBe(DECODE_INVALID);
    expect(dec("d4 0a", 32)).toBe(2);
    expect(dec("0f 04")).toBe(DECODE_INVALID);
    expect(dec("ff ff")).toBe(DECODE_INVALID);
  });

  it("LOCK: #UD with a register destination or a non-lockable instruction", () => {
    expect(dec("f0 01 c3")).toBe(DECODE_INVALID); // lock add ebx, eax
    expect(dec("f0 01 03")).toBe(3); // lock add [rbx], eax
    expect(dec("f0 39 03")).toBe(DECODE_INVALID); // cmp is not lockable
    expect(dec("f0 83 38 01")).toBe(DECODE_INVALID); // 83 /7 cmp
    expect(dec("f0 83 30 01")).toBe(4); // 83 /6 xor
    expect(dec("f0 90")).toBe(DECODE_INVALID);
    expect(dec("f0 8b 03")).toBe(DECODE_INVALID); // mov
    expect(dec("f0 48 0f b1 0b")).toBe(5); // lock cmpxchg [rbx], rcx
    expect(dec("f0 0f c7 0f")).toBe(4); // lock cmpxchg8b [rdi]
    expect(dec("f0 0f c7 c8")).toBe(DECODE_INVALID);
    expect(dec("f0 0f ba 28 01")).toBe(5); // lock bts [rax], 1
    expect(dec("f0 0f ba 20 01")).toBe(DECODE_INVALID); // bt is not lockable
    expect(dec("f0 f7 18")).toBe(3); // lock neg
    expect(dec("f0 f7 00 01 00 00 00")).toBe(DECODE_INVALID); // test
  });

  it("VEX, EVEX, XOP, 3DNow! are unsupported", () => {
    expect(dec("c5 f8 77")).toBe(DECODE_UNSUPPORTED); // vzeroupper
    expect(dec("c4 e2 79 18 00")).toBe(DECODE_UNSUPPORTED);
    expect(dec("c5 f8 77", 32)).toBe(DECODE_UNSUPPORTED); // mod=11: VEX
    expect(dec("c5 05", 32)).toBe(DECODE_INCOMPLETE); // LDS eax, [disp32]: needs 4 more bytes
    expect(dec("c5 06", 32)).toBe(2); // LDS eax, [esi]
    expect(dec("c5 05 00 00 00 00", 32)).toBe(6);
    expect(dec("62 f1 7c 48 28 c1", 32)).toBe(DECODE_UNSUPPORTED);
    expect(dec("8f e8 78 c0 c1 01")).toBe(DECODE_UNSUPPORTED);
    expect(dec("8f c0")).toBe(2); // pop rax
    expect(dec("0f 0f c1 b4")).toBe(DECODE_UNSUPPORTED);
  });
});

// ---- The objdump oracle ----------------------------------------------------

const IMAGES = "test-roms/images";
// Standalone ROMs that run in 32-bit protected mode throughout.
const MODE32 = new Set(["pm32.elf", "paging32.elf"]);
// In the long-mode ROMs, test-roms/runtime/boot.S assembles `_start` with
// .code32 up to the far jump to `long_entry` (.code64): objdump -m
// i386:x86-64 misreads it (a3 as a 9-byte moffs, 41 as REX, ea as (bad)),
// so it is skipped there and compared again from objdump -m i386 over
// [_start, long_entry) in 32-bit mode.
const CODE32_IN_LONG_ROMS = new Set(["_start"]);
// Deliberate #UD snippets (test-roms/exceptions/exc_snippets.S): objdump
// prints `(bad)` for 06, and `lock add %eax,%ebx` for F0 01 C3, which the SDM
// says raises #UD (LOCK with a register destination).
// objdump labels them with the snippet names (the _insn labels share the address).
const EXPECTED_UD = new Set(["exc_badop", "exc_lock"]);

const hasObjdump = spawnSync("objdump", ["--version"]).status === 0;

interface Comparison {
  compared: number;
  /** Of `compared`, the .code32 entry of a long-mode ROM decoded in 32-bit mode. */
  code32: number;
  expectedUd: number;
  skipped: number;
  mismatches: string[];
}

function objdump(args: string[]): string {
  const r = spawnSync("objdump", args, { encoding: "utf8", maxBuffer: 256 << 20 });
  if (r.status !== 0) throw new Error(`objdump ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Compares every instruction of an objdump listing; returns the address range of the skipped symbols. */
function compareListing(name: string, listing: string, file: Uint8Array, mode: 32 | 64, skip: ReadonlySet<string>, res: Comparison): { start: number; stop: number } {
  const elf = parseElf(file);
  let symbol = "";
  let start = -1;
  let stop = -1;
  for (const line of listing.split("\n")) {
    const sym = /^([0-9a-f]+) <([^>]+)>:$/.exec(line);
    if (sym) {
      symbol = sym[2];
      const at = parseInt(sym[1], 16);
      if (skip.has(symbol)) start = at;
      else if (start >= 0 && stop < 0) stop = at;
      continue;
    }
    const m = /^\s*([0-9a-f]+):\t([0-9a-f ]+?)\s*\t(.*)$/.exec(line);
    if (!m) continue;
    const addr = parseInt(m[1], 16);
    const count = m[2].trim().split(/\s+/).length;
    const text = m[3];
    if (skip.has(symbol)) {
      res.skipped++;
      continue;
    }
    const seg = elf.segments.find((s) => addr >= s.vaddr && addr < s.vaddr + s.filesz);
    if (!seg) throw new Error(`${name}: ${addr.toString(16)} is in no PT_LOAD segment`);
    const off = seg.offset + (addr - seg.vaddr);
    const len = decode(file.subarray(0, seg.offset + seg.filesz), off, mode, out);
    if (EXPECTED_UD.has(symbol) && !text.startsWith("ret")) {
      if (len !== DECODE_INVALID) res.mismatches.push(`${addr.toString(16)} <${symbol}> ${m[2]} ${text}: expected #UD, got ${len}`);
      res.expectedUd++;
      continue;
    }
    if (text.includes("(bad)")) {
      res.skipped++;
      continue;
    }
    res.compared++;
    if (len !== count) res.mismatches.push(`${addr.toString(16)} <${symbol}> ${m[2]}  ${text}: objdump ${count} bytes, decoder ${len}`);
  }
  return { start, stop };
}

function compareImage(name: string): Comparison {
  const path = `${IMAGES}/${name}`;
  const file = new Uint8Array(readFileSync(path));
  const res: Comparison = { compared: 0, code32: 0, expectedUd: 0, skipped: 0, mismatches: [] };
  if (MODE32.has(name)) {
    compareListing(name, objdump(["-d", "-w", "-m", "i386", path]), file, 32, new Set(), res);
    return res;
  }
  const range = compareListing(name, objdump(["-d", "-w", "-M", "suffix", "-m", "i386:x86-64", path]), file, 64, CODE32_IN_LONG_ROMS, res);
  // The skipped .code32 entry, disassembled and decoded as 32-bit code.
  if (range.start >= 0 && range.stop > range.start) {
    const before = res.compared;
    const listing = objdump(["-d", "-w", "-m", "i386", `--start-address=0x${range.start.toString(16)}`, `--stop-address=0x${range.stop.toString(16)}`, path]);
    compareListing(name, listing, file, 32, new Set(), res);
    res.code32 = res.compared - before;
  }
  return res;
}

describe("decode agrees with objdump on the ROM images", () => {
  const images = readdirSync(IMAGES).filter((f) => f.endsWith(".elf")).sort();
  it("has ROM images to compare", () => {
    expect(images.length).toBeGreaterThan(0);
  });
  for (const name of images) {
    it.skipIf(!hasObjdump)(`${name}: every instruction's length`, () => {
      const res = compareImage(name);
      console.log(`decoder vs objdump: ${name}: ${res.compared} instructions compared (${res.code32} of them 32-bit entry code), ${res.expectedUd} expected #UD, ${res.skipped} skipped`);
      expect(res.mismatches.slice(0, 20)).toEqual([]);
      expect(res.compared).toBeGreaterThan(100);
    });
  }
  if (!hasObjdump) {
    it("objdump is missing", () => {
      console.warn("decoder.test.ts: objdump (binutils) not found; the objdump comparison is skipped");
    });
  }
});
