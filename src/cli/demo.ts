// What `cr3` shows before the CPU exists: the MMU at work on a small address
// space, explained in words — a walk, a page fault, a stale TLB entry that
// INVLPG cures, a CR3 switch — and the counters behind them.

import { createMachineMemory } from "../machine/memory.ts";
import { SUPERVISOR_READ, SUPERVISOR_WRITE, USER_READ, USER_WRITE } from "../mmu/access.ts";
import { errorCodeText, hexPair } from "../mmu/explain.ts";
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PGE, EFER_LME, EFER_NXE } from "../mmu/paging-mode.ts";
import { G, P, PageTableBuilder, RW, US, halves } from "../mmu/page-table-builder.ts";

export function runDemo(write: (line: string) => void): void {
  const { mmu, bus, vga } = createMachineMemory({ ramBytes: 16 * 1024 * 1024 });
  const space = new PageTableBuilder(bus, "4level", 0x100000);
  space.map(0x400000, 0x800000, { flags: P | RW | US });
  space.map(0x401000, 0x801000, { flags: P | US });
  space.map(0xffffffff80000000n, 0x200000, { flags: P | RW | G });
  mmu.setEfer(EFER_LME | EFER_NXE);
  mmu.setCr4(CR4_PAE | CR4_PGE);
  mmu.setCr3(space.cr3, 0);
  mmu.setCr0(CR0_PE | CR0_PG | CR0_WP);

  write("An address space with 4-level paging: user pages at 0x400000 (RW) and");
  write("0x401000 (read-only), a global kernel page at 0xffffffff80000000.\n");

  write("1. A user write at 0x400010 walks the tables:");
  const walk = mmu.explainWalk(0x400010, 0, USER_WRITE, 3);
  for (const level of walk.levels) {
    write(`   ${level.table}[${level.index}] at ${hexPair(0, level.entryAddress)} = 0x${level.entry.replace(/^0+(?=.)/, "")}  ${level.flags.join(" ")}`);
  }
  mmu.write32(0x400010, 0, USER_WRITE, 0x12345678);
  write(`   → ${walk.summary}; the PTE now has A and D set.\n`);

  write("2. A user write to the read-only page faults:");
  mmu.write32(0x401000, 0, USER_WRITE, 1);
  write(`   ${mmu.explainWalk(0x401000, 0, USER_WRITE, 3).summary}`);
  write(`   error code ${mmu.faultErrorCode} (${errorCodeText(mmu.faultErrorCode)}), CR2 = 0x${(mmu.faultAddressLo >>> 0).toString(16)}\n`);
  mmu.clearFault();

  write("3. The kernel remaps 0x400000 to another frame but forgets INVLPG:");
  space.map(0x400000, 0x900000, { flags: P | RW | US });
  bus.write32(0x900010, 0x0badf00d);
  const stale = mmu.read32(0x400010, 0, USER_READ) >>> 0;
  write(`   a read still returns 0x${stale.toString(16)} from the old frame:`);
  write(`   ${mmu.explainWalk(0x400010, 0, USER_READ, 3).tlb.note}`);
  mmu.invlpg(0x400010, 0);
  write(`   after INVLPG it returns 0x${(mmu.read32(0x400010, 0, USER_READ) >>> 0).toString(16)}.\n`);

  write("4. A second address space shares the global kernel page; a CR3 switch");
  write("   drops the first space's entries and keeps the global one:");
  const [klo, khi] = halves(0xffffffff80000000n);
  mmu.write32(klo, khi, SUPERVISOR_WRITE, 42);
  const other = new PageTableBuilder(bus, "4level", 0x180000);
  other.map(0xffffffff80000000n, 0x200000, { flags: P | RW | G });
  mmu.setCr3(other.cr3, 0);
  const walksBefore = mmu.stats().walks;
  mmu.read32(klo, khi, SUPERVISOR_READ);
  write(`   kernel read after the switch: ${mmu.stats().walks === walksBefore ? "TLB hit, no walk" : "walked"}.`);
  mmu.read32(0x400010, 0, USER_READ);
  write(`   ${mmu.faultPending ? mmu.explainWalk(0x400010, 0, USER_READ, 3).summary : "user page still mapped"}\n`);
  mmu.clearFault();

  write("5. MMIO: the kernel maps the VGA text buffer (physical 0xB8000) at");
  write("   0xffffffff800b8000 and writes characters through the MMU:");
  other.map(0xffffffff800b8000n, 0xb8000, { flags: P | RW | G });
  const [vlo, vhi] = halves(0xffffffff800b8000n);
  const text = "Hello from cr3";
  for (let i = 0; i < text.length; i++) mmu.write16((vlo + 2 * i) | 0, vhi, SUPERVISOR_WRITE, 0x1f00 | text.charCodeAt(i));
  const ramBeneath = bus.ram.u8.subarray(0xb8000, 0xb8000 + 2 * text.length).some((b) => b !== 0);
  write(`   the screen's first line now reads "${vga.toText().split("\n")[0]}"; the`);
  write(`   ${bus.mmioWrites} writes went to the device, ${ramBeneath ? "but some reached" : "none to"} the RAM beneath it.\n`);

  const s = mmu.stats();
  write("Counters:");
  write(`   DTLB hits ${s.dtlbHits}, misses ${s.dtlbMisses}; walks ${s.walks} reading ${s.walkMemoryReads} entries;`);
  write(`   page faults ${s.pageFaults}; CR3 writes ${s.cr3Writes}; INVLPGs ${s.invlpgs}.`);
}
