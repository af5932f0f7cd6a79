import { describe, expect, it } from "vitest";
import { MachineClock, TimerEvent } from "../src/machine/clock.ts";

describe("MachineClock: virtual time", () => {
  it("advances 2^shift ns per retired instruction", () => {
    const cpu = { icount: 0 };
    const clock = new MachineClock("virtual", 3);
    clock.attach(cpu);
    cpu.icount = 1000;
    expect(clock.now()).toBe(8000);
  });

  it("fires due events earliest first, each with the deadline it was scheduled for", () => {
    const cpu = { icount: 0 };
    const clock = new MachineClock("virtual", 0);
    clock.attach(cpu);
    const fired: string[] = [];
    const a = new TimerEvent("a", (d) => fired.push(`a@${d}`));
    const b = new TimerEvent("b", (d) => fired.push(`b@${d}`));
    clock.schedule(b, 300);
    clock.schedule(a, 100);
    expect(clock.nextDeadline()).toBe(100);
    expect(clock.instructionsUntil(100)).toBe(100);
    cpu.icount = 150;
    expect(clock.runDue()).toBe(1);
    cpu.icount = 1000;
    expect(clock.runDue()).toBe(1);
    expect(fired).toEqual(["a@100", "b@300"]);
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it("an event that re-arms itself from its deadline does not drift", () => {
    const cpu = { icount: 0 };
    const clock = new MachineClock("virtual", 0);
    clock.attach(cpu);
    const deadlines: number[] = [];
    const tick: TimerEvent = new TimerEvent("tick", (d) => {
      deadlines.push(d);
      clock.schedule(tick, d + 1000);
    });
    clock.schedule(tick, 1000);
    cpu.icount = 3500;
    clock.runDue();
    expect(deadlines).toEqual([1000, 2000, 3000]);
    expect(clock.nextDeadline()).toBe(4000);
  });

  it("cancel and reschedule move the next deadline", () => {
    const clock = new MachineClock();
    const e = new TimerEvent("e", () => undefined);
    clock.schedule(e, 500);
    clock.schedule(e, 900);
    expect(clock.nextDeadline()).toBe(900);
    clock.cancel(e);
    expect(clock.nextDeadline()).toBe(Infinity);
    clock.cancel(e); // twice is harmless
  });

  it("tells the machine when a new event is earlier than every other", () => {
    const clock = new MachineClock();
    const seen: number[] = [];
    clock.onEarlierDeadline = (d) => seen.push(d);
    clock.schedule(new TimerEvent("x", () => undefined), 1000);
    clock.schedule(new TimerEvent("y", () => undefined), 2000);
    clock.schedule(new TimerEvent("z", () => undefined), 10);
    expect(seen).toEqual([1000, 10]);
  });

  it("while halted, skips idle time to the next event and fires it", () => {
    const cpu = { icount: 10 };
    const clock = new MachineClock("virtual", 0);
    clock.attach(cpu);
    let fired = 0;
    clock.schedule(new TimerEvent("t", () => fired++), 5000);
    expect(clock.skipToNextEvent()).toBe(4990);
    expect(fired).toBe(1);
    expect(clock.now()).toBe(5000);
    expect(clock.skipToNextEvent()).toBe(-1);
  });

  it("defaults to 32 ns per instruction", () => {
    const clock = new MachineClock();
    clock.attach({ icount: 3 });
    expect(clock.now()).toBe(96);
  });

  it("refuses shifts outside 0..10", () => {
    expect(() => new MachineClock("virtual", 11)).toThrow(RangeError);
  });
});

describe("MachineClock: host time", () => {
  it("follows the host clock and never counts instructions", async () => {
    const clock = new MachineClock("host");
    clock.attach({ icount: 1e9 });
    const t0 = clock.now();
    expect(t0).toBeLessThan(1e9);
    await new Promise((r) => setTimeout(r, 20));
    expect(clock.now() - t0).toBeGreaterThanOrEqual(15e6);
    expect(clock.instructionsUntil(clock.now() + 1e6)).toBe(Infinity);
    expect(clock.skipToNextEvent()).toBe(-1);
  });
});
