// Random byte streams run as code under both of cr3's tiers — the
// interpreter alone and compiled code (every instruction compiled at once) —
// whose outcomes must be identical: no expected values, only the two tiers
// against each other. Used by test/jit-random.test.ts and by
// `npm run fuzz -- --random-bytes`.
//
// A stream is either plain random bytes or a run of random instruction
// shapes (ALU, moves, shifts, branches back and forth, calls, pushes, string
// instructions, stores through RIP into the code itself, a few system
// instructions), followed by 16 NOPs (so the last instruction decodes the
// same whatever follows) and HLT. The registers mostly point into the data
// area or the code page; the rest are small or random values.
//
// Two machines run each stream:
// - a PC (PcMachine, 4 MiB) in 64-bit mode at CPL 0 or CPL 3, flat, with a
//   GDT, a TSS (RSP0, IST1 for #DF), and an IDT whose 256 handlers store their
//   vector and HLT with IF=0, which ends the run; the code page, the page
//   after it, a page of NOPs before it and the data area are user pages, one
//   data page is read-only, one no-execute, one not present. The run is bounded by an instruction
//   budget. Compared: how the run ended, the vectors delivered, the
//   instruction count, RIP, the registers, RFLAGS, CR0/CR2/CR3/CR4/EFER, the
//   CPL and segment selectors, all of RAM, and the data-TLB, walk and
//   page-fault figures.
// - src/cpu/snippet.ts's runSnippet (CPL 3), with and without { jit: true }:
//   exception, instruction count, registers, RFLAGS and the data area.

import { ATTR_DB, ATTR_G, ATTR_L, CS, DS, ES, FS, GS, SS, TR, type Cpu } from "../../src/cpu/cpu.ts";
import type { JitStats } from "../../src/jit/engine.ts";
import { PcMachine, type RunEnd } from "../../src/machine/pc.ts";
import { PageTableBuilder, P, PCD, RW, US } from "../../src/mmu/page-table-builder.ts";
import { Rng } from "./generator.ts";

/** Where the code and data are (linear), as in src/cpu/snippet.ts. */
export const CODE = 0x10000000;
export const DATA = 0x20000000;
export const DATA_SIZE = 65536;

const CODE_PHYS = 0x100000;
const CODE2_PHYS = 0x101000;
/** The page before the code: NOPs, so a jump back before the start slides into the code again. */
const SLED_PHYS = 0x102000;
const DATA_PHYS = 0x200000;
const RO_PHYS = 0x210000;
const NX_PHYS = 0x211000;
const GDT = 0x1000;
const IDT = 0x2000;
const TSS = 0x3000;
const HANDLERS = 0x4000;
/** The handlers store their vector here. */
const RECORD = 0x5000;
const IST1_TOP = 0x7000;
const RSP0 = 0x9000;
const TABLES = 0x10000;
const RAM_BYTES = 4 << 20;
/** The local APIC's page, mapped at its physical address. */
export const LAPIC = 0xfee00000;

export interface StreamCase {
  seed: number;
  cpl: 0 | 3;
  code: Uint8Array;
  /** rax..r15 as low/high halves. */
  regs: Int32Array;
  rflags: number;
  data: Uint8Array;
}

// ------------------------------------------------------------ generation

const ALU_FORMS = [0, 1, 2, 3, 4, 5];
const SIMPLE = [0x98, 0x99, 0x9e, 0x9f, 0xf5, 0xf8, 0xf9, 0xfc, 0xfd, 0x90, 0x9c, 0x9d, 0xc3];
const SYSTEM_CPL0 = [
  [0x0f, 0xa2], // cpuid
  [0x0f, 0x31], // rdtsc
  [0x0f, 0x20, 0xd8, 0x0f, 0x22, 0xd8], // mov rax, cr3; mov cr3, rax
  [0x0f, 0x01, 0x38], // invlpg [rax]
  [0xe4, 0x80], // in al, 0x80
  [0xe6, 0x80], // out 0x80, al
  [0x0f, 0x09], // wbinvd
  [0x0f, 0x0b], // ud2
  [0xcc], // int3
  [0xcd, 0x40], // int 0x40
  [0xf4], // hlt
];

