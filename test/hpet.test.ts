// The HPET driven through its registers on a virtual clock of 1 ns per
// instruction. Expected values come from the IA-PC HPET specification 1.0a
// (register layout 2.3, periodic mode 2.3.9.2.2, legacy replacement 2.3.5.1)
// and from QEMU's hw/timer/hpet.c and pc machine: capabilities 0x8086A201
// with a 10,000,000 fs period (100 MHz: one tick per 10 ns), every timer
// periodic- and 64-bit-capable with route capability 0x4, comparators reset
// to all ones, a 64-bit comparator behind the counter matching at once, and
// a 32-bit one-shot timer also interrupting at the counter's 32-bit wrap.

import { describe, expect, it } from "vitest";
import {
  HPET_BASE,
  HPET_ENABLE_CNF,
  HPET_LEG_RT_CNF,
  Hpet,
  TN_32MODE_CNF,
  TN_INT_ENB_CNF,
  TN_INT_TYPE_CNF,
  TN_TYPE_CNF,
  TN_VAL_SET_CNF,
} from "../src/devices/hpet.ts";
import { MachineClock } from "../src/machine/clock.ts";

const GEN_CAP = 0x000;
const GEN_CONF = 0x010;
const GEN_STATUS = 0x020;
const COUNTER = 0x0f0;
const timerConf = (n: number): number => 0x100 + 0x20 * n;
const timerCmp = (n: number): number => 0x108 + 0x20 * n;
const route = (gsi: number): number => gsi << 9;

function setup() {
  const cpu = { icount: 0 };
  const clock = new MachineClock("virtual", 0);
  clock.attach(cpu);
  /** Every change the HPET made to a line: [gsi, level, time in ns]. */
  const edges: Array<[number, boolean, number]> = [];
  const level = new Map<number, boolean>();
  const hpet = new Hpet(clock, (gsi, l) => {
    edges.push([gsi, l, clock.now()]);
    level.set(gsi, l);
  });
  const legacyChanges: boolean[] = [];
  hpet.onLegacyChange = (legacy) => legacyChanges.push(legacy);
  /** Moves time to `ns` and fires what is due. */
  const at = (ns: number) => {
    cpu.icount = ns;
    clock.runDue();
  };
  const rd = (offset: number) => hpet.read(offset, 4) >>> 0;
  const wr = (offset: number, value: number) => hpet.write(offset, 4, value);
  /** Times at which `gsi` rose. */
  const rises = (gsi: number) => edges.filter(([g, l]) => g === gsi && l).map(([, , t]) => t);
  const counter = () => {
    const high = new Int32Array(1);
    const low = hpet.read64(COUNTER, high) >>> 0;
    return [low, high[0] >>> 0];
  };
  return { cpu, clock, hpet, edges, level, legacyChanges, at, rd, wr, rises, counter };
}

