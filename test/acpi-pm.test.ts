// The ACPI PM registers driven through the port bus: soft-off through
// PM1a_CNT (ACPI 6.4, 4.8.3.2.1: SLP_TYP bits 12:10, SLP_EN bit 13; QEMU's
// _S5_ value 0), the PM timer at 3.579545 MHz (4.8.3.3), TMR_STS and the SCI,
// and the SMI_CMD ACPI enable handshake (QEMU's PIIX4: 0xF1 sets SCI_EN).

import { describe, expect, it } from "vitest";
import { AcpiPmPorts } from "../src/devices/acpi-pm.ts";
import { MachineClock } from "../src/machine/clock.ts";
import { PortBus } from "../src/machine/ports.ts";

function setup() {
  const clock = new MachineClock("virtual", 0);
  const cpu = { icount: 0 };
  clock.attach(cpu);
  const sci: boolean[] = [];
  const pm = new AcpiPmPorts(clock, (level) => sci.push(level));
  const ports = new PortBus();
  pm.attach(ports);
  let powerOffs = 0;
  pm.onPowerOff = () => powerOffs++;
  /** Advances virtual time by `ns` (1 ns per instruction at shift 0). */
  const advance = (ns: number): void => {
    cpu.icount += ns;
    clock.runDue();
  };
  return { clock, pm, ports, sci, advance, powerOffs: () => powerOffs };
}

describe("soft-off through PM1a_CNT", () => {
  it("a 16-bit write of SLP_TYP 0 | SLP_EN powers off", () => {
    const { ports, pm, powerOffs } = setup();
    ports.write(0x604, 2, (0 << 10) | (1 << 13));
    expect(powerOffs()).toBe(1);
    expect(pm.poweredOff).toBe(true);
  });

  it("SLP_TYP without SLP_EN, or another SLP_TYP, does not", () => {
    const { ports, pm, powerOffs } = setup();
    const sleeps: number[] = [];
    pm.onSleep = (t) => sleeps.push(t);
    ports.write(0x604, 2, 0 << 10);
    ports.write(0x604, 2, (1 << 10) | (1 << 13));
    expect(powerOffs()).toBe(0);
    expect(sleeps).toEqual([1]);
  });

  it("SLP_EN reads back as 0, SLP_TYP and SCI_EN as written", () => {
    const { ports } = setup();
    ports.write(0x604, 2, (5 << 10) | 1);
    expect(ports.read(0x604, 2)).toBe((5 << 10) | 1);
  });

  it("a byte write to the high half (0x605) with SLP_EN powers off", () => {
    const { ports, powerOffs } = setup();
    ports.write(0x605, 1, (1 << 13) >> 8);
    expect(powerOffs()).toBe(1);
  });
});

describe("SMI_CMD", () => {
  it("0xF1 sets SCI_EN and 0xF0 clears it", () => {
    const { ports } = setup();
    expect(ports.read(0x604, 2) & 1).toBe(0);
    ports.write(0xb2, 1, 0xf1);
    expect(ports.read(0x604, 2) & 1).toBe(1);
    ports.write(0xb2, 1, 0xf0);
    expect(ports.read(0x604, 2) & 1).toBe(0);
  });
});

describe("PM timer", () => {
  it("counts 3,579,545 ticks a second, 24 bits wide", () => {
    const { ports, advance } = setup();
    expect(ports.read(0x608, 4)).toBe(0);
    advance(1_000_000); // 1 ms
    expect(ports.read(0x608, 4)).toBe(3579); // floor(3579.545)
    advance(999_000_000); // 1 s in all
    expect(ports.read(0x608, 4)).toBe(3579545);
    advance(4_000_000_000); // 5 s: 17,897,725 ticks, 24-bit wrap
    expect(ports.read(0x608, 4)).toBe(17897725 % 0x1000000);
    expect(ports.read(0x608, 4)).toBeLessThan(0x1000000);
  });

  it("reads the same value byte by byte", () => {
    const { ports, advance } = setup();
    advance(123_456_789);
    const whole = ports.read(0x608, 4);
    const bytes = [0, 1, 2, 3].map((i) => ports.read(0x608 + i, 1));
    expect(bytes[0] | (bytes[1] << 8) | (bytes[2] << 16) | (bytes[3] << 24)).toBe(whole);
    expect(bytes[3]).toBe(0);
  });

  it("sets TMR_STS when bit 23 changes, cleared by writing 1", () => {
    const { ports, advance } = setup();
    expect(ports.read(0x600, 2) & 1).toBe(0);
    // 2^23 ticks = 2,343,484 µs.
    advance(2_343_000_000);
    expect(ports.read(0x600, 2) & 1).toBe(0);
    advance(1_000_000);
    expect(ports.read(0x600, 2) & 1).toBe(1);
    ports.write(0x600, 2, 1);
    expect(ports.read(0x600, 2) & 1).toBe(0);
  });

  it("with TMR_EN, raises the SCI at the bit-23 change without being polled", () => {
    const { ports, advance, sci, clock } = setup();
    ports.write(0x602, 2, 1); // TMR_EN
    // 2^23 / 3,579,545 Hz = 2,343,484,437.27 ns: the first nanosecond at which the count reaches 2^23.
    expect(clock.nextDeadline()).toBe(2_343_484_438);
    advance(2_343_484_437);
    expect(sci).toEqual([]);
    advance(1);
    expect(sci).toEqual([true]);
    ports.write(0x600, 2, 1); // clear TMR_STS: the line drops and the next change is scheduled
    expect(sci).toEqual([true, false]);
    expect(clock.nextDeadline()).toBe(4_686_968_875);
  });
});

describe("PM1_EN and GPE0", () => {
  it("PM1_EN keeps only the defined enable bits; GPE0 status is write-1-to-clear", () => {
    const { ports, pm, sci } = setup();
    ports.write(0x602, 2, 0xffff);
    expect(ports.read(0x602, 2)).toBe(0x0721);
    ports.write(0x602, 2, 0);
    ports.write(0xafe2, 1, 0x02);
    pm.raiseGpe(1);
    expect(ports.read(0xafe0, 1)).toBe(0x02);
    expect(sci).toEqual([true]);
    ports.write(0xafe0, 1, 0x02);
    expect(ports.read(0xafe0, 1)).toBe(0);
    expect(sci).toEqual([true, false]);
  });
});
