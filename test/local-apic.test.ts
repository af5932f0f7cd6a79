import { describe, expect, it } from "vitest";
import { LocalApic, LAPIC_BASE } from "../src/devices/local-apic.ts";
import { MachineClock } from "../src/machine/clock.ts";
import type { LocalApicLink } from "../src/cpu/cpu.ts";

// Register offsets (SDM Vol. 3A Table 10-1).
const ID = 0x20;
const VERSION = 0x30;
const TPR = 0x80;
const APR = 0x90;
const PPR = 0xa0;
const EOI = 0xb0;
const LDR = 0xd0;
const DFR = 0xe0;
const SVR = 0xf0;
const ISR = 0x100;
const TMR = 0x180;
const IRR = 0x200;
const ESR = 0x280;
const ICR_LOW = 0x300;
const ICR_HIGH = 0x310;
const LVT_TIMER = 0x320;
const LVT_THERMAL = 0x330;
const LVT_PERF = 0x340;
const LVT_LINT0 = 0x350;
const LVT_LINT1 = 0x360;
const LVT_ERROR = 0x370;
const INITIAL_COUNT = 0x380;
const CURRENT_COUNT = 0x390;
const DIVIDE = 0x3e0;

const PERIODIC = 1 << 17;
const TSC_DEADLINE = 2 << 17;
const MASKED = 1 << 16;

function setup(bios = true) {
  const clock = new MachineClock("virtual", 0); // 1 ns per instruction
  const cpu = { icount: 0 };
  clock.attach(cpu);
  const apic = new LocalApic(clock);
  if (bios) apic.biosInit();
  const rd = (reg: number): number => apic.read(reg, 4) >>> 0;
  const wr = (reg: number, value: number): void => apic.write(reg, 4, value);
  /** Moves virtual time to `ns` and fires what is due. */
  const at = (ns: number): void => {
    cpu.icount = ns;
    clock.runDue();
  };
  const inIrr = (v: number): boolean => ((rd(IRR + (v >> 5) * 0x10) >>> (v & 31)) & 1) === 1;
  const inIsr = (v: number): boolean => ((rd(ISR + (v >> 5) * 0x10) >>> (v & 31)) & 1) === 1;
  const inTmr = (v: number): boolean => ((rd(TMR + (v >> 5) * 0x10) >>> (v & 31)) & 1) === 1;
  /** ESR as software reads it: write, then read (SDM 10.5.3). */
  const esr = (): number => {
    wr(ESR, 0);
    return rd(ESR);
  };
  return { clock, cpu, apic, rd, wr, at, inIrr, inIsr, inTmr, esr };
}