describe("registers at power-on", () => {
  it("is placed at 0xFED00000", () => {
    expect(HPET_BASE).toBe(0xfed00000);
  });

  it("capabilities: vendor 8086, LEG_RT_CAP, 64-bit counter, 3 timers, revision 1; period 10^7 fs", () => {
    const { rd, hpet } = setup();
    expect(rd(GEN_CAP)).toBe(0x8086a201);
    expect(rd(GEN_CAP + 4)).toBe(10_000_000);
    const high = new Int32Array(1);
    expect(hpet.read64(GEN_CAP, high) >>> 0).toBe(0x8086a201);
    expect(high[0]).toBe(10_000_000);
    // Bytes of the register for narrower reads.
    expect(hpet.read(1, 1)).toBe(0xa2);
    expect(hpet.read(2, 2)).toBe(0x8086);
  });

  it("configuration, status and counter read 0; the capabilities register ignores writes", () => {
    const { rd, wr } = setup();
    expect([rd(GEN_CONF), rd(GEN_CONF + 4), rd(GEN_STATUS), rd(COUNTER), rd(COUNTER + 4)]).toEqual([0, 0, 0, 0, 0]);
    wr(GEN_CAP, 0);
    expect(rd(GEN_CAP)).toBe(0x8086a201);
  });

  it("each timer: periodic- and 64-bit-capable (0x30), routes {2} (0x4), comparator all ones", () => {
    const { rd } = setup();
    for (let n = 0; n < 3; n++) {
      expect(rd(timerConf(n))).toBe(0x30);
      expect(rd(timerConf(n) + 4)).toBe(0x4);
      expect(rd(timerCmp(n))).toBe(0xffffffff);
      expect(rd(timerCmp(n) + 4)).toBe(0xffffffff);
    }
    // No fourth timer.
    expect(rd(timerConf(3))).toBe(0);
  });

  it("keeps read-only and reserved configuration bits: capabilities, FSB enable, bit 0", () => {
    const { rd, wr } = setup();
    wr(timerConf(0), 0xffffffff);
    // Writable: 1 type, 2 enable, 3 periodic, 8 32-bit, 13:9 route; VAL_SET (6) reads back set until a comparator write.
    expect(rd(timerConf(0))).toBe(0x3f7e);
    wr(timerConf(0) + 4, 0);
    expect(rd(timerConf(0) + 4)).toBe(0x4);
    wr(GEN_CONF, 0xfffffffc);
    expect(rd(GEN_CONF)).toBe(0);
  });

  it("drops 1- and 2-byte writes", () => {
    const { rd, hpet } = setup();
    hpet.write(GEN_CONF, 1, 1);
    hpet.write(GEN_CONF, 2, 1);
    expect(rd(GEN_CONF)).toBe(0);
  });
});

describe("main counter", () => {
  it("counts at 100 MHz from virtual time while enabled, and only then", () => {
    const { at, wr, counter } = setup();
    at(5000);
    expect(counter()).toEqual([0, 0]);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(5000 + 12_345);
    expect(counter()).toEqual([1234, 0]);
    at(5000 + 1_000_000_000);
    expect(counter()).toEqual([100_000_000, 0]);
    wr(GEN_CONF, 0);
    at(9_000_000_000);
    expect(counter()).toEqual([100_000_000, 0]);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(9_000_000_000 + 100);
    expect(counter()).toEqual([100_000_010, 0]);
  });

  it("is writable while halted (both halves, 64-bit write too), and a write while running changes nothing", () => {
    const { at, wr, hpet, counter } = setup();
    wr(COUNTER, 0x12345678);
    wr(COUNTER + 4, 0x9abcdef0);
    expect(counter()).toEqual([0x12345678, 0x9abcdef0]);
    hpet.write64(COUNTER, 0xfffffff0, 0xffffffff);
    expect(counter()).toEqual([0xfffffff0, 0xffffffff]);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(150); // 15 ticks
    expect(counter()).toEqual([0xffffffff, 0xffffffff]);
    at(200); // the 64-bit counter wraps to 0 and goes on
    expect(counter()).toEqual([4, 0]);
    wr(COUNTER, 0);
    wr(COUNTER + 4, 0x55);
    at(300);
    expect(counter()).toEqual([14, 0]);
  });

  it("carries from the low half into the high half", () => {
    const { at, wr, counter } = setup();
    wr(COUNTER, 0xffffff00);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(0x100 * 10 + 30);
    expect(counter()).toEqual([3, 1]);
  });
});

