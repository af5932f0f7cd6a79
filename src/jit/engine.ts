// Tier 1: the dispatcher between the interpreter and compiled regions.
// Before each interpreted instruction the CPU's run loop asks enter(): the
// RIP's code page is translated as the fetch of that instruction would
// (Cpu.fetchPage: the fetch path's cached translation while the MMU
// generation and fetch class hold, else an ITLB lookup), and the entry point,
// keyed by RAM offset plus the mode bits compiled code depends on, is looked
// up. A miss counts; at `threshold` executions the region around it is
// compiled. A hit runs the region, then the next one, while nothing needs
// the run loop (interrupts, a halt, a shadow, the budget).

import { CS, type CompiledCode, type Cpu, GUEST_EXCEPTION } from "../cpu/cpu.ts";
import { TF } from "../cpu/flags.ts";
import { execute } from "../cpu/execute.ts";
import { alu, imulTruncating, incDec, mulLow64, shift } from "../cpu/alu.ts";
import type { Mmu } from "../mmu/mmu.ts";
import { CodeCache, type CompiledRegion } from "./code-cache.ts";
import { emitRegion } from "./emit.ts";
import { buildRegion } from "./region.ts";

/** Executions of an entry point before its region is compiled. */
export const DEFAULT_THRESHOLD = 20000;

/** Instructions retired in compiled code: [0] counts them (the regions' fault path adds its share). */
type Counter = Float64Array;

function helpers(retired: Counter) {
  return { alu, incDec, shift, imulTruncating, mulLow64, execute, GUEST_EXCEPTION, retired };
}
type Helpers = ReturnType<typeof helpers>;

/** Figures for --stats. */
export interface JitStats {
  regionsCompiled: number;
  /** Guest instructions retired inside compiled regions. */
  compiledInstructions: number;
  /** Time spent building and compiling regions (ms; V8's own optimisation later is not included). */
  compileMs: number;
  /** Regions dropped because their code page was written. */
  invalidations: number;
}

type RegionFactory = (
  cpu: Cpu,
  mmu: Mmu,
  insns: unknown[],
  ripLo: Int32Array,
  ripHi: Int32Array,
  position: Int32Array,
  labels: Int16Array,
  helpers: Helpers,
) => (label: number) => number;

export class JitEngine implements CompiledCode {
  readonly cache = new CodeCache();
  threshold: number;
  regionsCompiled = 0;
  compileMs = 0;
  private readonly retired: Counter = new Float64Array(1);
  private readonly helpers: Helpers = helpers(this.retired);
  private readonly mmu: Mmu;

  /** Guest instructions retired in compiled code. */
  get compiledInstructions(): number {
    return this.retired[0];
  }

  constructor(mmu: Mmu, threshold = DEFAULT_THRESHOLD) {
    this.mmu = mmu;
    this.threshold = threshold;
  }

  /** The mode bits compiled code depends on (besides its RIP's page): 64-bit mode, access classes, stack width, LA57, flat segments. */
  static modeKey(cpu: Cpu): number {
    const f = cpu.segFlat;
    let key = (cpu.readClass << 1) | (cpu.stackSize << 5) | (cpu.canonicalShift === 24 ? 1 << 9 : 0);
    if (cpu.long64) key |= 1;
    else key |= (f[0] | (f[2] << 1) | (f[3] << 2) | (f[4] << 3) | (f[5] << 4)) << 10;
    return key;
  }