describe("local APIC registers", () => {
  it("is at 0xFEE00000", () => {
    expect(LAPIC_BASE).toBe(0xfee00000);
  });

  it("power-up state (SDM 10.4.7.1, QEMU's values)", () => {
    const { rd, apic } = setup(false);
    expect(rd(ID)).toBe(0);
    expect(rd(VERSION)).toBe(0x00050014);
    expect(rd(TPR)).toBe(0);
    expect(rd(APR)).toBe(0);
    expect(rd(PPR)).toBe(0);
    expect(rd(LDR)).toBe(0);
    expect(rd(DFR)).toBe(0xffffffff);
    expect(rd(SVR)).toBe(0xff);
    for (const lvt of [LVT_TIMER, LVT_THERMAL, LVT_PERF, LVT_LINT0, LVT_LINT1, LVT_ERROR]) expect(rd(lvt)).toBe(0x10000);
    expect(rd(INITIAL_COUNT)).toBe(0);
    expect(rd(CURRENT_COUNT)).toBe(0);
    expect(rd(DIVIDE)).toBe(0);
    expect(apic.baseMsrLow() >>> 0).toBe(0xfee00900);
    expect(apic.baseMsrHigh()).toBe(0);
    expect(apic.acceptsPicInterrupts()).toBe(false);
  });

  it("SeaBIOS state: SVR enabled, LINT0 ExtINT level, LINT1 NMI level, PIC let through", () => {
    const { rd, apic } = setup(true);
    expect(rd(SVR)).toBe(0x1ff);
    expect(rd(LVT_LINT0)).toBe(0x8700);
    expect(rd(LVT_LINT1)).toBe(0x8400);
    expect(rd(LVT_TIMER)).toBe(0x10000);
    expect(rd(ICR_LOW)).toBe(0x000c4610);
    expect(apic.acceptsPicInterrupts()).toBe(true);
  });

  it("ID is writable (bits 31:24); version, APR, PPR, ISR, TMR, IRR and current count ignore writes", () => {
    const { rd, wr } = setup();
    wr(ID, 0x05000000);
    expect(rd(ID)).toBe(0x05000000);
    wr(VERSION, 0);
    wr(APR, 0xff);
    wr(PPR, 0xff);
    wr(ISR, -1);
    wr(TMR + 0x10, -1);
    wr(IRR + 0x70, -1);
    wr(CURRENT_COUNT, 1234);
    expect(rd(VERSION)).toBe(0x00050014);
    expect(rd(APR)).toBe(0);
    expect(rd(PPR)).toBe(0);
    expect(rd(ISR)).toBe(0);
    expect(rd(TMR + 0x10)).toBe(0);
    expect(rd(IRR + 0x70)).toBe(0);
    expect(rd(CURRENT_COUNT)).toBe(0);
  });

  it("LDR keeps bits 31:24, DFR bits 31:28 with 27:0 reading as ones", () => {
    const { rd, wr } = setup();
    wr(LDR, 0x12345678);
    expect(rd(LDR)).toBe(0x12000000);
    wr(DFR, 0x0fffffff);
    expect(rd(DFR)).toBe(0x0fffffff);
    wr(DFR, 0xf0000000);
    expect(rd(DFR)).toBe(0xffffffff);
  });

  it("SVR keeps bits 8:0; TPR bits 7:0", () => {
    const { rd, wr } = setup();
    wr(SVR, 0xffff_f1ef);
    expect(rd(SVR)).toBe(0x1ef);
    wr(TPR, 0x1234);
    expect(rd(TPR)).toBe(0x34);
  });

  it("LVT entries keep only their defined bits; delivery status and remote IRR read 0", () => {
    const { rd, wr } = setup();
    wr(LVT_TIMER, 0xffffffff);
    expect(rd(LVT_TIMER)).toBe(0x000700ff); // vector, mask, timer mode 18:17
    wr(LVT_THERMAL, 0xffffffff);
    expect(rd(LVT_THERMAL)).toBe(0x000107ff);
    wr(LVT_PERF, 0xffffffff);
    expect(rd(LVT_PERF)).toBe(0x000107ff);
    wr(LVT_LINT0, 0xffffffff);
    expect(rd(LVT_LINT0)).toBe(0x0001a7ff); // polarity 13, trigger 15; not 12 or 14
    wr(LVT_LINT1, 0xffffffff);
    expect(rd(LVT_LINT1)).toBe(0x0001a7ff);
    wr(LVT_ERROR, 0xffffffff);
    expect(rd(LVT_ERROR)).toBe(0x000100ff);
  });

  it("only 4-byte accesses reach registers (QEMU): smaller reads give 0, smaller writes are dropped", () => {
    const { apic, rd } = setup();
    expect(apic.read(VERSION, 1)).toBe(0);
    expect(apic.read(VERSION, 2)).toBe(0);
    apic.write(TPR, 1, 0x40);
    apic.write(TPR, 2, 0x40);
    expect(rd(TPR)).toBe(0);
  });

  it("an offset inside a 16-byte slot means that slot's register (QEMU decodes bits 11:4)", () => {
    const { apic, rd } = setup();
    apic.write(TPR + 4, 4, 0x30);
    expect(rd(TPR)).toBe(0x30);
    expect(apic.read(VERSION + 8, 4)).toBe(0x00050014);
  });

  it("reserved registers read 0 and log an illegal register address (ESR bit 7)", () => {
    const { apic, rd, wr, esr } = setup();
    wr(ESR, 0);
    expect(esr()).toBe(0);
    expect(apic.read(0x000, 4)).toBe(0);
    expect(esr()).toBe(0x80);
    expect(esr()).toBe(0); // the write cleared it
    wr(0x3f0, 0x1234); // reserved
    expect(esr()).toBe(0x80);
    expect(rd(0x2f0)).toBe(0); // CMCI: not among QEMU's six LVTs
    expect(esr()).toBe(0x80);
  });

  it("ESR is write-then-read: an error shows only after the next write", () => {
    const { apic, rd, wr } = setup();
    apic.acceptInterrupt(3, false);
    expect(rd(ESR)).toBe(0);
    wr(ESR, 0);
    expect(rd(ESR)).toBe(0x40);
    wr(ESR, 0);
    expect(rd(ESR)).toBe(0);
  });

  it("the error LVT raises its vector on an error when unmasked", () => {
    const { apic, wr, inIrr } = setup();
    wr(LVT_ERROR, 0xfe);
    apic.read(0x3f0, 4);
    expect(inIrr(0xfe)).toBe(true);
  });
});

