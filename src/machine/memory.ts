// Builds a machine's physical memory: RAM, the PC address map with its
// memory-mapped devices, and the MMU.

import { PhysicalBus } from "./bus.ts";
import { machineConfig, type MachineConfig } from "./config.ts";
import { pcRamRanges } from "./memory-map.ts";
import { GuestRam } from "./ram.ts";
import { Mmu } from "../mmu/mmu.ts";
import { VGA_TEXT_BASE, VGA_TEXT_SIZE, VgaTextBuffer } from "../devices/vga-text.ts";

export interface MachineMemory {
  readonly config: MachineConfig;
  readonly ram: GuestRam;
  readonly bus: PhysicalBus;
  readonly mmu: Mmu;
  /** The VGA text buffer, mapped at 0xB8000-0xBFFFF. */
  readonly vga: VgaTextBuffer;
}

export function createMachineMemory(overrides: Partial<MachineConfig> = {}): MachineMemory {
  const config = machineConfig(overrides);
  const ram = new GuestRam(config.ramBytes);
  const bus = new PhysicalBus(ram, pcRamRanges(config.ramBytes));
  const vga = new VgaTextBuffer();
  bus.mapMmio(VGA_TEXT_BASE, VGA_TEXT_SIZE, vga);
  const mmu = new Mmu(bus, config);
  return { config, ram, bus, mmu, vga };
}
