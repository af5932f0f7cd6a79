// Runs a snippet of user-mode machine code in a small 64-bit machine — the
// cr3 side of the host-CPU differential fuzzer (test/fuzz/). The snippet
// runs at CPL3 with 4-level paging: code at SNIPPET_CODE_ADDRESS (one
// page), data at SNIPPET_DATA_ADDRESS (SNIPPET_DATA_SIZE bytes, stack
// included), both user pages. It ends when RIP reaches the end of the code,
// or at the first exception. With `jit`, the same code runs through the
// compiler's tier (every instruction compiled at once), to check the tiers
// against the host and against each other.

import { createMachineMemory } from "../machine/memory.ts";
import { PortBus } from "../machine/ports.ts";
import { ATTR_DB, ATTR_G, ATTR_L, CS, Cpu, DS, ES, FS, GS, SS } from "./cpu.ts";
import { JitEngine } from "../jit/engine.ts";

export const SNIPPET_CODE_ADDRESS = 0x10000000;
export const SNIPPET_DATA_ADDRESS = 0x20000000;
export const SNIPPET_DATA_SIZE = 65536;

export interface SnippetState {
  /** 32 words: low and high halves of rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi, r8-r15. */
  regs: Int32Array;
  rflags: number;
  data: Uint8Array;
}

export interface SnippetResult extends SnippetState {
  /** -1: ran to the end of the code; else the x86 exception vector. */
  exception: number;
  instructions: number;
}

const CODE_PHYS = 0x100000;
const DATA_PHYS = 0x200000;
const PML4 = 0x300000;
const PDPT = 0x301000;
const PD = 0x302000;
const PT_CODE = 0x303000;
const PT_DATA = 0x304000;
const USER_RW = 7; // P | R/W | U/S
const MAX_STEPS = 100_000;

/** Thrown from the exception hook to stop before the exception is delivered. */
const STOPPED = { stopped: true };

/** Runs `code` from `initial`; see the file comment. */
export function runSnippet(code: Uint8Array, initial: SnippetState, options: { jit?: boolean } = {}): SnippetResult {
  if (code.length > 4096) throw new RangeError("a snippet is at most 4096 bytes");
  if (initial.data.length !== SNIPPET_DATA_SIZE) throw new RangeError(`the data area is ${SNIPPET_DATA_SIZE} bytes`);
  const memory = createMachineMemory({ ramBytes: 8 * 1024 * 1024 });
  const ram = memory.ram;
  const u8 = ram.u8;
  u8.set(code, CODE_PHYS);
  u8.set(initial.data, DATA_PHYS);
  const entry = (addr: number, value: number): void => ram.write32(addr, value);
  entry(PML4, PDPT | USER_RW);
  entry(PDPT, PD | USER_RW);
  entry(PD + ((SNIPPET_CODE_ADDRESS >>> 21) & 511) * 8, PT_CODE | USER_RW);
  entry(PD + ((SNIPPET_DATA_ADDRESS >>> 21) & 511) * 8, PT_DATA | USER_RW);
  entry(PT_CODE + ((SNIPPET_CODE_ADDRESS >>> 12) & 511) * 8, CODE_PHYS | USER_RW);
  for (let p = 0; p < SNIPPET_DATA_SIZE / 4096; p++) {
    entry(PT_DATA + (((SNIPPET_DATA_ADDRESS >>> 12) + p) & 511) * 8, (DATA_PHYS + p * 4096) | USER_RW);
  }
  const cpu = new Cpu(memory.mmu, new PortBus());
  const mmu = memory.mmu;
  mmu.setCr4(0x20); // PAE
  mmu.setCr3(PML4, 0);
  mmu.setEfer(0x100 | 0x800 | 1); // LME, NXE, SCE
  mmu.setCr0(0x80010033); // PG, WP, NE, ET, MP, PE (LMA follows)
  cpu.setSegment(CS, 0x23, 0, 0, -1, 0xfb | ATTR_L | ATTR_G);
  for (const seg of [SS, DS, ES, FS, GS]) cpu.setSegment(seg, 0x1b, 0, 0, -1, 0xf3 | ATTR_DB | ATTR_G);
  cpu.cpl = 3;
  cpu.regs.set(initial.regs);
  cpu.writeEflags(initial.rflags, 0x00000cd5 | 0x400); // arithmetic flags and DF
  cpu.ripLo = SNIPPET_CODE_ADDRESS;
  cpu.ripHi = 0;
  cpu.updateMode();
  let exception = -1;
  // The first exception ends the run before it is delivered: the state is the faulting instruction's.
  cpu.onInterrupt = (vector) => {
    exception = vector;
    throw STOPPED;
  };
  const end = SNIPPET_CODE_ADDRESS + code.length;
  // A HLT after the code (#GP at CPL 3), or the unmapped page after a full
  // one (#PF), marks the end for the compiled tier, which runs past single
  // steps; it is there in both tiers, so code that reads it reads the same.
  if (code.length < 4096) u8[CODE_PHYS + code.length] = 0xf4;
  let instructions: number;
  if (options.jit === true) {
    cpu.jit = new JitEngine(mmu, 0);
    try {
      cpu.run(MAX_STEPS);
    } catch (e) {
      if (e !== STOPPED) throw e;
    }
    const atEnd = exception >= 0 && cpu.ripLo === end && cpu.ripHi === 0;
    if (atEnd) exception = -1;
    else if (exception < 0) exception = -2; // ran away
    instructions = atEnd ? cpu.icount - 1 : cpu.icount;
  } else {
    let steps = 0;
    try {
      while (cpu.ripLo !== end && steps < MAX_STEPS) {
        cpu.run(1);
        steps++;
      }
    } catch (e) {
      if (e !== STOPPED) throw e;
    }
    if (exception < 0 && cpu.ripLo !== end) exception = -2; // ran away
    instructions = cpu.icount;
  }
  return {
    regs: Int32Array.from(cpu.regs),
    rflags: cpu.getEflags(),
    data: u8.slice(DATA_PHYS, DATA_PHYS + SNIPPET_DATA_SIZE),
    exception,
    instructions,
  };
}
