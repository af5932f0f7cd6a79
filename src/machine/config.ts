// Machine settings shared by the MMU, the CPU (through CPUID) and the platform.

import { MIB } from "./ram.ts";

export interface TlbGeometry {
  /** Total entries; a power of two. */
  readonly entries: number;
  /** Ways per set; a power of two dividing `entries`. 1 is direct-mapped. */
  readonly ways: number;
}

export interface MachineConfig {
  readonly ramBytes: number;
  /** MAXPHYADDR: physical-address width in bits, 32..52 (CPUID 0x80000008 EAX[7:0]). */
  readonly maxPhysAddrBits: number;
  /** 1 GiB pages offered (CPUID 0x80000001 EDX.Page1GB); without them PDPTE.PS is reserved. */
  readonly gigabytePages: boolean;
  readonly instructionTlb: TlbGeometry;
  readonly dataTlb: TlbGeometry;
}

export const DEFAULT_CONFIG: MachineConfig = {
  ramBytes: 128 * MIB,
  // QEMU's TCG reports 40 physical-address bits; matching it keeps the
  // reserved-bit behaviour of guest tests identical under both.
  maxPhysAddrBits: 40,
  gigabytePages: true,
  instructionTlb: { entries: 1024, ways: 4 },
  dataTlb: { entries: 4096, ways: 4 },
};

export function machineConfig(overrides: Partial<MachineConfig> = {}): MachineConfig {
  const config = { ...DEFAULT_CONFIG, ...overrides };
  if (!Number.isInteger(config.maxPhysAddrBits) || config.maxPhysAddrBits < 32 || config.maxPhysAddrBits > 52) {
    throw new RangeError(`MAXPHYADDR must be 32..52 bits, got ${config.maxPhysAddrBits}`);
  }
  for (const [name, g] of [["instruction", config.instructionTlb], ["data", config.dataTlb]] as const) {
    if (!isPow2(g.entries) || !isPow2(g.ways) || g.ways > g.entries) {
      throw new RangeError(`${name} TLB geometry must be powers of two with ways <= entries`);
    }
  }
  return config;
}

function isPow2(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;
}
