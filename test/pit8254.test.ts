// The 8254 and port 0x61 driven through their ports on a virtual clock of
// 1 ns per instruction. Expected timings follow the Intel 8254 datasheet: a
// count written is loaded into the counting element on the next input clock
// edge (edge 1 for a write at time 0), then mode 2 and 3 raise OUT every N
// edges and mode 0 raises OUT N edges after the load. Input clock edge k is
// at ceil(k * 1e9 / 1193182) ns.

import { describe, expect, it } from "vitest";
import { PIT_HZ, Pit8254, pitTickTime, pitTicksAt } from "../src/devices/pit8254.ts";
import { SystemControlPort } from "../src/devices/system-control-port.ts";
import { MachineClock } from "../src/machine/clock.ts";
import { PortBus } from "../src/machine/ports.ts";

/** When input clock edge k happens (small k: exact in doubles). */
function edgeNs(k: number): number {
  return Math.ceil((k * 1e9) / 1193182);
}

function setup() {
  const cpu = { icount: 0 };
  const clock = new MachineClock("virtual", 0);
  clock.attach(cpu);
  /** Times at which IRQ0 rose. */
  const irq0: number[] = [];
  let level = false;
  const pit = new Pit8254(clock, (l) => {
    if (l && !level) irq0.push(clock.now());
    level = l;
  });
  const bus = new PortBus();
  pit.attach(bus);
  new SystemControlPort(pit, clock).attach(bus);
  /** Moves time to `ns` and fires what is due. */
  const at = (ns: number) => {
    cpu.icount = ns;
    clock.runDue();
  };
  const out = (port: number, v: number) => bus.write(port, 1, v);
  const inb = (port: number) => bus.read(port, 1);
  /** Read-back of one channel's status byte. */
  const status = (channel: number) => {
    out(0x43, 0xe0 | (2 << channel));
    return inb(0x40 + channel);
  };
  /** Counter latch, then the two bytes (lo/hi access). */
  const latched = (channel: number) => {
    out(0x43, channel << 6);
    return inb(0x40 + channel) | (inb(0x40 + channel) << 8);
  };
  return { cpu, clock, pit, bus, irq0, at, out, inb, status, latched };
}

/** Expects IRQ0 to rise at edge k exactly: not 1 ns before, at it. */
function expectIrq0AtEdge(t: ReturnType<typeof setup>, k: number): void {
  const before = t.irq0.length;
  t.at(edgeNs(k) - 1);
  expect(t.irq0.length).toBe(before);
  t.at(edgeNs(k));
  expect(t.irq0).toEqual([...t.irq0.slice(0, before), edgeNs(k)]);
}

describe("PIT input clock", () => {
  it("1193182 Hz: edge k at ceil(k * 1e9 / 1193182) ns, exact for long runs", () => {
    expect(PIT_HZ).toBe(1193182);
    expect(pitTickTime(1)).toBe(839);
    expect(pitTicksAt(838)).toBe(0);
    expect(pitTicksAt(839)).toBe(1);
    expect(pitTickTime(1193182)).toBe(1e9);
    expect(pitTicksAt(1e9 - 1)).toBe(1193181);
    const day = 86400;
    expect(pitTicksAt(day * 1e9)).toBe(day * 1193182);
    expect(pitTickTime(day * 1193182 + 1)).toBe(day * 1e9 + 839);
    expect(pitTicksAt(day * 1e9 + 838)).toBe(day * 1193182);
  });
});

