import { describe, expect, it } from "vitest";
import { CmosRtc, periodicCycles } from "../src/devices/cmos-rtc.ts";
import { MachineClock } from "../src/machine/clock.ts";
import { PortBus } from "../src/machine/ports.ts";

const MiB = 1024 * 1024;

function setup(start = Date.UTC(2024, 1, 29, 23, 59, 58, 250), ramBytes = 128 * MiB) {
  const clock = new MachineClock("virtual", 0); // 1 ns per instruction: now() = icount
  const counter = { icount: 0 };
  clock.attach(counter);
  const edges: boolean[] = [];
  const rtc = new CmosRtc(clock, (level) => edges.push(level), { startTime: start, ramBytes });
  const bus = new PortBus();
  bus.register(0x70, 2, rtc);
  const read = (i: number) => {
    bus.write(0x70, 1, i);
    return bus.read(0x71, 1);
  };
  const write = (i: number, v: number) => {
    bus.write(0x70, 1, i);
    bus.write(0x71, 1, v);
  };
  /** Moves machine time to `ns` and fires due events. */
  const at = (ns: number) => {
    counter.icount = ns;
    clock.runDue();
  };
  const raises = () => edges.filter((e) => e).length;
  return { clock, rtc, bus, read, write, at, edges, raises };
}

describe("MC146818A time registers", () => {
  it("power-on status registers as QEMU leaves them: A=0x26, B=0x02, C=0, D=0x80 (VRT)", () => {
    const { read } = setup();
    expect(read(0x0a)).toBe(0x26);
    expect(read(0x0b)).toBe(0x02);
    expect(read(0x0c)).toBe(0x00);
    expect(read(0x0d)).toBe(0x80);
  });

  it("shows the start time in BCD, 24-hour: Thursday 2024-02-29 23:59:58", () => {
    const { read } = setup();
    expect(read(0x00)).toBe(0x58);
    expect(read(0x02)).toBe(0x59);
    expect(read(0x04)).toBe(0x23);
    expect(read(0x06)).toBe(5); // Sunday = 1
    expect(read(0x07)).toBe(0x29);
    expect(read(0x08)).toBe(0x02);
    expect(read(0x09)).toBe(0x24);
    expect(read(0x32)).toBe(0x20);
    expect(read(0x37)).toBe(0x20); // PS/2 century alias
  });

  it("time follows the machine clock across a leap-day month end", () => {
    const { read, at } = setup();
    at(1_749_999_999); // 2024-02-29 23:59:59.999999999
    expect(read(0x00)).toBe(0x59);
    at(1_750_000_000); // 2024-03-01 00:00:00
    expect([read(0x00), read(0x02), read(0x04), read(0x07), read(0x08), read(0x06)]).toEqual([0, 0, 0, 1, 3, 6]);
  });

  it("a Date works as the start time; the year 2099 -> 2100 rolls the century", () => {
    const { read, at } = setup(Date.UTC(2099, 11, 31, 23, 59, 59));
    expect(read(0x09)).toBe(0x99);
    expect(read(0x32)).toBe(0x20);
    at(1e9);
    expect(read(0x09)).toBe(0x00);
    expect(read(0x32)).toBe(0x21);
    expect(read(0x07)).toBe(0x01);
    const fromDate = setup(new Date(Date.UTC(2000, 0, 1, 12, 34, 56)) as unknown as number);
    expect(fromDate.read(0x00)).toBe(0x56);
  });

  it("binary mode (B bit 2) and 12-hour mode (B bit 1 clear, PM in bit 7)", () => {
    const { read, write } = setup(Date.UTC(2023, 6, 4, 13, 5, 42));
    write(0x0b, 0x06);
    expect(read(0x00)).toBe(42);
    expect(read(0x04)).toBe(13);
    expect(read(0x09)).toBe(23);
    write(0x0b, 0x00); // BCD, 12-hour
    expect(read(0x04)).toBe(0x81); // 1 PM
    const midnight = setup(Date.UTC(2023, 6, 4, 0, 30, 0));
    midnight.write(0x0b, 0x00);
    expect(midnight.read(0x04)).toBe(0x12); // 12 AM
    const noon = setup(Date.UTC(2023, 6, 4, 12, 0, 0));
    noon.write(0x0b, 0x00);
    expect(noon.read(0x04)).toBe(0x92); // 12 PM
  });

  it("UIP is set during the 244 us before each update, and never while SET=1", () => {
    const { read, write, at } = setup(Date.UTC(2024, 0, 1, 0, 0, 0)); // updates at whole seconds
    at(999_755_000);
    expect(read(0x0a) & 0x80).toBe(0);
    at(999_760_000);
    expect(read(0x0a)).toBe(0xa6);
    at(1_000_000_000);
    expect(read(0x0a) & 0x80).toBe(0);
    at(1_999_900_000);
    expect(read(0x0a) & 0x80).toBe(0x80);
    write(0x0b, 0x82);
    expect(read(0x0a) & 0x80).toBe(0);
  });

  it("writing a time register while running sets the clock", () => {
    const { read, write, at } = setup(Date.UTC(2024, 0, 1, 10, 20, 30));
    write(0x02, 0x45);
    expect(read(0x02)).toBe(0x45);
    expect(read(0x00)).toBe(0x30);
    at(2e9);
    expect([read(0x04), read(0x02), read(0x00)]).toEqual([0x10, 0x45, 0x32]);
  });

  it("SET=1 freezes the registers; the written time starts when SET is cleared; SET clears UIE", () => {
    const { read, write, at } = setup(Date.UTC(2024, 0, 1, 10, 20, 30));
    write(0x0b, 0x02 | 0x80 | 0x10);
    expect(read(0x0b)).toBe(0x82);
    at(5e9);
    expect(read(0x00)).toBe(0x30); // frozen
    write(0x04, 0x08);
    write(0x02, 0x00);
    write(0x00, 0x00);
    write(0x07, 0x15);
    write(0x08, 0x06);
    write(0x09, 0x25);
    at(6e9);
    expect(read(0x04)).toBe(0x08);
    write(0x0b, 0x02);
    at(8e9);
    expect([read(0x09), read(0x08), read(0x07), read(0x04), read(0x02), read(0x00)]).toEqual([0x25, 0x06, 0x15, 0x08, 0x00, 0x02]);
    expect(read(0x06)).toBe(1); // 2025-06-15 is a Sunday
  });

  it("divider reset (DV=11x) stops the clock; leaving it, the first update comes 500 ms later", () => {
    const { read, write, at } = setup(Date.UTC(2024, 0, 1, 0, 0, 0));
    at(300_000_000);
    write(0x0a, 0x70);
    at(10e9);
    expect(read(0x00)).toBe(0x00);
    write(0x0a, 0x26);
    at(10e9 + 499_999_999);
    expect(read(0x00)).toBe(0x00);
    at(10e9 + 500_000_000);
    expect(read(0x00)).toBe(0x01);
  });
});