class Emitter {
  readonly out: number[] = [];
  constructor(private readonly rng: Rng) {}

  byte(b: number): void {
    this.out.push(b & 0xff);
  }

  le(v: number, n: number): void {
    for (let i = 0; i < n; i++) this.byte(v >>> (8 * i));
  }

  /** A ModRM (and SIB, displacement) for register field `reg`: register forms, [base+disp], [base+index*scale], RIP-relative into the code, absolute into the data. */
  modrm(reg: number, memOnly = false): void {
    const r = this.rng;
    const kind = memOnly ? 1 + r.below(4) : r.below(5);
    reg &= 7;
    if (kind === 0) {
      this.byte(0xc0 | (reg << 3) | r.below(8));
    } else if (kind === 1) {
      const base = r.pick([0, 1, 2, 3, 5, 6, 7]);
      const disp8 = r.chance(0.6);
      this.byte((disp8 ? 0x40 : 0x80) | (reg << 3) | base);
      if (disp8) this.byte(r.below(256) - 128);
      else this.le(r.below(512) - 256, 4);
    } else if (kind === 2) {
      this.byte(0x44 | (reg << 3)); // [sib + disp8]
      this.byte((r.below(4) << 6) | ((r.chance(0.5) ? 4 : r.pick([0, 1, 2, 3, 5, 6, 7])) << 3) | r.pick([0, 1, 2, 3, 4, 5, 6, 7]));
      this.byte(r.below(256) - 128);
    } else if (kind === 3) {
      this.byte(0x05 | (reg << 3)); // [rip + disp32]: the code page, so stores rewrite code
      this.le(r.below(256) - 128, 4);
    } else {
      this.byte(0x04 | (reg << 3)); // [disp32]: the data area
      this.byte(0x25);
      this.le(DATA + r.below(DATA_SIZE), 4);
    }
  }

  prefixes(): number {
    const r = this.rng;
    if (r.chance(0.06)) this.byte(0x66);
    if (r.chance(0.02)) this.byte(r.pick([0x64, 0x65, 0x2e, 0x3e]));
    if (r.chance(0.02)) this.byte(0xf0);
    if (r.chance(0.55)) {
      const rex = 0x40 | r.below(16);
      this.byte(rex);
      return rex;
    }
    return 0;
  }