describe("PIT channel 0 and IRQ0", () => {
  it("power-on (QEMU reset): mode 3, count 65536, IRQ0 ~18.2 Hz", () => {
    const t = setup();
    expect(t.status(0)).toBe(0xb6); // OUT high, RW lo/hi, mode 3, binary
    expect(t.clock.nextDeadline()).toBe(edgeNs(65536));
    expectIrq0AtEdge(t, 65536);
    expectIrq0AtEdge(t, 2 * 65536);
  });

  it("biosInit: mode 2, count 65536 (SeaBIOS pit_setup)", () => {
    const t = setup();
    t.pit.biosInit();
    expect(t.status(0)).toBe(0xf4); // mode 2 sets OUT high; null count until the next edge
    t.at(edgeNs(1));
    expect(t.status(0)).toBe(0xb4); // OUT high, RW lo/hi, mode 2, binary
    expectIrq0AtEdge(t, 1 + 65536);
    expectIrq0AtEdge(t, 1 + 2 * 65536);
  });

  it("mode 2: OUT low one clock at count 1, IRQ0 on its rising edge every N clocks", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 1193 & 0xff);
    t.out(0x40, 1193 >> 8);
    for (let m = 1; m <= 3; m++) {
      const k = 1 + 1193 * m;
      t.at(edgeNs(k - 2));
      expect(t.status(0) & 0x80).toBe(0x80);
      t.at(edgeNs(k - 1)); // count is 1
      expect(t.status(0) & 0x80).toBe(0);
      expectIrq0AtEdge(t, k);
      expect(t.status(0) & 0x80).toBe(0x80);
      // Only the next edge is scheduled.
      expect(t.clock.nextDeadline()).toBe(edgeNs(k + 1193));
    }
  });

  it("mode 3: square wave (N/2 high, N/2 low), IRQ0 every N clocks, counting down by two", () => {
    const t = setup();
    t.out(0x43, 0x36);
    t.out(0x40, 1000 & 0xff);
    t.out(0x40, 1000 >> 8);
    t.at(edgeNs(1 + 10));
    expect(t.latched(0)).toBe(980);
    t.at(edgeNs(1 + 499));
    expect(t.status(0) & 0x80).toBe(0x80);
    t.at(edgeNs(1 + 500));
    expect(t.status(0) & 0x80).toBe(0);
    t.at(edgeNs(1 + 999));
    expect(t.status(0) & 0x80).toBe(0);
    expect(t.irq0).toEqual([]);
    expectIrq0AtEdge(t, 1 + 1000);
    expect(t.status(0) & 0x80).toBe(0x80);
    expectIrq0AtEdge(t, 1 + 2000);
  });

  it("mode 3 with an odd count: high (N+1)/2 clocks, low (N-1)/2", () => {
    const t = setup();
    t.out(0x43, 0x16); // lobyte only, mode 3
    t.out(0x40, 5);
    t.at(edgeNs(1 + 2));
    expect(t.status(0) & 0x80).toBe(0x80);
    t.at(edgeNs(1 + 3));
    expect(t.status(0) & 0x80).toBe(0);
    t.at(edgeNs(1 + 4));
    expect(t.status(0) & 0x80).toBe(0);
    expectIrq0AtEdge(t, 1 + 5);
  });

  it("mode 0: OUT (and IRQ0) rises once at terminal count; the counter wraps on", () => {
    const t = setup();
    t.out(0x43, 0x30);
    expect(t.status(0) & 0x80).toBe(0); // the control word sets OUT low
    t.out(0x40, 100);
    t.out(0x40, 0);
    t.at(edgeNs(100));
    expect(t.status(0) & 0x80).toBe(0);
    expectIrq0AtEdge(t, 101);
    expect(t.clock.nextDeadline()).toBe(Infinity);
    t.at(edgeNs(106));
    expect(t.latched(0)).toBe(65536 - 5);
    expect(t.status(0) & 0x80).toBe(0x80);
    t.at(edgeNs(70000));
    expect(t.irq0).toEqual([edgeNs(101)]);
  });

  it("mode 0: the first byte of a lo/hi count stops counting and sets OUT low", () => {
    const t = setup();
    t.out(0x43, 0x30);
    t.out(0x40, 10);
    t.out(0x40, 0);
    expectIrq0AtEdge(t, 11);
    t.at(edgeNs(20));
    expect(t.status(0) & 0x80).toBe(0x80);
    t.out(0x40, 50);
    expect(t.status(0) & 0x80).toBe(0);
    t.at(edgeNs(1000));
    expect(t.irq0).toEqual([edgeNs(11)]);
    t.out(0x40, 0); // count 50 loaded at the next edge
    expectIrq0AtEdge(t, pitTicksAt(edgeNs(1000)) + 1 + 50);
  });

  it("mode 4: OUT strobes low for one clock at terminal count", () => {
    const t = setup();
    t.out(0x43, 0x38);
    t.out(0x40, 50);
    t.out(0x40, 0);
    expect(t.status(0) & 0x80).toBe(0x80);
    t.at(edgeNs(51));
    expect(t.status(0) & 0x80).toBe(0);
    expectIrq0AtEdge(t, 52);
    expect(t.clock.nextDeadline()).toBe(Infinity);
  });

  it("reprogramming cancels the pending edge: mode 2 then a control word", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 100);
    t.out(0x40, 0);
    expect(t.clock.nextDeadline()).toBe(edgeNs(101));
    t.out(0x43, 0x30); // mode 0, no count yet: not counting
    expect(t.clock.nextDeadline()).toBe(Infinity);
    t.at(edgeNs(1000));
    expect(t.irq0).toEqual([]);
  });

  it("mode 2: a count written while counting takes effect at the end of the period", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 1000 & 0xff);
    t.out(0x40, 1000 >> 8);
    t.at(edgeNs(500));
    t.out(0x40, 100);
    t.out(0x40, 0);
    expect(t.status(0) & 0x40).toBe(0x40); // null count until then
    expect(t.latched(0)).toBe(1000 - 499);
    expectIrq0AtEdge(t, 1001);
    expect(t.status(0) & 0x40).toBe(0);
    expectIrq0AtEdge(t, 1101);
    expectIrq0AtEdge(t, 1201);
  });

  it("mode 6 counts as mode 2 but reads back as programmed", () => {
    const t = setup();
    t.out(0x43, 0x3c);
    t.out(0x40, 20);
    t.out(0x40, 0);
    expect((t.status(0) >> 1) & 7).toBe(6);
    expectIrq0AtEdge(t, 21);
    expectIrq0AtEdge(t, 41);
  });

  it("BCD: count 0x0100 is one hundred, read back in BCD", () => {
    const t = setup();
    t.out(0x43, 0x35);
    t.out(0x40, 0x00);
    t.out(0x40, 0x01);
    t.at(edgeNs(1 + 10));
    expect(t.latched(0)).toBe(0x0090);
    expect(t.status(0) & 1).toBe(1);
    expectIrq0AtEdge(t, 101);
    expectIrq0AtEdge(t, 201);
  });
});