describe("MC146818A interrupts (IRQ 8)", () => {
  it("rate select -> period in 32.768 kHz cycles (datasheet table): 1 -> 256 Hz, 2 -> 128 Hz, 3 -> 8192 Hz, 6 -> 1024 Hz, 15 -> 2 Hz", () => {
    expect(periodicCycles(1)).toBe(128);
    expect(periodicCycles(2)).toBe(256);
    expect(periodicCycles(3)).toBe(4);
    expect(periodicCycles(6)).toBe(32);
    expect(periodicCycles(15)).toBe(16384);
  });

  it("periodic interrupt at 1024 Hz: one edge per period, held until register C is read", () => {
    const { read, write, at, raises, edges, clock } = setup();
    write(0x0b, 0x42); // PIE
    expect(raises()).toBe(0);
    expect(clock.nextDeadline()).toBe(976563); // 32 / 32768 s, rounded up to whole ns
    at(976562);
    expect(raises()).toBe(0);
    at(976563);
    expect(raises()).toBe(1);
    at(5_000_000); // more periods pass: the line is already high, no new edge
    expect(raises()).toBe(1);
    expect(clock.nextDeadline()).toBe(Infinity);
    expect(read(0x0c)).toBe(0xc0); // IRQF | PF (UF not yet: no update within 5 ms of .250)
    expect(edges[edges.length - 1]).toBe(false);
    expect(read(0x0c)).toBe(0x00);
    at(5_859_375); // next edge: 6 * 976562.5
    expect(raises()).toBe(2);
  });

  it("2 Hz periodic rate (rate 15) and no periodic flag while PIE is clear (as QEMU)", () => {
    const { read, write, at, raises } = setup(Date.UTC(2024, 0, 1, 0, 0, 0, 100));
    write(0x0a, 0x2f);
    at(2e9);
    expect(read(0x0c) & 0x40).toBe(0);
    write(0x0b, 0x42);
    at(2.5e9 - 1);
    expect(raises()).toBe(0);
    at(2.5e9);
    expect(raises()).toBe(1);
  });

  it("update-ended interrupt once a second with UIE; C reads IRQF|UF", () => {
    const { read, write, at, raises } = setup(); // starts at .250: updates at 0.75 s, 1.75 s, ...
    write(0x0b, 0x12);
    at(749_999_999);
    expect(raises()).toBe(0);
    at(750_000_000);
    expect(raises()).toBe(1);
    expect(read(0x00)).toBe(0x59);
    expect(read(0x0c)).toBe(0x90);
    at(1_750_000_000);
    expect(raises()).toBe(2);
    // 00:00:00 now matches the power-on alarm bytes (all 0): AF is set too.
    expect(read(0x0c)).toBe(0xb0);
  });

  it("UF is set once a second even with UIE clear, without an interrupt", () => {
    const { read, at, raises } = setup();
    at(800_000_000);
    expect(read(0x0c)).toBe(0x10);
    expect(read(0x0c)).toBe(0x00);
    expect(raises()).toBe(0);
  });

  it("alarm interrupt when the time matches hours/minutes/seconds", () => {
    const { read, write, at, raises } = setup(Date.UTC(2024, 0, 1, 10, 20, 30));
    write(0x01, 0x33);
    write(0x03, 0x20);
    write(0x05, 0x10);
    write(0x0b, 0x22); // AIE
    at(2_999_999_999);
    expect(raises()).toBe(0);
    at(3e9);
    expect(raises()).toBe(1);
    expect(read(0x00)).toBe(0x33);
    expect(read(0x0c)).toBe(0xb0); // IRQF | AF | UF
    at(60e9);
    expect(raises()).toBe(1); // next match is a day later
  });

  it("alarm with don't-care bytes (11xxxxxx) fires every second", () => {
    const { read, write, at, raises } = setup(Date.UTC(2024, 0, 1, 10, 20, 30));
    write(0x01, 0xc0);
    write(0x03, 0xff);
    write(0x05, 0xc0);
    write(0x0b, 0x22);
    at(1e9);
    expect(raises()).toBe(1);
    expect(read(0x0c)).toBe(0xb0);
    at(2e9);
    expect(raises()).toBe(2);
  });

  it("enabling an interrupt whose flag is already set raises IRQ 8 at once", () => {
    const { write, at, raises, read } = setup();
    at(800_000_000); // UF set
    write(0x0b, 0x12);
    expect(raises()).toBe(1);
    expect(read(0x0c)).toBe(0x90);
  });

  it("register C and D ignore writes", () => {
    const { read, write, at } = setup();
    at(800_000_000);
    write(0x0c, 0x00);
    write(0x0d, 0x00);
    expect(read(0x0c)).toBe(0x10);
    expect(read(0x0d)).toBe(0x80);
  });
});