  instruction(cpl: number): void {
    const r = this.rng;
    const choice = r.below(100);
    if (choice < 3) {
      // a few random bytes
      for (let n = 1 + r.below(4); n > 0; n--) this.byte(r.below(256));
      return;
    }
    if (choice < 6 && cpl === 0) {
      for (const b of r.pick(SYSTEM_CPL0)) this.byte(b);
      return;
    }
    if (choice < 10) {
      // jcc/jmp short, mostly backwards a little (loops) or forwards
      const op = r.chance(0.8) ? 0x70 + r.below(16) : 0xeb;
      this.byte(op);
      this.byte(r.chance(0.6) ? -(2 + r.below(40)) : r.below(24));
      return;
    }
    if (choice < 12) {
      // jcc near / call / jmp near, small displacement
      const k = r.below(3);
      if (k === 0) {
        this.byte(0x0f);
        this.byte(0x80 + r.below(16));
      } else this.byte(k === 1 ? 0xe8 : 0xe9);
      this.le(r.below(96) - 64, 4);
      return;
    }
    if (choice < 14) {
      this.byte(r.pick(SIMPLE));
      return;
    }
    if (choice < 18) {
      // push/pop register, push imm
      const k = r.below(3);
      if (r.chance(0.3)) this.byte(0x41);
      if (k === 0) this.byte(0x50 + r.below(8));
      else if (k === 1) this.byte(0x58 + r.pick([0, 1, 2, 3, 5, 6, 7]));
      else {
        this.byte(0x6a);
        this.byte(r.below(256));
      }
      return;
    }
    if (choice < 21) {
      // string instructions, sometimes with REP (rcx may be large: the count is bounded by the budget)
      if (r.chance(0.5)) this.byte(r.pick([0xf3, 0xf2]));
      if (r.chance(0.3)) this.byte(0x48);
      this.byte(0xa4 + r.below(12));
      return;
    }
    const rex = this.prefixes();
    const reg = r.below(8);
    if (choice < 45) {
      const op = (r.below(8) << 3) | r.pick(ALU_FORMS);
      this.byte(op);
      if ((op & 7) < 4) this.modrm(reg);
      else if ((op & 7) === 4) this.byte(r.below(256));
      else this.le(r.u32(), 4);
      return;
    }
    if (choice < 55) {
      const op = r.pick([0x80, 0x81, 0x83]);
      this.byte(op);
      this.modrm(reg);
      if (op === 0x81) this.le(r.u32(), 4);
      else this.byte(r.below(256));
      return;
    }
    if (choice < 68) {
      const op = r.pick([0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x8b, 0x8d, 0x63, 0x69, 0x6b]);
      this.byte(op);
      this.modrm(reg, op === 0x8d);
      if (op === 0x69) this.le(r.u32(), 4);
      else if (op === 0x6b) this.byte(r.below(256));
      return;
    }
    if (choice < 72) {
      const op = 0xb0 + r.below(16);
      this.byte(op);
      if (op < 0xb8) this.byte(r.below(256));
      else {
        this.le(r.u32(), 4);
        if ((rex & 8) !== 0) this.le(r.u32(), 4); // imm64
      }
      return;
    }
    if (choice < 76) {
      const op = r.pick([0xc6, 0xc7]);
      this.byte(op);
      this.modrm(0);
      if (op === 0xc6) this.byte(r.below(256));
      else this.le(r.u32(), 4);
      return;
    }
    if (choice < 82) {
      const op = r.pick([0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3]);
      this.byte(op);
      this.modrm(reg);
      if (op <= 0xc1) this.byte(r.chance(0.2) ? 0 : r.below(70));
      return;
    }
    if (choice < 88) {
      const op = r.pick([0xf6, 0xf7, 0xfe, 0xff]);
      const ext = op >= 0xfe ? r.pick([0, 1, 0, 1, 6, 2, 4]) : r.below(8);
      this.byte(op);
      this.modrm(ext);
      if (op === 0xf6 && ext < 2) this.byte(r.below(256));
      if (op === 0xf7 && ext < 2) this.le(r.u32(), 4);
      return;
    }
    // two-byte: cmovcc, setcc, imul, movzx/movsx, bt*, bsf/bsr, xadd, cmpxchg, bswap, shld/shrd
    this.byte(0x0f);
    const k = r.below(10);
    if (k < 3) {
      this.byte(0x40 + r.below(16));
      this.modrm(reg);
    } else if (k < 5) {
      this.byte(0x90 + r.below(16));
      this.modrm(0);
    } else if (k === 5) {
      this.byte(r.pick([0xaf, 0xb6, 0xb7, 0xbe, 0xbf]));
      this.modrm(reg);
    } else if (k === 6) {
      this.byte(r.pick([0xa3, 0xab, 0xb3, 0xbb, 0xbc, 0xbd]));
      this.modrm(reg);
    } else if (k === 7) {
      this.byte(0xba);
      this.modrm(4 + r.below(4));
      this.byte(r.below(256));
    } else if (k === 8) {
      this.byte(r.pick([0xc0, 0xc1, 0xb0, 0xb1]));
      this.modrm(reg);
    } else {
      const op = r.pick([0xc8 + r.below(8), 0xa4, 0xa5, 0xac, 0xad]);
      this.byte(op);
      if (op < 0xc8) {
        this.modrm(reg);
        if (op === 0xa4 || op === 0xac) this.byte(r.below(64));
      }
    }
  }
}

