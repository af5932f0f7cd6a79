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

function rawViewLoads(view: DataView, pa: Int32Array): number {
  let sum = 0;
  for (let k = 0; k < pa.length; k++) sum = (sum + view.getInt32(pa[k], true)) | 0;
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
    { name: "raw DataView", run: () => rawViewLoads(m.ram.view, pa) },
    { name: "mmu", run: () => mmuLoads(mmu, va, SUPERVISOR_READ) },
  ]);
  return { raw: results[0], rawView: results[1], mmu: results[2], stats: mmu.stats() };
}

interface SwitchSetup {
  name: string;
  live: number;
  pcid: boolean;
  mmu: Mmu;
  touch: () => void;
  cr3A: number;
  cr3B: number;
  keep: number;
}

/**
 * Two address spaces over the same pages. Before each timed CR3 write the
 * current space's `live` entries are touched (so they are live); the write
 * then switches to the other space. With PCID and the no-flush bit, both
 * spaces' entries stay live across switches.
 */
function switchSetup(live: number, pcid: boolean): SwitchSetup {
  const m = longModeMachine(live);
  const { mmu } = m;
  const ptB = new PageTableBuilder(m.bus, "4level", 0x3000000);
  for (let i = 0; i < live; i++) ptB.map(m.vaBase + i * 4096, m.paBase + i * 4096, { flags: P | RW });
  if (pcid) mmu.setCr4(mmu.cr4 | CR4_PCIDE);
  const touch = () => {
    for (let i = 0; i < live; i++) mmu.read32(m.vaBase + i * 4096, 0, SUPERVISOR_READ);
  };
  touch();
  if (mmu.liveEntries().dtlb < live * 0.9) throw new Error(`only ${mmu.liveEntries().dtlb} live entries, wanted ${live}`);
  return {
    name: `${live} live ${pcid ? "PCID" : "no PCID"}`,
    live,
    pcid,
    mmu,
    touch,
    cr3A: pcid ? m.pt.cr3 | 1 : m.pt.cr3,
    cr3B: pcid ? ptB.cr3 | 2 : ptB.cr3,
    keep: pcid ? 0x80000000 : 0,
  };
}

// Refilling 4096 entries evicts the few cache lines a CR3 write touches, which
// would make that case slower for reasons that have nothing to do with the
// TLB. Sweeping a buffer larger than L2 before every timed write puts both
// cases in the same cache state.
const scratch = new Int32Array((2 * MIB) / 4);
function sweepCaches(): void {
  let sum = 0;
  for (let i = 0; i < scratch.length; i += 16) sum = (sum + scratch[i]) | 0;
  consume(sum);
}

const BURST = 32;

/**
 * Median ns per CR3 write in bursts of BURST writes, each burst right after
 * the space's entries were refilled: the burst's first write meets every
 * live entry, so a cost that grew with them (clearing 4096 entries takes
 * microseconds) would dominate the burst.
 */
function timeSwitches(setups: SwitchSetup[], rounds: number): number[] {
  const samples = setups.map(() => [] as number[]);
  for (let round = 0; round < rounds; round++) {
    setups.forEach((s, i) => {
      s.mmu.setCr3(s.cr3A, s.keep);
      s.touch();
      sweepCaches();
      const t0 = process.hrtime.bigint();
      switchBatch(s.mmu, s.cr3B, s.cr3A, s.keep, BURST);
      samples[i].push(Number(process.hrtime.bigint() - t0) / BURST);
    });
  }
  return samples.map((xs) => median(xs));
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
  console.log(`  raw DataView load     ${fmt(hit.rawView.nsPerOp)} ns  (little-endian, any alignment: what a guest load needs)`);
  console.log(`  MMU load (TLB hit)    ${fmt(hit.mmu.nsPerOp)} ns  (${fmt(hit.mmu.nsPerOp / hit.rawView.nsPerOp)}x the DataView load)`);
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
  console.log(`switch: CR3 writes with 64 and with 4096 live DTLB entries (bursts of ${BURST} right after a refill)`);
  const setups = [switchSetup(64, false), switchSetup(4096, false), switchSetup(64, true), switchSetup(4096, true)];
  timeSwitches(setups, 100); // warm-up: every path compiled before timing
  const [few, many, fewPcid, manyPcid] = timeSwitches(setups, 600);
  const line = (label: string, a: number, b: number) =>
    console.log(`  ${label}  64 live: ${fmt(a, 1)} ns   4096 live: ${fmt(b, 1)} ns   ratio ${fmt(b / a)}`);
  line("no PCID (flushes)     ", few, many);
  line("PCID, no-flush bit set", fewPcid, manyPcid);
  // With PCID and the no-flush bit nothing is dropped, so switches can be
  // timed back to back, every one with all entries of both spaces live.
  const batch = [setups[2], setups[3]].map((s) => {
    s.mmu.setCr3(s.cr3A, s.keep);
    s.touch();
    s.mmu.setCr3(s.cr3B, s.keep);
    s.touch();
    return s;
  });
  const results = measure(
    batch.map((s) => ({
      name: s.name,
      run: () => switchBatch(s.mmu, s.cr3A, s.cr3B, s.keep, 100_000),
    })),
  );
  const liveAfter = batch[1].mmu.liveEntries().dtlb;
  console.log(
    `  PCID, back to back     64 live: ${fmt(results[0].nsPerOp, 1)} ns   ${liveAfter} live: ${fmt(results[1].nsPerOp, 1)} ns   ratio ${fmt(results[1].nsPerOp / results[0].nsPerOp)}`,
  );
}

function switchBatch(mmu: Mmu, a: number, b: number, keep: number, n: number): number {
  for (let i = 0; i < n; i += 2) {
    mmu.setCr3(a, keep);
    mmu.setCr3(b, keep);
  }
  return n;
}

main();