describe("PC CMOS bytes", () => {
  it("port 0x70 reads 0xFF, bit 7 of the index masks NMI, CMOS RAM holds bytes", () => {
    const { bus, rtc, read, write } = setup();
    expect(bus.read(0x70, 1)).toBe(0xff);
    bus.write(0x70, 1, 0x8f);
    expect(rtc.nmiDisabled).toBe(true);
    expect(rtc.index).toBe(0x0f);
    bus.write(0x71, 1, 0x0a);
    bus.write(0x70, 1, 0x0f);
    expect(rtc.nmiDisabled).toBe(false);
    expect(bus.read(0x71, 1)).toBe(0x0a); // shutdown status byte
    write(0x40, 0x5a);
    write(0x7f, 0xa5);
    expect(read(0x40)).toBe(0x5a);
    expect(read(0x7f)).toBe(0xa5);
    expect(read(0x14)).toBe(0x06); // equipment: FPU and PS/2 mouse (QEMU pc_cmos_init)
  });

  it("memory size bytes for 128 MiB as QEMU writes them", () => {
    const { read } = setup(0, 128 * MiB);
    expect(read(0x15) | (read(0x16) << 8)).toBe(640);
    expect(read(0x17) | (read(0x18) << 8)).toBe(0xffff); // 127 MiB in KiB, capped at 65535
    expect(read(0x30) | (read(0x31) << 8)).toBe(0xffff);
    expect(read(0x34) | (read(0x35) << 8)).toBe(112 * 16); // (128 - 16) MiB in 64 KiB units
    expect([read(0x5b), read(0x5c), read(0x5d)]).toEqual([0, 0, 0]);
    expect(read(0x5f)).toBe(0);
  });

  it("memory size bytes for 32 MiB and for 4 GiB (1 GiB above 4 GiB, the low part ending at 3 GiB)", () => {
    const small = setup(0, 32 * MiB);
    expect(small.read(0x17) | (small.read(0x18) << 8)).toBe(31 * 1024);
    expect(small.read(0x34) | (small.read(0x35) << 8)).toBe(256);
    const big = setup(0, 4096 * MiB);
    expect(big.read(0x34) | (big.read(0x35) << 8)).toBe((3072 - 16) * 16);
    expect([big.read(0x5b), big.read(0x5c), big.read(0x5d)]).toEqual([0x00, 0x40, 0x00]); // 16384 x 64 KiB
  });
});