/** A value for a register: a pointer into the data area or the code page, small, or random. */
function registerValue(rng: Rng): [number, number] {
  const k = rng.below(20);
  if (k < 12) return [DATA + 64 + rng.below(DATA_SIZE - 128), 0];
  if (k < 15) return [CODE + rng.below(4096), 0];
  if (k < 17) return [rng.below(40), 0];
  if (k < 18) return [-1 - rng.below(4), -1];
  return [rng.u32() | 0, rng.chance(0.5) ? rng.u32() | 0 : 0];
}

/** The stream of seed `seed` (CPL from the seed unless given). */
export function generateStream(seed: number, cpl?: 0 | 3): StreamCase {
  const rng = new Rng(seed);
  const level = cpl ?? (rng.chance(0.5) ? 0 : 3);
  const e = new Emitter(rng);
  if (rng.chance(0.25)) {
    for (let n = 8 + rng.below(120); n > 0; n--) e.byte(rng.below(256));
  } else {
    for (let n = 8 + rng.below(100); n > 0; n--) e.instruction(level);
  }
  for (let n = 0; n < 16; n++) e.byte(0x90);
  e.byte(0xf4);
  const code = Uint8Array.from(e.out.slice(0, 4096));
  const regs = new Int32Array(32);
  for (let r = 0; r < 16; r++) [regs[2 * r], regs[2 * r + 1]] = registerValue(rng);
  regs[8] = DATA + 0x8000; // rsp
  regs[9] = 0;
  // rcx small more often, so REP instructions end
  if (rng.chance(0.7)) [regs[2], regs[3]] = [rng.below(300), 0];
  const data = new Uint8Array(DATA_SIZE);
  for (let i = 0; i < DATA_SIZE; i += 4) {
    const v = rng.chance(0.5) ? DATA + rng.below(DATA_SIZE) : rng.u32();
    data[i] = v;
    data[i + 1] = v >>> 8;
    data[i + 2] = v >>> 16;
    data[i + 3] = v >>> 24;
  }
  const rflags = 0x2 | (rng.u32() & 0xcd5); // arithmetic flags, DF
  return { seed, cpl: level, code, regs, rflags, data };
}

// ------------------------------------------------------------ the PC machine

