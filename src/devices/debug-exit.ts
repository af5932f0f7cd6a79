// QEMU's isa-debug-exit (-device isa-debug-exit,iobase=0xf4,iosize=0x04):
// writing v to any of its ports asks the emulator to exit with status
// (v << 1) | 1, so a guest can never report 0. Reads return 0, as QEMU's
// debug_exit_read does (the only way a guest can tell the device is there).
// A host process exit code would be exitStatus & 0xff.

import type { PortDevice } from "../machine/ports.ts";

export const DEBUG_EXIT_BASE = 0xf4;
export const DEBUG_EXIT_PORTS = 4;

export class DebugExit implements PortDevice {
  readonly name = "isa-debug-exit";
  readonly base: number;
  readonly size: number;
  exitRequested = false;
  /** (v << 1) | 1 of the last write; exact for 32-bit v (up to 0x1ffffffff). */
  exitStatus = 0;
  /** Called on each write with the exit status. */
  onExit: ((status: number) => void) | null;

  constructor(base = DEBUG_EXIT_BASE, size = DEBUG_EXIT_PORTS) {
    this.base = base;
    this.size = size;
    this.onExit = null;
  }

  readPort(_port: number, _size: number): number {
    return 0;
  }

  writePort(_port: number, size: number, value: number): void {
    const v = size === 4 ? value >>> 0 : size === 2 ? value & 0xffff : value & 0xff;
    this.exitRequested = true;
    this.exitStatus = v * 2 + 1;
    if (this.onExit !== null) this.onExit(this.exitStatus);
  }
}
