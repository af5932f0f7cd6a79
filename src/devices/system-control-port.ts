// Port 0x61, the PC's "system control port B" (PIIX: NMI status and control
// register), as far as software uses it:
//   bit 0  PIT channel 2 GATE (read/write)
//   bit 1  speaker data enable (read/write; stored, no sound is made)
//   bit 4  refresh toggle (read-only): flips every 15 us of machine time;
//          old delay loops and some kernels busy-wait on its transitions
//   bit 5  PIT channel 2 OUT (read-only): the calibration idiom programs
//          channel 2 in mode 0, raises the gate and polls this bit
// Bits 2-3 (parity/IOCHK NMI enables) are accepted and read back as 0, and
// bits 6-7 (NMI sources) read 0, as in QEMU's PC speaker device.

import type { MachineClock } from "../machine/clock.ts";
import type { PortBus, PortDevice } from "../machine/ports.ts";
import type { Pit8254 } from "./pit8254.ts";

export const SYSTEM_CONTROL_PORT = 0x61;
/** Half-period of the refresh toggle (bit 4), in ns. */
export const REFRESH_TOGGLE_NS = 15_000;

export class SystemControlPort implements PortDevice {
  readonly name = "system-control-port";
  /** Bit 1 as last written. */
  speakerData = false;

  constructor(
    private readonly pit: Pit8254,
    private readonly clock: MachineClock,
  ) {}

  attach(ports: PortBus): void {
    ports.register(SYSTEM_CONTROL_PORT, 1, this);
  }

  readPort(_port: number, size: number): number {
    // `& 1` keeps the low bit even past 2^31 (ToInt32 wraps by 2^32).
    const refresh = Math.floor(this.clock.now() / REFRESH_TOGGLE_NS) & 1;
    const value =
      (this.pit.gate(2) ? 0x01 : 0) | (this.speakerData ? 0x02 : 0) | (refresh << 4) | (this.pit.output(2) ? 0x20 : 0);
    // The bytes of a wide read beyond 0x61 are unclaimed ports: all ones.
    return size === 1 ? value : size === 2 ? value | 0xff00 : (value | 0xffffff00) >>> 0;
  }

  writePort(_port: number, _size: number, value: number): void {
    this.pit.setGate(2, (value & 0x01) !== 0);
    this.speakerData = (value & 0x02) !== 0;
  }
}