/** A PC in 64-bit mode at the stream's CPL, its code and data loaded; `jit` as PcMachine takes it. */
export function streamMachine(c: StreamCase, jit: { threshold: number } | null): { machine: PcMachine; vectors: number[] } {
  const machine = new PcMachine({ memory: { ramBytes: RAM_BYTES }, jit, pciVga: false, debugExit: { base: 0xf4, size: 4 } });
  const bus = machine.memory.bus;
  const u8 = machine.memory.ram.u8;
  const cpu = machine.cpu;
  // GDT: null, 0x08 kernel code (64-bit), 0x10 kernel data, 0x18 user code 32, 0x20 user data, 0x28 user code 64, 0x30 user data, 0x40 TSS.
  const gdt = [0, 0, 0x0000ffff, 0x00af9a00, 0x0000ffff, 0x00cf9200, 0x0000ffff, 0x00cffa00, 0x0000ffff, 0x00cff200, 0x0000ffff, 0x00affa00, 0x0000ffff, 0x00cff200, 0, 0];
  gdt.push(0x67 | (TSS << 16), ((TSS >>> 16) & 0xff) | 0x8b00 | (TSS & 0xff000000), 0, 0);
  gdt.forEach((w, i) => bus.write32(GDT + 4 * i, w | 0));
  bus.write32(TSS + 4, RSP0); // RSP0
  bus.write32(TSS + 36, IST1_TOP); // IST1
  for (let v = 0; v < 256; v++) {
    const handler = HANDLERS + 16 * v;
    const gate = IDT + 16 * v;
    bus.write32(gate, (handler & 0xffff) | (0x08 << 16));
    bus.write32(gate + 4, (handler & 0xffff0000) | 0x8e00 | (v === 8 ? 1 : 0)); // interrupt gate, DPL 0; #DF on IST1
    bus.write32(gate + 8, 0);
    bus.write32(gate + 12, 0);
    // mov dword [RECORD], v; hlt; jmp $-1
    u8.set([0xc7, 0x04, 0x25, RECORD & 0xff, (RECORD >> 8) & 0xff, 0, 0, v, 0, 0, 0, 0xf4, 0xeb, 0xfd], handler);
  }
  bus.write32(RECORD, -1);
  // Page tables: the system pages (supervisor), the code and data (user).
  const pt = new PageTableBuilder(bus, "4level", TABLES);
  for (let a = 0; a < 0x10000; a += 0x1000) pt.map(a, a, { flags: P | RW });
  pt.map(CODE - 0x1000, SLED_PHYS);
  pt.map(CODE, CODE_PHYS);
  pt.map(CODE + 0x1000, CODE2_PHYS);
  for (let p = 0; p < DATA_SIZE; p += 0x1000) pt.map(DATA + p, DATA_PHYS + p);
  pt.map(DATA + DATA_SIZE, RO_PHYS, { flags: P | US });
  pt.map(DATA + DATA_SIZE + 0x1000, NX_PHYS, { xd: true });
  // DATA + DATA_SIZE + 0x2000: not present
  pt.map(LAPIC, LAPIC, { flags: P | RW | PCD }); // the local APIC's registers (supervisor)
  u8.fill(0x90, SLED_PHYS, SLED_PHYS + 0x1000);
  u8.set(c.code, CODE_PHYS);
  u8.set(c.data, DATA_PHYS);
  for (let i = 0; i < 0x2000; i++) u8[RO_PHYS + i] = c.data[i];
  const mmu = machine.memory.mmu;
  mmu.setCr4(0x20); // PAE
  mmu.setCr3(pt.root, 0);
  mmu.setEfer(0x100 | 0x800 | 1); // LME, NXE, SCE
  mmu.setCr0(0x80010033); // PG, WP, NE, ET, MP, PE
  cpu.gdtBaseLo = GDT;
  cpu.gdtBaseHi = 0;
  cpu.gdtLimit = gdt.length * 4 - 1;
  cpu.idtBaseLo = IDT;
  cpu.idtBaseHi = 0;
  cpu.idtLimit = 256 * 16 - 1;
  cpu.setSegment(TR, 0x40, TSS, 0, 0x67, 0x8b);
  if (c.cpl === 0) {
    cpu.setSegment(CS, 0x08, 0, 0, -1, 0x9b | ATTR_L | ATTR_G);
    for (const seg of [SS, DS, ES, FS, GS]) cpu.setSegment(seg, 0x10, 0, 0, -1, 0x93 | ATTR_DB | ATTR_G);
  } else {
    cpu.setSegment(CS, 0x2b, 0, 0, -1, 0xfb | ATTR_L | ATTR_G);
    for (const seg of [SS, DS, ES, FS, GS]) cpu.setSegment(seg, 0x33, 0, 0, -1, 0xf3 | ATTR_DB | ATTR_G);
  }
  cpu.cpl = c.cpl;
  cpu.regs.set(c.regs);
  cpu.writeEflags(c.rflags, 0x00000cd5 | 0x400);
  cpu.ripLo = CODE;
  cpu.ripHi = 0;
  cpu.updateMode();
  cpu.invalidateCode();
  const vectors: number[] = [];
  cpu.onInterrupt = (vector) => {
    if (vectors.length < 8) vectors.push(vector);
  };
  return { machine, vectors };
}

/** What a stream did on the PC machine. */
export interface MachineOutcome {
  end: string;
  vectors: number[];
  /** The vector the handler stored (-1: none ran). */
  recorded: number;
  icount: number;
  rip: string;
  regs: string[];
  rflags: string;
  control: string[];
  cpl: number;
  selectors: number[];
  tlb: Record<string, number>;
}

const hex64 = (lo: number, hi: number): string => (hi >>> 0).toString(16).padStart(8, "0") + (lo >>> 0).toString(16).padStart(8, "0");