describe("PIT reads, latches and access modes", () => {
  it("lo/hi reads alternate through the read flip-flop", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 1193 & 0xff);
    t.out(0x40, 1193 >> 8);
    t.at(edgeNs(11)); // ten clocks after the load: 1183 = 0x049f
    expect(t.inb(0x40)).toBe(0x9f);
    expect(t.inb(0x40)).toBe(0x04);
    expect(t.inb(0x40)).toBe(0x9f);
  });

  it("the counter latch holds the count until both bytes are read; a second latch is ignored", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 1193 & 0xff);
    t.out(0x40, 1193 >> 8);
    t.at(edgeNs(11));
    t.out(0x43, 0x00);
    t.at(edgeNs(300));
    t.out(0x43, 0x00); // ignored: the first is unread
    t.at(edgeNs(500));
    expect(t.inb(0x40) | (t.inb(0x40) << 8)).toBe(1183);
    expect(t.inb(0x40) | (t.inb(0x40) << 8)).toBe(1193 - 499); // live again
  });

  it("lobyte-only and hibyte-only access", () => {
    const t = setup();
    t.out(0x43, 0x14); // ch0 lobyte, mode 2
    t.out(0x40, 0x10);
    t.at(edgeNs(1 + 3));
    expect(t.inb(0x40)).toBe(13);
    expect(t.inb(0x40)).toBe(13);
    expectIrq0AtEdge(t, 1 + 16);
    expectIrq0AtEdge(t, 1 + 32);

    const u = setup();
    u.out(0x43, 0x20); // ch0 hibyte, mode 0
    u.out(0x40, 0x01); // count 256
    u.at(edgeNs(1));
    expect(u.inb(0x40)).toBe(0x01);
    u.at(edgeNs(2));
    expect(u.inb(0x40)).toBe(0x00);
    expectIrq0AtEdge(u, 1 + 256);
  });

  it("read-back: status (OUT, null count, RW, mode, BCD) first, then the latched count", () => {
    const t = setup();
    t.out(0x43, 0xb0); // ch2 lo/hi mode 0
    expect(t.status(2)).toBe(0x70);
    t.out(0x61, 0x01); // gate on
    t.out(0x42, 0x00);
    t.out(0x42, 0x08);
    expect(t.status(2)).toBe(0x70); // not loaded before the next edge
    t.at(edgeNs(1 + 5));
    t.out(0x43, 0xc8); // read-back count and status of channel 2
    expect(t.inb(0x42)).toBe(0x30);
    expect(t.inb(0x42)).toBe((0x800 - 5) & 0xff);
    expect(t.inb(0x42)).toBe((0x800 - 5) >> 8);
    t.at(edgeNs(1 + 0x800));
    expect(t.status(2)).toBe(0xb0);
  });

  it("read-back for several channels at once (0xCE: counts of 0, 1 and 2)", () => {
    const t = setup();
    t.out(0x43, 0x34);
    t.out(0x40, 0x00);
    t.out(0x40, 0x10); // 4096
    t.out(0x43, 0x74); // ch1 mode 2
    t.out(0x41, 0x00);
    t.out(0x41, 0x20); // 8192
    t.at(edgeNs(1 + 96));
    t.out(0x43, 0xde); // counts only (bit 4 set: no status), channels 0-2
    t.at(edgeNs(1 + 200));
    expect(t.inb(0x40) | (t.inb(0x40) << 8)).toBe(4096 - 96);
    expect(t.inb(0x41) | (t.inb(0x41) << 8)).toBe(8192 - 96);
  });

  it("the control port reads 0; a write there never throws", () => {
    const t = setup();
    expect(t.inb(0x43)).toBe(0);
    for (let v = 0; v < 256; v++) t.out(0x43, v);
  });
});

