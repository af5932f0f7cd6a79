// A single-step #DB taken on HLT (SDM Vol. 3A 17.3.1.4: a trap after the
// instruction; Vol. 2 HLT: a debug exception resumes a halted processor). The
// trap is delivered, its handler runs, and IRET returns past the HLT.
//
// QEMU 7.2 (TCG) differs: helper_hlt leaves the CPU loop before the single-step
// check, so this image stays halted there (IF=0) until killed; with a NOP in
// place of the HLT it exits with 35, the status expected below. cr3 follows the SDM.

import { describe, expect, it } from "vitest";
import { PcMachine } from "../src/machine/pc.ts";

/*
 * nasm -f bin, a multiboot1 a.out-kludge image loaded at 0x100000:
 *
 *   start:  mov esp, 0x90000
 *           lidt [idtr]                     ; vector 1: 32-bit interrupt gate to db_handler
 *           pushfd / or dword [esp], 0x100 / popfd   ; TF=1: the trap follows the next instruction
 *           hlt                             ; IF=0
 *   after:  mov al, [count]                 ; handler runs: 1
 *           cmp dword [ret_eip], after / jne .out / or al, 0x10   ; frame EIP past the HLT: +0x10
 *   .out:   out 0xf4, al / cli / hlt
 *   db_handler: inc byte [count] / mov eax, [esp] / mov [ret_eip], eax
 *           and dword [esp + 8], ~0x100     ; TF off in the saved EFLAGS
 *           iretd
 */
const IMAGE = Buffer.from(
  "02b0ad1b00000100fe4f51e40000100000001000820010008200100020001000bc000009000f011d7c0010009c810c24000100009df4a064001000813d680010003600100075020c10e6f4faf4fe05640010008b0424a36800100081642408fffeffffcf000000000000000000000000000000004d000800008e10000f006c001000",
  "hex",
);

describe("single-step trap on HLT", () => {
  it("delivers the #DB after HLT with IF=0, runs the handler, and returns past the HLT", () => {
    const machine = new PcMachine({ debugExit: { base: 0xf4, size: 4 } });
    machine.loadMultiboot(IMAGE);
    // Before the fix the run ended as { kind: "halted", interruptsEnabled: false }.
    expect(machine.runToEnd(1e6)).toEqual({ kind: "exit", status: 35 }); // (0x10 | 1) << 1 | 1
  });
});