function outcomeOf(machine: PcMachine, end: RunEnd, vectors: number[]): MachineOutcome {
  const cpu: Cpu = machine.cpu;
  const mmu = machine.memory.mmu;
  const s = mmu.stats();
  return {
    end: end.kind === "exit" ? `exit ${end.status}` : end.kind,
    vectors: [...vectors],
    recorded: machine.memory.bus.read32(RECORD),
    icount: cpu.icount,
    rip: hex64(cpu.ripLo, cpu.ripHi),
    regs: Array.from({ length: 16 }, (_, r) => hex64(cpu.regs[2 * r], cpu.regs[2 * r + 1])),
    rflags: cpu.getEflags().toString(16),
    control: [hex64(mmu.cr0, 0), hex64(cpu.cr2Lo, cpu.cr2Hi), hex64(mmu.cr3Lo, mmu.cr3Hi), hex64(mmu.cr4, 0), hex64(mmu.efer, 0)],
    cpl: cpu.cpl,
    selectors: Array.from(cpu.segSelector),
    tlb: { dtlbHits: s.dtlbHits, dtlbMisses: s.dtlbMisses, walks: s.walks, walkMemoryReads: s.walkMemoryReads, pageFaults: s.pageFaults },
  };
}

export interface MachineRun {
  outcome: MachineOutcome;
  ram: Uint8Array;
  /** The compiler's figures (null: the interpreter alone). */
  jit: JitStats | null;
}

/** Runs stream `c` on the PC machine under `jit` for at most `budget` instructions; returns its outcome and the machine's RAM. */
export function runStreamOnMachine(c: StreamCase, jit: { threshold: number } | null, budget: number): MachineRun {
  const { machine, vectors } = streamMachine(c, jit);
  const end = machine.runToEnd(budget);
  return { outcome: outcomeOf(machine, end, vectors), ram: machine.memory.ram.u8, jit: machine.jit === null ? null : machine.jit.stats() };
}

/** The differences between two outcomes (and RAMs), by name; empty when they agree. */
export function machineDifferences(a: MachineRun, b: MachineRun): string[] {
  const out: string[] = [];
  const x = a.outcome as unknown as Record<string, unknown>;
  const y = b.outcome as unknown as Record<string, unknown>;
  for (const key of Object.keys(x)) {
    const u = JSON.stringify(x[key]);
    const v = JSON.stringify(y[key]);
    if (u !== v) out.push(`${key}: interpreter ${u}, compiled ${v}`);
  }
  if (!Buffer.from(a.ram.buffer, a.ram.byteOffset, a.ram.length).equals(Buffer.from(b.ram.buffer, b.ram.byteOffset, b.ram.length))) {
    let shown = 0;
    for (let i = 0; i < a.ram.length && shown < 4; i++) {
      if (a.ram[i] === b.ram[i]) continue;
      let j = i;
      while (j < a.ram.length && j < i + 16 && a.ram[j] !== b.ram[j]) j++;
      const bytes = (m: Uint8Array): string => Array.from(m.subarray(i, j), (v) => v.toString(16).padStart(2, "0")).join(" ");
      out.push(`RAM 0x${i.toString(16)}: interpreter ${bytes(a.ram)}, compiled ${bytes(b.ram)}`);
      shown++;
      i = j;
    }
  }
  return out;
}