  enter(cpu: Cpu): boolean {
    const cache = this.cache;
    let ran = false;
    for (;;) {
      let lo = cpu.ripLo;
      let hi = cpu.ripHi;
      if (!cpu.long64) {
        if (cpu.codeSize !== 32 || cpu.segFlat[CS] === 0) return ran;
        hi = 0;
      }
      const pageRam = cpu.fetchPage(lo, hi);
      if (pageRam < 0) return ran;
      const address = pageRam + (lo & 0xfff);
      const key = JitEngine.modeKey(cpu);
      const slot = cache.slotOf(address, key);
      if (cache.address[slot] !== address + 1 || cache.modeKey[slot] !== key) {
        cache.address[slot] = address + 1;
        cache.modeKey[slot] = key;
        cache.region[slot] = null;
        cache.count[slot] = 0;
      }
      let region = cache.region[slot];
      if (region === null || !region.valid || region.pageLo !== (lo & ~0xfff) || region.pageHi !== hi) {
        if (region !== null) {
          cache.region[slot] = null;
          cache.count[slot] = 0;
        }
        if (++cache.count[slot] <= this.threshold) return ran;
        region = this.compile(cpu, pageRam, lo & ~0xfff, hi, lo & 0xfff, key);
        if (region === null) {
          cache.count[slot] = -0x40000000; // not compilable here: stop asking for a long while
          return ran;
        }
      }
      this.mmu.sideEffect = false;
      const n = region.run(cache.label[slot]);
      if (n === 0) return ran;
      this.retired[0] += n;
      ran = true;
      if (cpu.remaining <= 0 || cpu.interruptRequested || cpu.interruptShadow || cpu.halted || (cpu.eflags & TF) !== 0) return true;
    }
  }

  /** Builds and compiles the region entered at page offset `entry`; registers each of its blocks as an entry point. */
  private compile(cpu: Cpu, pageRam: number, pageLo: number, pageHi: number, entry: number, key: number): CompiledRegion | null {
    const start = performance.now();
    try {
      const cache = this.cache;
      // Below threshold 1 nothing has been counted: take every path (the test mode).
      const ran = this.threshold < 1 ? null : (offset: number): boolean => {
        const slot = cache.slotOf(pageRam + offset, key);
        return cache.address[slot] === pageRam + offset + 1 && cache.modeKey[slot] === key && (cache.count[slot] !== 0 || cache.region[slot] !== null);
      };
      const built = buildRegion(cpu.ram, pageRam, pageLo, pageHi, entry, cpu.codeSize, cpu.long64, cpu.stackSize, ran);
      if (built === null) return null;
      const mmu = this.mmu;
      const emitted = emitRegion(built, {
        long64: cpu.long64,
        stackSize: cpu.stackSize,
        canonicalShift: cpu.canonicalShift,
        readClass: cpu.readClass,
        writeClass: cpu.writeClass,
        flatSegments: cpu.long64 ? 0 : cpu.segFlat[0] | (cpu.segFlat[1] << 1) | (cpu.segFlat[2] << 2) | (cpu.segFlat[3] << 3) | (cpu.segFlat[4] << 4) | (cpu.segFlat[5] << 5),
        dSetMask: mmu.dSetMask,
        dSetShift: mmu.dSetShift,
      });
      const factory = new Function("cpu", "M", "I", "RL", "RH", "POS", "LBL", "h", emitted.body) as RegionFactory;
      const run = factory(cpu, mmu, built.instructions.map((x) => x.insn), emitted.ripLo, emitted.ripHi, emitted.position, emitted.labels, this.helpers);
      const ramPage = pageRam >>> 12;
      let chunksLo = 0;
      let chunksHi = 0;
      for (const x of built.instructions) {
        mmu.markCode(pageRam + x.offset, x.insn.length);
        for (let c = x.offset >>> 6; c <= (x.offset + x.insn.length - 1) >>> 6; c++) {
          if (c < 32) chunksLo |= 1 << c;
          else chunksHi |= 1 << (c - 32);
        }
      }
      const region: CompiledRegion = { run, pageLo, pageHi, ramPage, chunksLo, chunksHi, valid: true };
      // Entered from outside, a block checks the budget first: its label 2b+1 (emit.ts).
      built.blocks.forEach((b, label) => this.cache.enter(pageRam + b.offset, key, region, 2 * label + 1));
      // The entry's own slot last, so a colliding block cannot take it.
      this.cache.enter(pageRam + entry, key, region, 2 * (built.blockAt.get(entry) as number) + 1);
      this.cache.add(region);
      this.regionsCompiled++;
      return region;
    } finally {
      this.compileMs += performance.now() - start;
    }
  }

  codeWritten(ramPage: number, chunksLo: number, chunksHi: number): void {
    this.cache.invalidate(ramPage, chunksLo, chunksHi);
  }

  clear(): void {
    this.cache.clear();
  }

  stats(): JitStats {
    return {
      regionsCompiled: this.regionsCompiled,
      compiledInstructions: this.compiledInstructions,
      compileMs: this.compileMs,
      invalidations: this.cache.invalidations,
    };
  }
}
