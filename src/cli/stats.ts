// --stats and --stats-json: what the run cost — instructions, MIPS, TLB
// hits and misses, page walks, page faults by cause, CR3 switches, guest
// time and how much of it was idle, external interrupts delivered, and the
// sectors each IDE disk read and wrote (a swapping guest's pages out and in).

import type { PcMachine } from "../machine/pc.ts";

export interface RunStats {
  instructions: number;
  /** Guest run time, loading excluded. */
  seconds: number;
  mips: number;
  itlbHits: number;
  itlbMisses: number;
  /** Instruction fetches served by the CPU's current-code-page translation, without an ITLB lookup. */
  codePageHits: number;
  dtlbHits: number;
  dtlbMisses: number;
  walks: number;
  walkMemoryReads: number;
  pageFaults: number;
  pageFaultsByCause: Record<string, number>;
  cr3Writes: number;
  tlbFlushes: number;
  invlpgs: number;
  /** Guest time at the end of the run, in seconds (virtual or host clock). */
  guestSeconds: number;
  /** Of which the CPU spent halted, skipped over (virtual clock). */
  idleSeconds: number;
  /** External interrupts delivered through the local APIC and through the 8259. */
  apicInterrupts: number;
  picInterrupts: number;
  /** One entry per attached IDE disk, in index order; empty with no disks. */
  disks: DiskStats[];
  /** Tier 1's figures (null with --jit off). */
  jit: JitRunStats | null;
  exitStatus: number;
}

/** What the compiler did (src/jit/engine.ts). */
export interface JitRunStats {
  regionsCompiled: number;
  /** Instructions retired in compiled code, and their share of all. */
  compiledInstructions: number;
  compiledShare: number;
  /** Time spent choosing regions and generating and compiling their code. */
  compileSeconds: number;
  /** Regions dropped because their code page was written. */
  invalidations: number;
}

/** Sectors a disk moved for READ/WRITE (MULTIPLE) SECTORS (src/devices/ata-disk.ts). */
export interface DiskStats {
  /** hda, hdb, hdc or hdd. */
  name: string;
  sectorsRead: number;
  sectorsWritten: number;
}

/** 512-byte sectors in a 4 KiB page. */
const SECTORS_PER_PAGE = 8;
/** Width of the label column of formatStats's lines. */
const LABEL_WIDTH = 15;

/** Names of the walker's denial reasons (rights.ts DENY_*), index 1 on. */
const FAULT_CAUSES = ["", "not present", "reserved bit", "supervisor page", "SMAP", "SMEP", "read-only", "no-execute", "protection key (access)", "protection key (write)"];

export function runStats(machine: PcMachine, seconds: number, exitStatus: number): RunStats {
  const cpu = machine.cpu;
  const mmu = machine.memory.mmu;
  const s = mmu.stats();
  const byCause: Record<string, number> = {};
  for (let r = 1; r < FAULT_CAUSES.length; r++) {
    const n = mmu.faultsByReason[r];
    if (n > 0) byCause[FAULT_CAUSES[r]] = n;
  }
  return {
    instructions: cpu.icount,
    seconds,
    mips: seconds > 0 ? cpu.icount / seconds / 1e6 : 0,
    itlbHits: s.itlbHits,
    itlbMisses: s.itlbMisses,
    // Compiled code fetches nothing: its figure counts the entries into it.
    codePageHits: cpu.codePageHits,
    dtlbHits: s.dtlbHits,
    dtlbMisses: s.dtlbMisses,
    walks: s.walks,
    walkMemoryReads: s.walkMemoryReads,
    pageFaults: s.pageFaults,
    pageFaultsByCause: byCause,
    cr3Writes: s.cr3Writes,
    tlbFlushes: s.fullFlushes + s.pcidFlushes,
    invlpgs: s.invlpgs,
    guestSeconds: machine.clock.now() / 1e9,
    idleSeconds: machine.clock.idleNanoseconds / 1e9,
    apicInterrupts: machine.router.apicInterrupts,
    picInterrupts: machine.router.picInterrupts,
    disks: machine.attachedDisks().map(({ name, disk }) => ({ name, sectorsRead: disk.sectorsRead, sectorsWritten: disk.sectorsWritten })),
    jit: jitStats(machine),
    exitStatus,
  };
}

