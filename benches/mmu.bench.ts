// MMU benchmarks: the cost of a TLB hit and of a full page walk, each as a
// ratio to a raw typed-array load of the same physical addresses, and the
// cost of a CR3 switch with few and many live TLB entries, with and without
// PCID. Run with `npm run bench`.

import { createMachineMemory } from "../src/machine/memory.ts";
import { SUPERVISOR_READ } from "../src/mmu/access.ts";
import type { Mmu } from "../src/mmu/mmu.ts";
import { CR0_PE, CR0_PG, CR0_WP, CR4_PAE, CR4_PCIDE, EFER_LME, EFER_NXE } from "../src/mmu/paging-mode.ts";
import { PageTableBuilder, P, RW } from "../test/helpers/page-tables.ts";
import { consume, fmt, measure, median, verdict } from "./harness.ts";

const MIB = 1024 * 1024;

function longModeMachine(pages: number, dataTlb = { entries: 4096, ways: 4 }) {
  const memory = createMachineMemory({ ramBytes: 512 * MIB, dataTlb });
  const { mmu, bus } = memory;
  const pt = new PageTableBuilder(bus, "4level", 0x100000);
  const vaBase = 0x40000000;
  const paBase = 64 * MIB;
  for (let i = 0; i < pages; i++) pt.map(vaBase + i * 4096, paBase + i * 4096, { flags: P | RW });
  mmu.setEfer(EFER_LME | EFER_NXE);
  mmu.setCr4(CR4_PAE);
  mmu.setCr3(pt.cr3, 0);
  mmu.setCr0(CR0_PE | CR0_PG | CR0_WP);
  return { ...memory, pt, vaBase, paBase };
}

// The measured loops take everything as parameters, as a CPU holds its MMU in
// a register: captured module bindings would be reloaded on every iteration.
function rawLoads(ram: Int32Array, pa: Int32Array): number {
  let sum = 0;
  for (let k = 0; k < pa.length; k++) sum = (sum + ram[pa[k] >>> 2]) | 0;
  consume(sum);
  return pa.length;
}

function mmuLoads(mmu: Mmu, va: Int32Array, cls: number): number {
  let sum = 0;
  for (let k = 0; k < va.length; k++) sum = (sum + mmu.read32(va[k], 0, cls)) | 0;
  consume(sum);
  return va.length;
}

/** Loads through the MMU vs raw loads of the same physical addresses. */
function loadPair(name: string, pages: number, accesses: number) {
  const m = longModeMachine(pages);
  const va = new Int32Array(accesses);
  const pa = new Int32Array(accesses);
  for (let k = 0; k < accesses; k++) {
    const page = k % pages; // sequential page order: with more pages than entries, every access misses
    const offset = ((k * 68) & 0xffc) >>> 0;
    va[k] = m.vaBase + page * 4096 + offset;
    pa[k] = m.paBase + page * 4096 + offset;
  }
  const { mmu } = m;
  const ramI32 = m.ram.i32;
  // Sanity: both read the same data.
  if (m.bus.frameRamOffset(pa[accesses - 1]) < 0) throw new Error(`${name}: mapped beyond RAM`);
  for (let k = 0; k < accesses; k += 997) ramI32[pa[k] >>> 2] = k * 7919;
  for (let k = 0; k < accesses; k += 997) {
    if (mmu.read32(va[k], 0, SUPERVISOR_READ) !== ramI32[pa[k] >>> 2] || mmu.faultPending) {
      throw new Error(`${name}: MMU and raw loads disagree at access ${k}`);
    }
  }
  const results = measure([
    { name: "raw", run: () => rawLoads(ramI32, pa) },
    { name: "mmu", run: () => mmuLoads(mmu, va, SUPERVISOR_READ) },
  ]);
  return { raw: results[0], mmu: results[1], stats: mmu.stats() };
}

