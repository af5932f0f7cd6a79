// NMIs: a self-NMI through the local APIC's ICR is taken at the next
// instruction boundary whatever IF says, and a second NMI sent from inside the
// handler waits for its IRET (SDM Vol. 3A 6.7.1). The guest below prints its
// verdict through isa-debug-exit; QEMU 7.2 (TCG) exits with 71 on it.

import { describe, expect, it } from "vitest";
import { PcMachine } from "../src/machine/pc.ts";

/*
 * nasm -f bin, a multiboot1 a.out-kludge image loaded at 0x100000:
 *
 *   start: mov esp, 0x90000
 *          lidt [idtr]                        ; vector 2: 32-bit interrupt gate to handler
 *          mov dword [0xfee00300], 0x44400    ; ICR: NMI, assert, to self
 *          jmp .next                          ; QEMU takes interrupts only at the end of a translation block
 *   .next: mov al, [count]
 *          mov [seen_after_send], al          ; 1 NMI, and the nested one after its IRET: 2
 *          mov al, [count] / shl al, 4 / or al, [inside] / add al, [seen_after_send]
 *          out 0xf4, al                       ; count*16 + inside + seen
 *   handler: inc byte [count]
 *          cmp byte [count], 1 / jne .done
 *          mov dword [0xfee00300], 0x44400    ; nested NMI: held until IRET
 *          jmp .held
 *   .held: mov al, [count] / mov [inside], al ; still 1 here
 *   .done: iretd
 */
const IMAGE = Buffer.from("02b0ad1b00000100fe4f51e40000100000001000a3001000a300100020001000bc000009000f011d7e001000c7050003e0fe00440400eb00a0a0001000a2a2001000a0a0001000c0e0040a05a10010000205a2001000e6f4fe05a0001000803da0001000017516c7050003e0fe00440400eb00a0a0001000a2a1001000cf170088001000909090900000000000000000000000000000000058000800008e1000000000", "hex");

describe("NMI", () => {
  it("a self-NMI is taken at once, and one sent by its handler waits for the IRET (QEMU's verdict: 71)", () => {
    const machine = new PcMachine({ debugExit: { base: 0xf4, size: 4 } });
    machine.loadMultiboot(IMAGE);
    expect(machine.runToEnd(1e6)).toEqual({ kind: "exit", status: 71 }); // (2*16 + 1 + 2) << 1 | 1
  });

  it("an NMI wakes a HLT executed with IF=0, which otherwise ends the run", () => {
    // start: lidt [idtr] / cli / hlt / mov al, [count] / out 0xf4, al;  NMI handler: inc byte [count] / iretd
    const image = Buffer.from(
      "02b0ad1b00000100fe4f51e40000100000001000610010006100100020001000bc000009000f011d3c001000faf4a060001000e6f4fe0560001000cf1700480010009090909090900000000000000000000000000000000035000800008e100000",
      "hex",
    );
    const machine = new PcMachine({ debugExit: { base: 0xf4, size: 4 } });
    machine.loadMultiboot(image);
    expect(machine.run(1000)).toEqual({ kind: "halted", interruptsEnabled: false });
    machine.cpu.requestNmi();
    expect(machine.run(1000)).toEqual({ kind: "exit", status: 3 }); // count 1
  });
});
