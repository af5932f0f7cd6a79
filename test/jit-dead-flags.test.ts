// Flags that compiled code treats as dead, seen after all: compiled code
// records no flags for an instruction whose flags nothing in the region reads
// (dead-flag elimination) and reads a Jcc's condition straight from the
// operands of the flag producer before it (fusion). Both assume the region
// runs on to the next flag writer. It does not when it leaves early:
//
// 1. a memory access that ends the region after its instruction (a store to
//    code, or a read of a device's register: Mmu.sideEffect) by a fused flag
//    producer — SUB [mem], CMP [mmio] — hands the Jcc after it to the
//    interpreter, which reads flags that were never recorded: the branch goes
//    the other way;
// 2. a region that stops at a block boundary for the instruction budget —
//    where the PC machine ends a slice at a timer deadline and takes the
//    interrupt — leaves the flags of the last producer unrecorded: the
//    interrupt handler's frame, and RFLAGS at the end of the slice, hold
//    older flags.
//
// Each test compares the compiled tier with the interpreter, whose results
// are what the SDM gives (the branch on the producer's flags; RFLAGS as the
// last instruction left it).

import { describe, expect, it } from "vitest";
import { runSnippet, SNIPPET_DATA_SIZE } from "../src/cpu/snippet.ts";
import { LAPIC, generateStream, machineDifferences, runStreamOnMachine, streamMachine } from "./fuzz/random-bytes.ts";

const NOPS_HLT = [...Array<number>(16).fill(0x90), 0xf4];

describe("flags compiled code leaves unrecorded", () => {
  it("a SUB on its own code fused with the JNZ after it: the store ends the region, and the JNZ sees the SUB's flags", () => {
    // The loop runs 3 times under the interpreter (11 instructions); compiled,
    // the JNZ read the XOR's ZF=1 and the loop ended after one (5).
    const code = Uint8Array.from([
      0x31, 0xc9, //                     0: xor ecx, ecx
      0x83, 0x2d, 0x06, 0, 0, 0, 0x01, // 2: sub dword [rip+6], 1   (the counter at 0xf)
      0x75, 0xf5, //                     9: jnz 0
      0x31, 0xc0, //                     b: xor eax, eax
      0xeb, 0x04, //                     d: jmp 0x13 (the end)
      0x03, 0, 0, 0, //                  f: the counter, 3
    ]);
    const state = () => ({ regs: new Int32Array(32), rflags: 0x202, data: new Uint8Array(SNIPPET_DATA_SIZE) });
    const interpreted = runSnippet(code, state());
    const compiled = runSnippet(code, state(), { jit: true });
    expect(interpreted.instructions).toBe(11);
    expect({ exception: compiled.exception, instructions: compiled.instructions, rflags: compiled.rflags }).toEqual({
      exception: interpreted.exception,
      instructions: interpreted.instructions,
      rflags: interpreted.rflags,
    });
  });

  it("a CMP of a local APIC register fused with the JNE after it: the device read ends the region, and the JNE sees the CMP's flags", () => {
    // rbx = the local APIC; its version register (0x30) is not 0, so JNE is
    // taken and eax ends 1. Compiled, the JNE read the XOR's ZF=1: eax 0.
    const c = generateStream(1, 0);
    c.code = Uint8Array.from([
      0x45, 0x31, 0xdb, //          0: xor r11d, r11d   (ZF=1)
      0x83, 0x7b, 0x30, 0x00, //    3: cmp dword [rbx+0x30], 0
      0x75, 0x04, //                7: jne 0xd
      0x31, 0xc0, //                9: xor eax, eax
      0xeb, 0x05, //                b: jmp 0x12
      0x31, 0xc0, //                d: xor eax, eax
      0x83, 0xc0, 0x01, //          f: add eax, 1
      ...NOPS_HLT,
    ]);
    c.regs[6] = LAPIC;
    c.regs[7] = 0;
    const interpreted = runStreamOnMachine(c, null, 1000);
    const compiled = runStreamOnMachine(c, { threshold: 0 }, 1000);
    expect(interpreted.outcome.regs[0]).toBe("0000000000000001");
    expect(machineDifferences(interpreted, compiled)).toEqual([]);
  });

  /** top: mov edx, 1; mov esi, 2; xor eax, eax; sub ecx, 1; jnz top — the SUB's flags are dead at `top` (the XOR writes them before anything reads them). */
  const LOOP = [0xba, 1, 0, 0, 0, 0xbe, 2, 0, 0, 0, 0x31, 0xc0, 0x83, 0xe9, 0x01, 0x75, 0xef, 0x31, 0xc0, ...NOPS_HLT];

  it("RFLAGS at the end of a run slice is what the last instruction left, when the slice ends inside a loop", () => {
    const c = generateStream(1, 0);
    c.code = Uint8Array.from(LOOP);
    c.regs[2] = 1000;
    c.regs[3] = 0;
    c.rflags = 0x2 | 0x40 | 0x80 | 0x4; // ZF SF PF, which the SUB clears
    const differing: string[] = [];
    for (let budget = 100; budget < 110; budget++) {
      const diffs = machineDifferences(runStreamOnMachine(c, null, budget), runStreamOnMachine(c, { threshold: 0 }, budget));
      if (diffs.length > 0) differing.push(`${budget} instructions: ${diffs.join("; ")}`);
    }
    expect(differing).toEqual([]);
  });

  it("the RFLAGS a timer interrupt's handler finds in its frame is the interrupted loop's", () => {
    // The PIT's IRQ 0 (vector 8 through the 8259s as the BIOS leaves them)
    // interrupts the loop after ~1.7 million instructions; the handler (on
    // IST1, top 0x7000) stores its vector and halts. Under the interpreter the
    // frame's RFLAGS is 0x286 (IF, SF, PF of the SUB); compiled, 0x2c6.
    const c = generateStream(1, 0);
    c.code = Uint8Array.from(LOOP);
    c.regs[2] = -1;
    c.regs[3] = 0;
    c.rflags = 0x2 | 0x40 | 0x80 | 0x4;
    const frames = [null, { threshold: 0 }].map((jit) => {
      const { machine, vectors } = streamMachine(c, jit);
      machine.cpu.eflags |= 0x200; // IF
      const end = machine.runToEnd(20_000_000);
      const view = new DataView(machine.memory.ram.u8.buffer);
      return { end: end.kind, vectors, icount: machine.cpu.icount, rip: view.getUint32(0x7000 - 40, true).toString(16), rflags: view.getUint32(0x7000 - 24, true).toString(16) };
    });
    expect(frames[0].vectors).toEqual([8]);
    expect(frames[1]).toEqual(frames[0]);
  }, 60_000);
});
