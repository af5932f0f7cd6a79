// `-d int`: each exception and interrupt in QEMU's format (vector, error
// code, CPL, CS:RIP, SS:RSP, CR2, registers), and for a #PF one more line in
// words from the walker's explanation. Also the triple-fault report.

import type { Cpu, FaultRecord } from "../cpu/cpu.ts";
import { CS, EXCEPTION_NAMES, SS } from "../cpu/cpu.ts";

const hex = (v: number, digits: number): string => (v >>> 0).toString(16).padStart(digits, "0");
const hex64 = (lo: number, hi: number): string => hex(hi, 8) + hex(lo, 8);
const REG_NAMES = ["RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI", "R8 ", "R9 ", "R10", "R11", "R12", "R13", "R14", "R15"];

export function vectorName(vector: number): string {
  return vector < EXCEPTION_NAMES.length ? EXCEPTION_NAMES[vector] : `vector 0x${vector.toString(16)}`;
}

/** Returns the -d int hook for `cpu`, writing lines with `write`. */
export function interruptLogger(cpu: Cpu, write: (text: string) => void): (vector: number, errorCode: number, software: boolean) => void {
  let count = 0;
  return (vector, errorCode, software) => {
    const regs = cpu.regs;
    const lines: string[] = [];
    lines.push(
      `${String(count++).padStart(6)}: v=${hex(vector, 2)} e=${hex(errorCode < 0 ? 0 : errorCode, 4)} i=${software ? 1 : 0} cpl=${cpu.cpl} ` +
        `IP=${hex(cpu.segSelector[CS], 4)}:${hex64(cpu.ripLo, cpu.ripHi)} pc=${hex64(cpu.startLo, cpu.startHi)} ` +
        `SP=${hex(cpu.segSelector[SS], 4)}:${hex64(regs[8], regs[9])}` +
        (vector === 14 ? ` CR2=${hex64(cpu.cr2Lo, cpu.cr2Hi)}` : ` env->regs[R_EAX]=${hex64(regs[0], regs[1])}`),
    );
    for (let row = 0; row < 16; row += 4) {
      const cells: string[] = [];
      for (let r = row; r < row + 4; r++) cells.push(`${REG_NAMES[r]}=${hex64(regs[r << 1], regs[(r << 1) | 1])}`);
      lines.push(cells.join(" "));
    }
    lines.push(`RIP=${hex64(cpu.ripLo, cpu.ripHi)} RFL=${hex(cpu.getEflags(), 8)} CPL=${cpu.cpl} CR0=${hex(cpu.mmu.cr0, 8)} CR3=${hex64(cpu.mmu.cr3Lo, cpu.mmu.cr3Hi)} CR4=${hex(cpu.mmu.cr4, 8)}`);
    if (vector === 14 && !software) {
      const text = cpu.mmu.explainWalk(cpu.cr2Lo, cpu.cr2Hi, cpu.classOfPageFault(errorCode), cpu.cpl).summary;
      lines.push(`    ${text}`);
    }
    write(lines.join("\n") + "\n");
  };
}

/** The chain of exceptions that ended in a triple fault, each explained. */
export function tripleFaultReport(chain: readonly FaultRecord[]): string {
  const lines = ["cr3: the guest triple-faulted (an exception while delivering a double fault); the machine stops. The chain:"];
  for (const f of chain) {
    let line = `  ${vectorName(f.vector)} (vector ${f.vector}`;
    if (f.errorCode >= 0 && (f.vector === 8 || (f.vector >= 10 && f.vector <= 14) || f.vector === 17)) line += `, error code 0x${f.errorCode.toString(16)}`;
    line += `) at RIP 0x${hex64(f.ripLo, f.ripHi).replace(/^0+(?=.)/, "")}, CPL ${f.cpl}`;
    if (f.vector === 14) line += `: ${f.explanation || `CR2 0x${hex64(f.cr2Lo, f.cr2Hi)}`}`;
    lines.push(line);
  }
  return lines.join("\n");
}