describe("PIT channel 2 and port 0x61", () => {
  it("the calibration idiom: gate on, mode 0, count 0x800, poll bit 5", () => {
    const t = setup();
    t.out(0x61, (t.inb(0x61) & ~0x02) | 0x01);
    t.out(0x43, 0xb0);
    t.out(0x42, 0x00);
    t.out(0x42, 0x08);
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(1 + 0x800) - 1);
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(1 + 0x800));
    expect(t.inb(0x61) & 0x20).toBe(0x20);
    expect(t.irq0).toEqual([]); // channel 2 has no IRQ
  });

  it("gate low suspends mode-0 counting, gate high resumes it", () => {
    const t = setup();
    t.out(0x61, 0x01);
    t.out(0x43, 0xb0);
    t.out(0x42, 1000 & 0xff);
    t.out(0x42, 1000 >> 8);
    t.at(edgeNs(401));
    t.out(0x61, 0x00);
    t.at(edgeNs(2000));
    expect(t.latched(2)).toBe(600);
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.out(0x61, 0x01);
    t.at(edgeNs(2599));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(2600));
    expect(t.inb(0x61) & 0x20).toBe(0x20);
  });

  it("a count written with the gate low does not count until the gate rises", () => {
    const t = setup();
    t.out(0x43, 0xb0);
    t.out(0x42, 10);
    t.out(0x42, 0);
    t.at(edgeNs(500));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.out(0x61, 0x01);
    t.at(edgeNs(500 + 9));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(500 + 10));
    expect(t.inb(0x61) & 0x20).toBe(0x20);
  });

  it("mode 1: a gate rising edge triggers a one-shot of N clocks (OUT low)", () => {
    const t = setup();
    t.out(0x43, 0xb2);
    t.out(0x42, 100);
    t.out(0x42, 0);
    t.at(edgeNs(50));
    expect(t.inb(0x61) & 0x20).toBe(0x20); // waiting for the trigger
    t.at(edgeNs(60));
    t.out(0x61, 0x01);
    t.at(edgeNs(61));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(160));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.at(edgeNs(161));
    expect(t.inb(0x61) & 0x20).toBe(0x20);
  });

  it("mode 3: gate low forces OUT high; gate high restarts the period", () => {
    const t = setup();
    t.out(0x61, 0x01);
    t.out(0x43, 0xb6);
    t.out(0x42, 1000 & 0xff);
    t.out(0x42, 1000 >> 8);
    t.at(edgeNs(1 + 600));
    expect(t.inb(0x61) & 0x20).toBe(0);
    t.out(0x61, 0x00);
    expect(t.inb(0x61) & 0x20).toBe(0x20);
    t.at(edgeNs(5000));
    t.out(0x61, 0x01); // reloads on the next edge: 5001
    t.at(edgeNs(5001 + 499));
    expect(t.inb(0x61) & 0x20).toBe(0x20);
    t.at(edgeNs(5001 + 500));
    expect(t.inb(0x61) & 0x20).toBe(0);
  });

  it("port 0x61: gate and speaker bits read back, bits 2-3 and 6-7 read 0", () => {
    const t = setup();
    expect(t.inb(0x61) & 0x0f).toBe(0);
    t.out(0x61, 0x03);
    expect(t.inb(0x61) & 0x0f).toBe(0x03);
    expect(t.pit.gate(2)).toBe(true);
    t.out(0x61, 0x0e);
    expect(t.inb(0x61) & 0xcf).toBe(0x02);
    expect(t.pit.gate(2)).toBe(false);
  });

  it("port 0x61 bit 4 toggles every 15 us of machine time", () => {
    const t = setup();
    const refresh = (ns: number) => {
      t.at(ns);
      return t.inb(0x61) & 0x10;
    };
    expect(refresh(0)).toBe(0);
    expect(refresh(14_999)).toBe(0);
    expect(refresh(15_000)).toBe(0x10);
    expect(refresh(29_999)).toBe(0x10);
    expect(refresh(30_000)).toBe(0);
    expect(refresh(45_000)).toBe(0x10);
  });
});