describe("local APIC priorities, acknowledge and EOI", () => {
  it("IRR and TMR: edge clears TMR, level sets it", () => {
    const { apic, inIrr, inTmr } = setup();
    apic.acceptInterrupt(0x41, true);
    expect(inIrr(0x41)).toBe(true);
    expect(inTmr(0x41)).toBe(true);
    apic.acceptInterrupt(0x41, false);
    expect(inTmr(0x41)).toBe(false);
    apic.acceptInterrupt(0xff, false);
    expect(inIrr(0xff)).toBe(true);
  });

  it("vectors 0-15 are refused with ESR receive illegal vector (bit 6)", () => {
    const { apic, rd, esr } = setup();
    apic.acceptInterrupt(15, false);
    for (let i = 0; i < 8; i++) expect(rd(IRR + i * 0x10)).toBe(0);
    expect(apic.hasInterrupt()).toBe(false);
    expect(esr()).toBe(0x40);
  });

  it("PPR is TPR when its class is at least the in-service class, else that class (SDM 10.8.3.1)", () => {
    const { apic, rd, wr } = setup();
    apic.acceptInterrupt(0x45, false);
    expect(apic.acknowledge()).toBe(0x45);
    wr(TPR, 0x23);
    expect(rd(PPR)).toBe(0x40);
    wr(TPR, 0x4a);
    expect(rd(PPR)).toBe(0x4a);
    wr(TPR, 0x57);
    expect(rd(PPR)).toBe(0x57);
  });

  it("TPR masks vectors whose class is not above it", () => {
    const { apic, wr } = setup();
    wr(TPR, 0x50);
    apic.acceptInterrupt(0x5f, false);
    expect(apic.hasInterrupt()).toBe(false);
    apic.acceptInterrupt(0x60, false);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x60);
    wr(EOI, 0);
    expect(apic.hasInterrupt()).toBe(false);
    wr(TPR, 0x4f);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x5f);
  });

  it("nested vectors: a higher class interrupts, a lower one waits; EOI retires the highest in service", () => {
    const { apic, wr, inIsr, inIrr } = setup();
    apic.acceptInterrupt(0x40, false);
    expect(apic.acknowledge()).toBe(0x40);
    apic.acceptInterrupt(0x41, false); // same class: waits
    expect(apic.hasInterrupt()).toBe(false);
    apic.acceptInterrupt(0x80, false);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x80);
    expect(inIsr(0x40) && inIsr(0x80)).toBe(true);
    wr(EOI, 0);
    expect(inIsr(0x80)).toBe(false);
    expect(inIsr(0x40)).toBe(true);
    expect(apic.hasInterrupt()).toBe(false); // 0x41 is still below in-service 0x40's class
    wr(EOI, 0);
    expect(inIsr(0x40)).toBe(false);
    expect(apic.hasInterrupt()).toBe(true);
    expect(apic.acknowledge()).toBe(0x41);
    expect(inIrr(0x41)).toBe(false);
    wr(EOI, 0);
    wr(EOI, 0); // nothing in service: harmless
    expect(apic.hasInterrupt()).toBe(false);
  });

  it("acknowledge with nothing that qualifies returns the spurious vector and sets no ISR bit (SDM 10.9)", () => {
    const { apic, rd, wr, inIrr } = setup();
    wr(SVR, 0x1e7);
    apic.acceptInterrupt(0x30, false);
    expect(apic.hasInterrupt()).toBe(true);
    wr(TPR, 0x30); // raised between the request and the acknowledge
    expect(apic.acknowledge()).toBe(0xe7);
    for (let i = 0; i < 8; i++) expect(rd(ISR + i * 0x10)).toBe(0);
    expect(inIrr(0x30)).toBe(true);
  });

  it("EOI of a level-triggered vector tells the I/O APIC; of an edge one, not", () => {
    const { apic, wr } = setup();
    const eois: number[] = [];
    apic.onLevelEoi = (v) => eois.push(v);
    apic.acceptInterrupt(0x50, true);
    apic.acceptInterrupt(0x60, false);
    expect(apic.acknowledge()).toBe(0x60);
    wr(EOI, 0);
    expect(apic.acknowledge()).toBe(0x50);
    wr(EOI, 0);
    expect(eois).toEqual([0x50]);
  });

  it("CR8 is TPR[7:4] (SDM 10.8.6.1)", () => {
    const { apic, rd, wr } = setup();
    apic.setTaskPriorityFromCr8(0x5);
    expect(rd(TPR)).toBe(0x50);
    wr(TPR, 0x7f);
    expect(apic.taskPriorityForCr8()).toBe(7);
    apic.acceptInterrupt(0x75, false);
    apic.setTaskPriorityFromCr8(0);
    expect(apic.hasInterrupt()).toBe(true);
  });

  it("onChange is called when an interrupt arrives, on EOI and on TPR changes", () => {
    const { apic, wr } = setup();
    let calls = 0;
    apic.onChange = () => calls++;
    apic.acceptInterrupt(0x40, false);
    expect(calls).toBe(1);
    apic.acknowledge();
    const before = calls;
    wr(EOI, 0);
    expect(calls).toBe(before + 1);
    wr(TPR, 0x10);
    apic.setTaskPriorityFromCr8(0);
    expect(calls).toBe(before + 3);
  });
});