/** Runs stream `c` on the PC machine under the interpreter and compiled (threshold 0); returns the differences. */
export function compareStreamOnMachine(c: StreamCase, budget: number): string[] {
  const run = (jit: { threshold: number } | null): MachineRun | string => {
    try {
      return runStreamOnMachine(c, jit, budget);
    } catch (e) {
      return `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    }
  };
  const a = run(null);
  const b = run({ threshold: 0 });
  if (typeof a === "string" || typeof b === "string") {
    return [typeof a === "string" ? `interpreter ${a}` : "", typeof b === "string" ? `compiled ${b}` : ""].filter((s) => s !== "");
  }
  return machineDifferences(a, b);
}

// ------------------------------------------------------------ runSnippet (CPL 3)

interface SnippetResult {
  exception: number;
  instructions: number;
  regs: Int32Array;
  rflags: number;
  data: Uint8Array;
}
export type RunSnippet = (code: Uint8Array, initial: { regs: Int32Array; rflags: number; data: Uint8Array }, options?: { jit?: boolean }) => SnippetResult;

/** Runs stream `c` through runSnippet with and without the compiler; returns the differences. */
export function compareStreamOnSnippet(run: RunSnippet, c: StreamCase): string[] {
  const go = (jit: boolean): SnippetResult | string => {
    try {
      return run(c.code, { regs: c.regs.slice(), rflags: c.rflags, data: c.data.slice() }, { jit });
    } catch (e) {
      return `threw: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`;
    }
  };
  const a = go(false);
  const b = go(true);
  if (typeof a === "string" || typeof b === "string") {
    return [typeof a === "string" ? `interpreter ${a}` : "", typeof b === "string" ? `compiled ${b}` : ""].filter((s) => s !== "");
  }
  const out: string[] = [];
  if (a.exception !== b.exception) out.push(`exception: interpreter ${a.exception}, compiled ${b.exception}`);
  if (a.instructions !== b.instructions) out.push(`instructions: interpreter ${a.instructions}, compiled ${b.instructions}`);
  if (a.rflags !== b.rflags) out.push(`rflags: interpreter ${a.rflags.toString(16)}, compiled ${b.rflags.toString(16)}`);
  for (let r = 0; r < 16; r++) {
    if (a.regs[2 * r] !== b.regs[2 * r] || a.regs[2 * r + 1] !== b.regs[2 * r + 1]) {
      out.push(`r${r}: interpreter ${hex64(a.regs[2 * r], a.regs[2 * r + 1])}, compiled ${hex64(b.regs[2 * r], b.regs[2 * r + 1])}`);
    }
  }
  for (let i = 0; i < a.data.length; i++) {
    if (a.data[i] !== b.data[i]) {
      out.push(`data +0x${i.toString(16)}: interpreter ${a.data[i].toString(16)}, compiled ${b.data[i].toString(16)}`);
      break;
    }
  }
  return out;
}

/** A stream in words, for reports. */
export function describeStream(c: StreamCase): string {
  const regs = Array.from({ length: 16 }, (_, r) => `r${r}=${hex64(c.regs[2 * r], c.regs[2 * r + 1])}`);
  return [
    `seed ${c.seed}, CPL ${c.cpl}, ${c.code.length} bytes of code at 0x${CODE.toString(16)}:`,
    Array.from(c.code, (b) => b.toString(16).padStart(2, "0")).join(""),
    `registers: ${regs.slice(0, 8).join(" ")}`,
    `           ${regs.slice(8).join(" ")}`,
    `rflags=${c.rflags.toString(16)}; the data area is random (seeded)`,
  ].join("\n");
}

// ------------------------------------------------------------ shrinking

/** What the generator appends to every stream: 16 NOPs and HLT. */
const TAIL = 17;

/** The stream with `body` as its code (the NOPs and HLT appended again). */
export function withBody(c: StreamCase, body: Uint8Array): StreamCase {
  const code = new Uint8Array(body.length + TAIL).fill(0x90);
  code.set(body);
  code[code.length - 1] = 0xf4;
  return { ...c, code };
}

/**
 * A smaller stream that still mismatches: byte runs are left out of the
 * code, halving the run length, while `mismatches` holds (at most
 * `attempts` tries).
 */
export function shrinkStream(c: StreamCase, mismatches: (s: StreamCase) => boolean, attempts = 400): StreamCase {
  let body = c.code.subarray(0, c.code.length - TAIL);
  let tries = 0;
  for (let run = Math.max(1, body.length >> 1); run >= 1 && tries < attempts; run >>= 1) {
    for (let at = 0; at < body.length && tries < attempts; ) {
      const shorter = new Uint8Array(body.length - Math.min(run, body.length - at));
      shorter.set(body.subarray(0, at));
      shorter.set(body.subarray(at + run), at);
      tries++;
      if (mismatches(withBody(c, shorter))) body = shorter;
      else at += run;
    }
  }
  return withBody(c, body);
}