function cr3SwitchCost(liveEntries: number, pcid: boolean): number {
  // Two address spaces over the same pages; each switch lands on a space with
  // `liveEntries` entries cached (refilled before each timed switch).
  const m = longModeMachine(liveEntries);
  const { mmu } = m;
  const spaceA = m.pt.cr3;
  const ptB = new PageTableBuilder(m.bus, "4level", 0x3000000);
  for (let i = 0; i < liveEntries; i++) ptB.map(m.vaBase + i * 4096, m.paBase + i * 4096, { flags: P | RW });
  if (pcid) mmu.setCr4(mmu.cr4 | CR4_PCIDE);
  const cr3A = pcid ? spaceA | 1 : spaceA;
  const cr3B = pcid ? ptB.cr3 | 2 : ptB.cr3;
  const keep = pcid ? 0x80000000 : 0;
  const touch = () => {
    for (let i = 0; i < liveEntries; i++) mmu.read32(m.vaBase + i * 4096, 0, SUPERVISOR_READ);
  };
  const samples: number[] = [];
  for (let round = 0; round < 400; round++) {
    touch();
    const live = round === 0 ? mmu.liveEntries().dtlb : 0;
    if (round === 0 && live < liveEntries * 0.9) throw new Error(`only ${live} live entries, wanted ${liveEntries}`);
    const target = round & 1 ? cr3A : cr3B;
    const t0 = process.hrtime.bigint();
    for (let r = 0; r < 16; r++) mmu.setCr3(r & 1 ? cr3A : target, keep);
    samples.push(Number(process.hrtime.bigint() - t0) / 16);
  }
  return median(samples.slice(50));
}

function main(): void {
  const only = process.argv[2];
  console.log("cr3 MMU benchmarks (medians of interleaved trials; ns per operation)\n");
  if (only === undefined || only === "hit") benchHit();
  if (only === undefined || only === "walk") benchWalk();
  if (only === undefined || only === "switch") benchSwitch();
}

function benchHit(): void {
  const hit = loadPair("hit", 64, 4_000_000);
  const hitRatio = hit.mmu.nsPerOp / hit.raw.nsPerOp;
  console.log("hit: 32-bit load through the MMU on a TLB hit (64 pages, 4-level paging)");
  console.log(`  raw typed-array load  ${fmt(hit.raw.nsPerOp)} ns`);
  console.log(`  MMU load (TLB hit)    ${fmt(hit.mmu.nsPerOp)} ns`);
  console.log(`  ratio                 ${fmt(hitRatio)}  (${verdict(hitRatio, 3)})`);
  console.log(`  DTLB hit rate         ${fmt((100 * hit.stats.dtlbHits) / (hit.stats.dtlbHits + hit.stats.dtlbMisses), 3)}%\n`);
}

function benchWalk(): void {
  const walk = loadPair("walk", 65536, 1_000_000);
  const walkRatio = walk.mmu.nsPerOp / walk.raw.nsPerOp;
  const missRate = walk.stats.dtlbMisses / (walk.stats.dtlbHits + walk.stats.dtlbMisses);
  console.log("walk: 32-bit load that misses the TLB (65536 pages round-robin, 4096-entry DTLB)");
  console.log(`  raw typed-array load  ${fmt(walk.raw.nsPerOp)} ns`);
  console.log(`  MMU load + 4-level walk ${fmt(walk.mmu.nsPerOp)} ns  (${fmt(1e3 / walk.mmu.nsPerOp, 1)} M walks/s)`);
  console.log(`  ratio                 ${fmt(walkRatio)}  (${verdict(walkRatio, 15)})`);
  console.log(`  miss rate ${fmt(100 * missRate, 2)}%, walk memory reads per walk ${fmt(walk.stats.walkMemoryReads / walk.stats.walks)}\n`);
}

function benchSwitch(): void {
  console.log("switch: one CR3 write, with 64 and with 4096 live DTLB entries");
  for (const pcid of [false, true]) {
    const few = cr3SwitchCost(64, pcid);
    const many = cr3SwitchCost(4096, pcid);
    const label = pcid ? "PCID, no-flush bit set" : "no PCID (flushes)    ";
    console.log(`  ${label}  64 live: ${fmt(few, 1)} ns   4096 live: ${fmt(many, 1)} ns   ratio ${fmt(many / few)}`);
  }
}

main();