describe("local APIC software and hardware disable", () => {
  it("clearing SVR bit 8 masks every LVT, and the masks cannot be cleared meanwhile (SDM 10.4.7.2)", () => {
    const { apic, rd, wr } = setup();
    wr(LVT_TIMER, 0x20030);
    wr(LVT_ERROR, 0xfe);
    wr(SVR, 0x0ff);
    expect(rd(LVT_TIMER)).toBe(0x30030);
    expect(rd(LVT_LINT0)).toBe(0x18700);
    expect(rd(LVT_LINT1)).toBe(0x18400);
    expect(rd(LVT_ERROR)).toBe(0x100fe);
    wr(LVT_LINT0, 0x700);
    expect(rd(LVT_LINT0)).toBe(0x10700);
    expect(apic.acceptsPicInterrupts()).toBe(false);
    wr(SVR, 0x1ff); // enabling again leaves the masks until software clears them
    expect(rd(LVT_LINT0)).toBe(0x10700);
    wr(LVT_LINT0, 0x700);
    expect(rd(LVT_LINT0)).toBe(0x700);
    expect(apic.acceptsPicInterrupts()).toBe(true);
  });

  it("software disabled: pending interrupts are held, not dispatched", () => {
    const { apic, wr } = setup();
    apic.acceptInterrupt(0x40, false);
    wr(SVR, 0xff);
    expect(apic.hasInterrupt()).toBe(false);
    expect(apic.acknowledge()).toBe(0xff);
    wr(SVR, 0x1ff);
    expect(apic.acknowledge()).toBe(0x40);
  });

  it("LINT0 lets the PIC through only as an unmasked ExtINT", () => {
    const { apic, wr } = setup();
    wr(LVT_LINT0, 0x700);
    expect(apic.acceptsPicInterrupts()).toBe(true);
    wr(LVT_LINT0, 0x10700);
    expect(apic.acceptsPicInterrupts()).toBe(false);
    wr(LVT_LINT0, 0x0030); // fixed
    expect(apic.acceptsPicInterrupts()).toBe(false);
  });

  it("IA32_APIC_BASE bit 11 clear: hardware disabled, PIC straight through, reset state; BSP bit kept", () => {
    const { apic, rd } = setup();
    let changes = 0;
    apic.onChange = () => changes++;
    apic.acceptInterrupt(0x40, false);
    apic.setBaseMsr(0xfee00000 | 0, 0);
    expect(apic.baseMsrLow() >>> 0).toBe(0xfee00100);
    expect(apic.acceptsPicInterrupts()).toBe(true);
    expect(apic.hasInterrupt()).toBe(false);
    expect(changes).toBe(2);
    expect(rd(SVR)).toBe(0xff);
    expect(rd(LVT_LINT0)).toBe(0x10000);
    apic.acceptInterrupt(0x50, false); // no APIC: dropped
    expect(rd(IRR + 0x20)).toBe(0);
    apic.setBaseMsr(0xfee00800 | 0, 0);
    expect(apic.baseMsrLow() >>> 0).toBe(0xfee00900);
    expect(apic.acceptsPicInterrupts()).toBe(false); // LINT0 masked after reset
    expect(apic.baseRelocated).toBe(false);
  });

  it("is the CPU's LocalApicLink: WRMSR 0x1B and CR8 reach it", () => {
    const { apic } = setup();
    const link: LocalApicLink = apic;
    expect(link.writeBaseMsr(0xfee00000 | 0, 0)).toBe(true);
    expect(apic.acceptsPicInterrupts()).toBe(true); // hardware disabled
    expect(apic.baseMsrLow() >>> 0).toBe(0xfee00100);
  });

  it("a moved base is recorded", () => {
    const { apic } = setup();
    apic.setBaseMsr(0xfed00900 | 0, 0);
    expect(apic.baseRelocated).toBe(true);
    expect(apic.baseMsrLow() >>> 0).toBe(0xfed00900);
  });
});