describe("one-shot comparators", () => {
  it("an edge-triggered 64-bit timer pulses its route once, at the exact match time", () => {
    const { at, wr, rises, edges, clock } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    wr(timerCmp(0), 500);
    wr(timerCmp(0) + 4, 0);
    expect(clock.nextDeadline()).toBe(Infinity); // halted: nothing scheduled
    at(1000);
    wr(GEN_CONF, HPET_ENABLE_CNF); // counter 0 at 1000 ns: tick 500 is at 6000 ns
    expect(clock.nextDeadline()).toBe(6000);
    at(5999);
    expect(rises(2)).toEqual([]);
    at(6000);
    expect(rises(2)).toEqual([6000]);
    expect(edges).toEqual([
      [2, true, 6000],
      [2, false, 6000],
    ]);
    at(1_000_000);
    expect(rises(2)).toEqual([6000]);
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it("schedules nothing for a timer that can neither interrupt nor latch status", () => {
    const { wr, clock } = setup();
    wr(timerCmp(1), 100);
    wr(timerCmp(1) + 4, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    expect(clock.nextDeadline()).toBe(Infinity);
    wr(timerConf(1), TN_INT_ENB_CNF | route(2));
    expect(clock.nextDeadline()).toBe(1000);
  });

  it("a 64-bit comparator behind the counter matches at once (QEMU)", () => {
    const { at, wr, rises } = setup();
    wr(COUNTER, 0x1000);
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    wr(timerCmp(0), 0x10);
    wr(timerCmp(0) + 4, 0);
    at(700);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(700);
    expect(rises(2)).toEqual([700]);
  });

  it("rewriting the comparator moves the match; disabling the timer cancels it", () => {
    const { at, wr, rises, clock } = setup();
    wr(timerCmp(0) + 4, 0);
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    wr(GEN_CONF, HPET_ENABLE_CNF);
    wr(timerCmp(0), 100);
    at(500);
    wr(timerCmp(0), 300); // 3000 ns
    at(2999);
    expect(rises(2)).toEqual([]);
    at(3000);
    expect(rises(2)).toEqual([3000]);
    wr(timerCmp(0), 400);
    wr(timerConf(0), route(2));
    expect(clock.nextDeadline()).toBe(Infinity);
    at(10_000);
    expect(rises(2)).toEqual([3000]);
  });
});

describe("periodic comparators", () => {
  it("VAL_SET then a second write: first match at the comparator, then every period; the comparator reads the next match", () => {
    const { at, wr, rd, rises, hpet } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | route(2));
    wr(timerCmp(0), 1000); // comparator (and period) 1000
    expect(rd(timerConf(0)) & TN_VAL_SET_CNF).toBe(0); // the write cleared VAL_SET
    wr(timerCmp(0) + 4, 0); // without VAL_SET: the period's high half only
    expect([rd(timerCmp(0)), rd(timerCmp(0) + 4)]).toEqual([1000, 0xffffffff]);
    wr(timerConf(0), TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | route(2));
    hpet.write64(timerCmp(0), 1000, 0); // one 8-byte write: comparator and period 1000
    wr(timerCmp(0), 250); // VAL_SET now clear: the period only
    expect([rd(timerCmp(0)), rd(timerCmp(0) + 4)]).toEqual([1000, 0]);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(10_000);
    expect(rd(timerCmp(0))).toBe(1250);
    at(12_499);
    at(12_500);
    at(15_000);
    at(17_499);
    expect(rises(2)).toEqual([10_000, 12_500, 15_000]);
    expect(rd(timerCmp(0))).toBe(1750);
  });

  it("with VAL_SET set, one 8-byte write sets both comparator halves; two 4-byte writes put the high half in the period", () => {
    const { wr, rd, hpet } = setup();
    wr(timerConf(0), TN_TYPE_CNF | TN_VAL_SET_CNF);
    hpet.write64(timerCmp(0), 0x11, 0x22);
    expect([rd(timerCmp(0)), rd(timerCmp(0) + 4)]).toEqual([0x11, 0x22]);
    wr(timerConf(0), TN_TYPE_CNF | TN_VAL_SET_CNF);
    wr(timerCmp(0), 0x33);
    wr(timerCmp(0) + 4, 0x44);
    expect([rd(timerCmp(0)), rd(timerCmp(0) + 4)]).toEqual([0x33, 0x22]);
  });

  it("after time jumps over several periods, interrupts once and stays on the period grid", () => {
    const { at, wr, rises, hpet } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0); // every 1000 ns from 1000
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    at(5500); // 2000..5000 missed
    expect(rises(2)).toEqual([1000, 5500]);
    at(5999);
    at(6000);
    expect(rises(2)).toEqual([1000, 5500, 6000]);
  });

  it("halting the HPET stops the timer; enabling resumes from the comparator", () => {
    const { at, wr, rises, hpet, clock } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    at(1500);
    wr(GEN_CONF, 0); // counter held at 150, next match 200
    expect(clock.nextDeadline()).toBe(Infinity);
    at(50_000);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(50_499);
    expect(rises(2)).toEqual([1000]);
    at(50_500);
    expect(rises(2)).toEqual([1000, 50_500]);
  });
});

describe("32-bit mode", () => {
  it("clears the comparator's high half and ignores writes to it", () => {
    const { wr, rd } = setup();
    wr(timerConf(1), TN_32MODE_CNF);
    expect([rd(timerCmp(1)), rd(timerCmp(1) + 4)]).toEqual([0xffffffff, 0]);
    wr(timerCmp(1) + 4, 5);
    expect(rd(timerCmp(1) + 4)).toBe(0);
  });

  it("one-shot: a comparator below the counter's low half matches after the 32-bit wrap, which interrupts too", () => {
    const { at, wr, rises } = setup();
    wr(COUNTER, 0xffffff00);
    wr(timerConf(0), TN_INT_ENB_CNF | TN_32MODE_CNF | route(2));
    wr(timerCmp(0), 0x10);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(0x100 * 10 - 1);
    expect(rises(2)).toEqual([]);
    at(0x100 * 10); // the low half wraps to 0
    expect(rises(2)).toEqual([2560]);
    at(0x110 * 10 - 1);
    at(0x110 * 10);
    expect(rises(2)).toEqual([2560, 2720]);
    at(1_000_000);
    expect(rises(2)).toEqual([2560, 2720]);
  });

  it("the same comparator in 64-bit mode is behind the counter and matches at once", () => {
    const { at, wr, rises } = setup();
    wr(COUNTER, 0xffffff00);
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    wr(timerCmp(0), 0x10);
    wr(timerCmp(0) + 4, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(0);
    expect(rises(2)).toEqual([0]);
  });

  it("periodic: the comparator wraps in 32 bits and keeps matching", () => {
    const { at, wr, rd, rises } = setup();
    wr(COUNTER, 0xffffff00);
    wr(COUNTER + 4, 7);
    wr(timerConf(0), TN_INT_ENB_CNF | TN_TYPE_CNF | TN_VAL_SET_CNF | TN_32MODE_CNF | route(2));
    wr(timerCmp(0), 0xffffff80); // with VAL_SET: first match 0x80 ticks on
    wr(timerCmp(0), 0x80); // then the period: 0x80 ticks
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(0x80 * 10);
    expect(rd(timerCmp(0))).toBe(0);
    expect(rd(timerCmp(0) + 4)).toBe(0);
    at(0x100 * 10);
    expect(rd(timerCmp(0))).toBe(0x80);
    expect(rises(2)).toEqual([1280, 2560]);
  });
});

describe("level and edge interrupts", () => {
  it("a level-triggered match sets its status bit and holds the line until software writes 1 to it", () => {
    const { at, wr, rd, level, rises, hpet } = setup();
    wr(timerConf(1), TN_INT_ENB_CNF | TN_INT_TYPE_CNF | route(2));
    hpet.write64(timerCmp(1), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    expect(rd(GEN_STATUS)).toBe(0b010);
    expect(level.get(2)).toBe(true);
    at(5000);
    expect(level.get(2)).toBe(true);
    wr(GEN_STATUS, 0b101); // other bits: nothing
    expect(rd(GEN_STATUS)).toBe(0b010);
    expect(level.get(2)).toBe(true);
    wr(GEN_STATUS, 0b010);
    expect(rd(GEN_STATUS)).toBe(0);
    expect(level.get(2)).toBe(false);
    expect(rises(2)).toEqual([1000]);
  });

  it("an edge-triggered match leaves the status register 0", () => {
    const { at, wr, rd, rises, hpet } = setup();
    wr(timerConf(2), TN_INT_ENB_CNF | route(2));
    hpet.write64(timerCmp(2), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    expect(rises(2)).toEqual([1000]);
    expect(rd(GEN_STATUS)).toBe(0);
  });

  it("with INT_ENB clear a level timer still latches status (spec 2.3.9.2.3); enabling it then asserts the line", () => {
    const { at, wr, rd, level, hpet } = setup();
    wr(timerConf(0), TN_INT_TYPE_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    expect(rd(GEN_STATUS)).toBe(0b001);
    expect(level.get(2)).toBeUndefined();
    wr(timerConf(0), TN_INT_TYPE_CNF | TN_INT_ENB_CNF | route(2));
    expect(level.get(2)).toBe(true);
    wr(timerConf(0), TN_INT_TYPE_CNF | route(2));
    expect(level.get(2)).toBe(false);
    expect(rd(GEN_STATUS)).toBe(0b001);
  });

  it("halting the HPET lowers an asserted level line and keeps the status; switching to edge clears it", () => {
    const { at, wr, rd, level, hpet } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | TN_INT_TYPE_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    expect(level.get(2)).toBe(true);
    wr(GEN_CONF, 0);
    expect(level.get(2)).toBe(false);
    expect(rd(GEN_STATUS)).toBe(1);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    expect(level.get(2)).toBe(true);
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    expect(rd(GEN_STATUS)).toBe(0);
    expect(level.get(2)).toBe(false);
  });

  it("two level timers on one route: the line stays up until both are cleared", () => {
    const { at, wr, level, hpet } = setup();
    for (const n of [0, 1]) {
      wr(timerConf(n), TN_INT_ENB_CNF | TN_INT_TYPE_CNF | route(20));
      hpet.write64(timerCmp(n), 100 * (n + 1), 0);
    }
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(2000);
    expect(level.get(20)).toBe(true);
    wr(GEN_STATUS, 0b001);
    expect(level.get(20)).toBe(true);
    wr(GEN_STATUS, 0b010);
    expect(level.get(20)).toBe(false);
  });

  it("moving an asserted level timer to another route moves the line", () => {
    const { at, wr, level, hpet } = setup();
    wr(timerConf(2), TN_INT_ENB_CNF | TN_INT_TYPE_CNF | route(2));
    hpet.write64(timerCmp(2), 100, 0);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    at(1000);
    wr(timerConf(2), TN_INT_ENB_CNF | TN_INT_TYPE_CNF | route(17));
    expect([level.get(2), level.get(17)]).toEqual([false, true]);
  });
});

describe("legacy replacement routing", () => {
  it("timer 0 drives ISA IRQ 0 and timer 1 ISA IRQ 8 whatever their routes; timer 2 keeps its route", () => {
    const { at, wr, rises, legacyChanges, hpet } = setup();
    for (const n of [0, 1, 2]) {
      wr(timerConf(n), TN_INT_ENB_CNF | route(2));
      hpet.write64(timerCmp(n), 100 * (n + 1), 0);
    }
    wr(GEN_CONF, HPET_ENABLE_CNF | HPET_LEG_RT_CNF);
    expect(hpet.legacy).toBe(true);
    expect(legacyChanges).toEqual([true]);
    at(1000);
    at(2000);
    at(3000);
    expect(rises(0)).toEqual([1000]);
    expect(rises(8)).toEqual([2000]);
    expect(rises(2)).toEqual([3000]);
  });

  it("reports each change of LEG_RT_CNF once, and leaving it returns timer 0 to its route", () => {
    const { at, wr, rises, legacyChanges, hpet } = setup();
    wr(GEN_CONF, HPET_LEG_RT_CNF);
    wr(GEN_CONF, HPET_LEG_RT_CNF | HPET_ENABLE_CNF);
    expect(legacyChanges).toEqual([true]);
    wr(GEN_CONF, HPET_ENABLE_CNF);
    expect(legacyChanges).toEqual([true, false]);
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0);
    at(1000);
    expect(rises(0)).toEqual([]);
    expect(rises(2)).toEqual([1000]);
  });

  it("reset returns to power-on values and leaves legacy mode", () => {
    const { wr, rd, legacyChanges, hpet, clock } = setup();
    wr(timerConf(0), TN_INT_ENB_CNF | route(2));
    hpet.write64(timerCmp(0), 100, 0);
    wr(GEN_CONF, HPET_LEG_RT_CNF | HPET_ENABLE_CNF);
    hpet.reset();
    expect(legacyChanges).toEqual([true, false]);
    expect([rd(GEN_CONF), rd(timerConf(0)), rd(timerCmp(0)), rd(COUNTER)]).toEqual([0, 0x30, 0xffffffff, 0]);
    expect(clock.nextDeadline()).toBe(Infinity);
  });
});