function jitStats(machine: PcMachine): JitRunStats | null {
  const jit = machine.jit;
  if (jit === null) return null;
  const s = jit.stats();
  const all = machine.cpu.icount;
  return {
    regionsCompiled: s.regionsCompiled,
    compiledInstructions: s.compiledInstructions,
    compiledShare: all === 0 ? 0 : s.compiledInstructions / all,
    compileSeconds: s.compileMs / 1000,
    invalidations: s.invalidations,
  };
}

function jitLine(j: JitRunStats | null): string {
  const label = "compiled code".padEnd(LABEL_WIDTH);
  if (j === null) return `${label}off (--jit off): every instruction interpreted`;
  return `${label}${j.compiledInstructions} instructions (${(100 * j.compiledShare).toFixed(2)}%) in ${j.regionsCompiled} regions; compiling took ${j.compileSeconds.toFixed(3)} s; ${j.invalidations} invalidated by writes`;
}

/** Sectors as 4 KiB pages: exact, so a count that is not a whole number of pages shows its fraction. */
const pages = (sectors: number): string => String(sectors / SECTORS_PER_PAGE);

/** One line per disk: its writes first, the pages a swapping guest sent out, then its reads. */
function diskLine(d: DiskStats): string {
  return `${`disk ${d.name}`.padEnd(LABEL_WIDTH)}${d.sectorsWritten} sectors written (${pages(d.sectorsWritten)} pages of 4 KiB), ${d.sectorsRead} read (${pages(d.sectorsRead)} pages)`;
}

const pct = (a: number, b: number): string => (b === 0 ? "-" : `${((100 * a) / b).toFixed(2)}%`);

export function formatStats(s: RunStats): string {
  const dAccesses = s.dtlbHits + s.dtlbMisses;
  const iLookups = s.itlbHits + s.itlbMisses;
  const causes = Object.entries(s.pageFaultsByCause)
    .map(([cause, n]) => `${n} ${cause}`)
    .join(", ");
  return (
    [
      "--- cr3 statistics ---",
      `instructions   ${s.instructions} in ${s.seconds.toFixed(3)} s: ${s.mips.toFixed(1)} MIPS`,
      jitLine(s.jit),
      `data TLB       ${s.dtlbHits} hits, ${s.dtlbMisses} misses (hit rate ${pct(s.dtlbHits, dAccesses)})`,
      `instr. TLB     ${s.itlbHits} hits, ${s.itlbMisses} misses (hit rate ${pct(s.itlbHits, iLookups)}); ${s.codePageHits} fetches reused the current code page's translation`,
      `page walks     ${s.walks}, ${s.walkMemoryReads} page-table reads (${s.walks === 0 ? "-" : (s.walkMemoryReads / s.walks).toFixed(2)} per walk)`,
      `page faults    ${s.pageFaults}${causes === "" ? "" : `: ${causes}`}`,
      `CR3 writes     ${s.cr3Writes}; TLB flushes ${s.tlbFlushes}; INVLPG ${s.invlpgs}`,
      `guest time     ${s.guestSeconds.toFixed(3)} s, ${s.idleSeconds.toFixed(3)} s of it halted${s.guestSeconds > 0 ? ` (${pct(s.idleSeconds, s.guestSeconds)})` : ""}`,
      `interrupts     ${s.apicInterrupts} through the local APIC, ${s.picInterrupts} through the 8259`,
      ...s.disks.map(diskLine),
    ].join("\n") + "\n"
  );
}