describe("local APIC ICR", () => {
  it("self-IPI by shorthand sets IRR edge-triggered; delivery status reads 0", () => {
    const { rd, wr, inIrr, inTmr } = setup();
    wr(ICR_LOW, 0x00049061); // shorthand self, fixed, level bit, trigger level, delivery status written
    expect(inIrr(0x61)).toBe(true);
    expect(inTmr(0x61)).toBe(false);
    expect(rd(ICR_LOW)).toBe(0x00048061);
    expect(rd(ICR_LOW) & 0x1000).toBe(0);
  });

  it("self-IPI by destination: physical ID 0 or broadcast, and all-including-self", () => {
    const { rd, wr, inIrr } = setup();
    wr(ICR_HIGH, 0x00ffffff);
    expect(rd(ICR_HIGH)).toBe(0);
    wr(ICR_LOW, 0x62);
    expect(inIrr(0x62)).toBe(true);
    wr(ICR_HIGH, 0xff000000);
    wr(ICR_LOW, 0x63);
    expect(inIrr(0x63)).toBe(true);
    wr(ICR_HIGH, 0x01000000); // another CPU
    wr(ICR_LOW, 0x64);
    expect(inIrr(0x64)).toBe(false);
    wr(ICR_LOW, 0x00080065); // all including self
    expect(inIrr(0x65)).toBe(true);
    wr(ICR_LOW, 0x000c0066); // all excluding self
    expect(inIrr(0x66)).toBe(false);
  });

  it("logical destinations: flat model matches LDR bits, cluster model the cluster and a member bit", () => {
    const { apic, wr, inIrr } = setup();
    wr(LDR, 0x02000000);
    wr(ICR_HIGH, 0x02000000);
    wr(ICR_LOW, 0x870);
    expect(inIrr(0x70)).toBe(true);
    wr(ICR_HIGH, 0x05000000);
    wr(ICR_LOW, 0x871);
    expect(inIrr(0x71)).toBe(false);
    wr(DFR, 0x0fffffff); // cluster
    wr(LDR, 0x32000000);
    expect(apic.matchesDestination(0x32, true)).toBe(true);
    expect(apic.matchesDestination(0x36, true)).toBe(true);
    expect(apic.matchesDestination(0x22, true)).toBe(false);
    expect(apic.matchesDestination(0x31, true)).toBe(false);
    expect(apic.matchesDestination(0xf2, true)).toBe(true);
  });

  it("INIT, SIPI and NMI IPIs are dropped harmlessly; an illegal fixed vector sets send illegal vector", () => {
    const { apic, rd, wr, esr } = setup();
    wr(ICR_HIGH, 0x01000000);
    wr(ICR_LOW, 0x0000c500); // INIT assert
    wr(ICR_LOW, 0x00008500); // INIT de-assert
    wr(ICR_LOW, 0x00000610); // SIPI
    wr(ICR_LOW, 0x000c4610); // SIPI to all others
    wr(ICR_LOW, 0x00040400); // NMI to self
    expect(apic.ipisIgnored).toBe(5);
    for (let i = 0; i < 8; i++) expect(rd(IRR + i * 0x10)).toBe(0);
    expect(esr()).toBe(0);
    wr(ICR_LOW, 0x00040005);
    expect(esr()).toBe(0x20);
    expect(apic.hasInterrupt()).toBe(false);
  });
});

