// RF in the EFLAGS image an event handler gets (SDM Vol. 3A 17.3.1.1): 1
// for a fault, for an interrupt between two iterations of a REP string
// instruction, and for an interrupt at the boundary right after an IRET that
// loaded RF=1; 0 for INT n/INT3, for a single-step trap and for an interrupt
// between two plain instructions. cr3 has no instruction breakpoints, so RF
// loaded by IRET changes nothing else, but a handler sees it in the frame.
//
// QEMU 7.2 (TCG) never sets RF in a frame: it prints this image's line with
// every value 0 ("rf ud=0 iret=0 bp=0 db=0 gp=0 rep=0 at-rep=y loop=0"), which
// also shows the two timer interrupts land where expected. cr3 follows the SDM.

import { describe, expect, it } from "vitest";
import { PcMachine } from "../src/machine/pc.ts";

/*
 * nasm -f bin, a multiboot1 a.out-kludge image at 0x100000 (32-bit protected
 * mode, 8259s masked, local APIC enabled, IF=1). Each handler stores its
 * frame's RF as a digit into the report line, which goes to COM1:
 *
 *   ud2                           #UD fault (ud=); its handler sends a self-IPI, vector
 *                                 0x41, taken right after its IRET (iret=)
 *   int3                          #BP, software (bp=)
 *   pushfd/or TF/popfd; nop       single-step #DB after the NOP (db=)
 *   mov ax, 0x1230; mov ds, ax    #GP(0x1230), beyond the GDT (gp=)
 *   timer one-shot, count 2000, divide 1, vector 0x40; rep stosb over 4 MiB:
 *                                 the interrupt comes between iterations (rep=;
 *                                 at-rep=y: the frame's EIP is the REP's)
 *   timer again; a cmp/jne loop   an interrupt between plain instructions (loop=)
 *   print the line, out 0xf4 with 0
 */
const IMAGE = Buffer.from(
    "02b0ad1b00000100fe4f51e40000100000001000c6031000c603100020001000bc000009000f011dc0031000b0ffe621e6a1c705f000e0feff010000" +
    "fb0f0bcc9c810c24000100009d9066b830128ed8c705e003e0fe0b000000c7052003e0fe40000000bf00000001b90000400031c0c7058003e0fed007" +
    "0000f3aac7058003e0fed0070000803da60110000275f7fa813da80110007a0010007507c6059c01100079be7101100066baf803ac84c07403eeebf8" +
    "b000e6f4f48b442408c1e81024010430a27701100083042402c7050003e0fe41400400cf8b442408c1e81024010430a27e011000c705b000e0fe0000" +
    "0000cf8b442408c1e81024010430a283011000cf8b442408c1e81024010430a28801100081642408fffeffffcf8b44240cc1e81024010430a28d0110" +
    "0083c40483042402cf508b44240cc1e81024010430803da6011000007510a2930110008b442404a3a8011000eb05a2a3011000fe05a6011000c705b0" +
    "00e0fe0000000058cf72662075643d3f20697265743d3f2062703d3f2064623d3f2067703d3f207265703d3f2061742d7265703d6e206c6f6f703d3f" +
    "0a0000900000000090909090000000000000000004010800008e10000000000000000000f3000800008e100000000000000000000000000000000000" +
    "b9000800008e10000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001d010800" +
    "008e10" +
    "00".repeat(401) +
    "35010800008e1000d8000800008e10000f02b0011000",
  "hex",
);

describe("RF in the saved EFLAGS image", () => {
  it("is 1 for faults, mid-REP interrupts and right after an IRET that loaded it; 0 for software interrupts, traps and plain boundaries", () => {
    let out = "";
    const machine = new PcMachine({ debugExit: { base: 0xf4, size: 4 }, serialOut: (b) => (out += String.fromCharCode(b)) });
    machine.loadMultiboot(IMAGE);
    expect(machine.runToEnd(1e6)).toEqual({ kind: "exit", status: 1 });
    expect(out).toBe("rf ud=1 iret=1 bp=0 db=0 gp=1 rep=1 at-rep=y loop=0\n");
  });
});
