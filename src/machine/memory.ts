// Builds a machine's physical memory: RAM, the PC address map and the MMU.

import { PhysicalBus } from "./bus.ts";
import { machineConfig, type MachineConfig } from "./config.ts";
import { pcRamRanges } from "./memory-map.ts";
import { GuestRam } from "./ram.ts";
import { Mmu } from "../mmu/mmu.ts";

export interface MachineMemory {
  readonly config: MachineConfig;
  readonly ram: GuestRam;
  readonly bus: PhysicalBus;
  readonly mmu: Mmu;
}

export function createMachineMemory(overrides: Partial<MachineConfig> = {}): MachineMemory {
  const config = machineConfig(overrides);
  const ram = new GuestRam(config.ramBytes);
  const bus = new PhysicalBus(ram, pcRamRanges(config.ramBytes));
  const mmu = new Mmu(bus, config);
  return { config, ram, bus, mmu };
}