describe("local APIC timer", () => {
  // Divide configuration (SDM Figure 10-10): bits 3,1:0.
  const dividers: [number, number][] = [
    [0b0000, 2],
    [0b0001, 4],
    [0b0010, 8],
    [0b0011, 16],
    [0b1000, 32],
    [0b1001, 64],
    [0b1010, 128],
    [0b1011, 1],
  ];

  for (const [config, divisor] of dividers) {
    it(`one-shot, divide by ${divisor}: fires once after count x ${divisor} ns (1 GHz bus)`, () => {
      const { apic, rd, wr, at, inIrr } = setup();
      at(1000);
      wr(DIVIDE, config);
      expect(rd(DIVIDE)).toBe(config);
      wr(LVT_TIMER, 0x40);
      wr(INITIAL_COUNT, 500);
      expect(rd(CURRENT_COUNT)).toBe(500);
      at(1000 + 100 * divisor);
      expect(rd(CURRENT_COUNT)).toBe(400);
      at(1000 + 500 * divisor - 1);
      expect(inIrr(0x40)).toBe(false);
      expect(rd(CURRENT_COUNT)).toBe(1);
      at(1000 + 500 * divisor);
      expect(inIrr(0x40)).toBe(true);
      expect(rd(CURRENT_COUNT)).toBe(0);
      expect(apic.acknowledge()).toBe(0x40);
      wr(EOI, 0);
      at(1000 + 5000 * divisor);
      expect(inIrr(0x40)).toBe(false);
      expect(rd(CURRENT_COUNT)).toBe(0);
      expect(rd(INITIAL_COUNT)).toBe(500);
    });
  }

  for (const [config, divisor] of [dividers[1], dividers[6], dividers[7]]) {
    it(`periodic, divide by ${divisor}: fires every count x ${divisor} ns, re-armed from the deadline`, () => {
      const { clock, rd, wr, at, inIrr, apic } = setup();
      wr(DIVIDE, config);
      wr(LVT_TIMER, PERIODIC | 0x41);
      wr(INITIAL_COUNT, 1000);
      const period = 1000 * divisor;
      expect(clock.nextDeadline()).toBe(period);
      for (let k = 1; k <= 4; k++) {
        at(k * period - 1);
        expect(inIrr(0x41)).toBe(false);
        expect(rd(CURRENT_COUNT)).toBe(1);
        at(k * period + 3); // handled a little late
        expect(inIrr(0x41)).toBe(true);
        expect(clock.nextDeadline()).toBe((k + 1) * period); // no drift
        expect(rd(CURRENT_COUNT)).toBe(1000 - Math.floor(3 / divisor));
        expect(apic.acknowledge()).toBe(0x41);
        wr(EOI, 0);
      }
    });
  }

  it("periodic reload: the count reads the initial count again at each expiry", () => {
    const { rd, wr, at } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, PERIODIC | 0x42);
    wr(INITIAL_COUNT, 10);
    at(10);
    expect(rd(CURRENT_COUNT)).toBe(10);
    at(25);
    expect(rd(CURRENT_COUNT)).toBe(5);
  });

  it("masked: no interrupt but the count runs; unmasking before expiry arms it", () => {
    const { rd, wr, at, inIrr } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, MASKED | 0x43);
    wr(INITIAL_COUNT, 100);
    at(50);
    expect(rd(CURRENT_COUNT)).toBe(50);
    wr(LVT_TIMER, 0x43);
    at(100);
    expect(inIrr(0x43)).toBe(true);
  });

  it("masked through expiry: a one-shot is spent", () => {
    const { wr, at, inIrr, clock } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, MASKED | 0x44);
    wr(INITIAL_COUNT, 100);
    at(150);
    wr(LVT_TIMER, 0x44);
    expect(clock.nextDeadline()).toBe(Infinity);
    at(1000);
    expect(inIrr(0x44)).toBe(false);
  });

  it("an initial count of 0 stops the timer; a new count restarts it from now", () => {
    const { rd, wr, at, inIrr, clock } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, PERIODIC | 0x45);
    wr(INITIAL_COUNT, 100);
    at(50);
    wr(INITIAL_COUNT, 0);
    expect(rd(CURRENT_COUNT)).toBe(0);
    expect(clock.nextDeadline()).toBe(Infinity);
    at(500);
    expect(inIrr(0x45)).toBe(false);
    wr(INITIAL_COUNT, 30);
    at(529);
    expect(inIrr(0x45)).toBe(false);
    at(530);
    expect(inIrr(0x45)).toBe(true);
  });

  it("changing the divider mid-count keeps the count, which goes on at the new rate", () => {
    const { rd, wr, at, inIrr } = setup();
    wr(DIVIDE, 0b1011); // 1
    wr(LVT_TIMER, 0x46);
    wr(INITIAL_COUNT, 100);
    at(40);
    wr(DIVIDE, 0b0001); // 4
    expect(rd(CURRENT_COUNT)).toBe(60);
    at(40 + 4 * 20);
    expect(rd(CURRENT_COUNT)).toBe(40);
    at(40 + 4 * 60 - 1);
    expect(inIrr(0x46)).toBe(false);
    at(40 + 4 * 60);
    expect(inIrr(0x46)).toBe(true);
  });

  it("TSC-deadline mode is not emulated: it behaves as one-shot", () => {
    const { wr, at, inIrr, clock, apic } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, TSC_DEADLINE | 0x47);
    wr(INITIAL_COUNT, 10);
    at(10);
    expect(inIrr(0x47)).toBe(true);
    apic.acknowledge();
    expect(clock.nextDeadline()).toBe(Infinity);
  });

  it("software disable stops timer interrupts", () => {
    const { wr, at, inIrr, clock } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, PERIODIC | 0x48);
    wr(INITIAL_COUNT, 10);
    wr(SVR, 0xff);
    expect(clock.nextDeadline()).toBe(Infinity);
    at(100);
    expect(inIrr(0x48)).toBe(false);
  });

  it("a timer vector below 16 is refused with receive illegal vector", () => {
    const { wr, at, esr } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, 0x05);
    wr(INITIAL_COUNT, 10);
    at(10);
    expect(esr()).toBe(0x40);
  });

  it("switching a running timer to periodic arms it from the original load time (as QEMU)", () => {
    const { wr, at, clock } = setup();
    wr(DIVIDE, 0b1011);
    wr(LVT_TIMER, MASKED | 0x49);
    wr(INITIAL_COUNT, 100);
    at(250);
    wr(LVT_TIMER, PERIODIC | 0x49);
    expect(clock.nextDeadline()).toBe(300);
  });
});
