// The 8259A pair driven through its ports, as a kernel drives it. Expected
// values come from the Intel 8259A datasheet (ICW/OCW formats, priority and
// EOI rules, poll word, spurious IR7) and QEMU's PIIX ELCR masks.

import { describe, expect, it } from "vitest";
import { Pic8259Pair } from "../src/devices/pic8259.ts";
import { PortBus } from "../src/machine/ports.ts";

const OCW3_READ_IRR = 0x0a;
const OCW3_READ_ISR = 0x0b;
const EOI = 0x20;

function setup(): { bus: PortBus; pic: Pic8259Pair; changes: boolean[] } {
  const bus = new PortBus();
  const pic = new Pic8259Pair();
  pic.attach(bus);
  const changes: boolean[] = [];
  pic.onChange = () => changes.push(pic.hasInterrupt());
  return { bus, pic, changes };
}

/** The usual remap: master at `masterBase`, slave at `slaveBase`, everything unmasked. */
function init(bus: PortBus, masterBase = 0x20, slaveBase = 0x28, icw4 = 0x01): void {
  bus.write(0x20, 1, 0x11);
  bus.write(0xa0, 1, 0x11);
  bus.write(0x21, 1, masterBase);
  bus.write(0xa1, 1, slaveBase);
  bus.write(0x21, 1, 0x04);
  bus.write(0xa1, 1, 0x02);
  bus.write(0x21, 1, icw4);
  bus.write(0xa1, 1, icw4);
  bus.write(0x21, 1, 0x00);
  bus.write(0xa1, 1, 0x00);
}

function irr(bus: PortBus, cmd = 0x20): number {
  bus.write(cmd, 1, OCW3_READ_IRR);
  return bus.read(cmd, 1);
}

function isr(bus: PortBus, cmd = 0x20): number {
  bus.write(cmd, 1, OCW3_READ_ISR);
  const v = bus.read(cmd, 1);
  bus.write(cmd, 1, OCW3_READ_IRR);
  return v;
}

/** Raise then lower a line: what an edge-triggered ISA device does. */
function pulse(pic: Pic8259Pair, irq: number): void {
  pic.setIrq(irq, true);
  pic.setIrq(irq, false);
}

describe("8259A pair: ports", () => {
  it("claims 0x20-0x21, 0xA0-0xA1 and the ELCR at 0x4D0-0x4D1, nothing around them", () => {
    const { bus, pic } = setup();
    for (const p of [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1]) expect(bus.deviceAt(p)).toBe(pic);
    for (const p of [0x1f, 0x22, 0x9f, 0xa2, 0x4cf, 0x4d2]) expect(bus.deviceAt(p)).toBeNull();
  });

  it("the data port reads the mask (OCW1)", () => {
    const { bus } = setup();
    init(bus);
    bus.write(0x21, 1, 0x5a);
    bus.write(0xa1, 1, 0xc3);
    expect(bus.read(0x21, 1)).toBe(0x5a);
    expect(bus.read(0xa1, 1)).toBe(0xc3);
  });

  it("a 16-bit access is two byte accesses at consecutive ports", () => {
    const { bus } = setup();
    bus.write(0x4d0, 2, 0x0c20);
    expect(bus.read(0x4d0, 1)).toBe(0x20);
    expect(bus.read(0x4d1, 1)).toBe(0x0c);
    expect(bus.read(0x4d0, 2)).toBe(0x0c20);
  });
});

describe("8259A pair: initialization", () => {
  it("ICW1 clears IMR and ISR and selects the IRR for reads", () => {
    const { bus, pic } = setup();
    init(bus);
    pic.setIrq(3, true);
    expect(pic.acknowledge()).toBe(0x23);
    bus.write(0x21, 1, 0xff);
    bus.write(0x20, 1, OCW3_READ_ISR);
    bus.write(0x20, 1, 0x11);
    expect(bus.read(0x21, 1)).toBe(0x00); // IMR cleared (before ICW2 is even written)
    expect(bus.read(0x20, 1)).toBe(0x00); // reads the IRR, which is empty
    bus.write(0x21, 1, 0x40);
    bus.write(0x21, 1, 0x04);
    bus.write(0x21, 1, 0x01);
    expect(isr(bus)).toBe(0x00);
  });

  it("ICW2 gives the vector base (T7-T3; low three bits ignored)", () => {
    const { bus, pic } = setup();
    init(bus, 0x47, 0x7d);
    pic.setIrq(1, true);
    expect(pic.acknowledge()).toBe(0x41);
    pic.setIrq(12, true);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x7c);
  });

  it("without ICW4 (ICW1 bit 0 clear), the fourth data write is already OCW1", () => {
    const { bus, pic } = setup();
    bus.write(0x20, 1, 0x10);
    bus.write(0x21, 1, 0x30);
    bus.write(0x21, 1, 0x04);
    bus.write(0x21, 1, 0x02); // OCW1
    expect(bus.read(0x21, 1)).toBe(0x02);
    pic.setIrq(0, true);
    expect(pic.acknowledge()).toBe(0x30);
    expect(isr(bus)).toBe(0x01); // not AEOI
  });

  it("single mode (ICW1 SNGL) skips ICW3", () => {
    const { bus } = setup();
    bus.write(0x20, 1, 0x13);
    bus.write(0x21, 1, 0x20);
    bus.write(0x21, 1, 0x01); // ICW4
    bus.write(0x21, 1, 0x77); // OCW1
    expect(bus.read(0x21, 1)).toBe(0x77);
  });

  it("biosInit leaves SeaBIOS's state: bases 0x08/0x70, IMR 0xB8/0x8E, ELCR 0x00/0x0C", () => {
    const { bus, pic } = setup();
    pic.biosInit();
    expect(bus.read(0x21, 1)).toBe(0xb8);
    expect(bus.read(0xa1, 1)).toBe(0x8e);
    expect(bus.read(0x4d0, 1)).toBe(0x00);
    expect(bus.read(0x4d1, 1)).toBe(0x0c);
    expect(irr(bus)).toBe(0);
    expect(isr(bus)).toBe(0);
    pulse(pic, 3); // masked
    expect(pic.hasInterrupt()).toBe(false);
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x08);
    bus.write(0x20, 1, EOI);
    pulse(pic, 8);
    expect(pic.acknowledge()).toBe(0x70);
  });
});

describe("8259A pair: requests, masks and priority", () => {
  it("an edge latches IRR; INTA moves it to ISR; EOI clears it", () => {
    const { bus, pic, changes } = setup();
    init(bus);
    pulse(pic, 3);
    expect(irr(bus)).toBe(0x08);
    expect(isr(bus)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
    expect(irr(bus)).toBe(0x00);
    expect(isr(bus)).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, EOI);
    expect(isr(bus)).toBe(0x00);
    expect(changes).toEqual([true, false]);
  });

  it("returns -1 when nothing was requested", () => {
    const { bus, pic } = setup();
    init(bus);
    expect(pic.acknowledge()).toBe(-1);
  });

  it("a masked request stays in IRR without INT until unmasked", () => {
    const { bus, pic } = setup();
    init(bus);
    bus.write(0x21, 1, 0x08);
    pulse(pic, 3);
    expect(irr(bus)).toBe(0x08);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x21, 1, 0x00);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it("edge mode: a line held high requests once; it must go low and high again", () => {
    const { bus, pic } = setup();
    init(bus);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
    bus.write(0x20, 1, EOI);
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, true); // no transition
    expect(pic.hasInterrupt()).toBe(false);
    pic.setIrq(4, false);
    pic.setIrq(4, true);
    expect(pic.acknowledge()).toBe(0x24);
  });

  it("the lowest IR wins; a higher one nests over one in service, a lower one waits for EOI", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 5);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    expect(pic.hasInterrupt()).toBe(false); // IR5 is below IR1 in service
    pulse(pic, 0);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x20);
    expect(isr(bus)).toBe(0x03);
    bus.write(0x20, 1, EOI); // non-specific: the highest in service, IR0
    expect(isr(bus)).toBe(0x02);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, EOI);
    expect(isr(bus)).toBe(0x00);
    expect(pic.acknowledge()).toBe(0x25);
  });

  it("specific EOI (OCW2 0x60 | IR) clears only that IR", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 6);
    expect(pic.acknowledge()).toBe(0x26);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    bus.write(0x20, 1, 0x60 | 6);
    expect(isr(bus)).toBe(0x08);
    bus.write(0x20, 1, 0x60 | 3);
    expect(isr(bus)).toBe(0x00);
  });

  it("rotate on non-specific EOI (OCW2 0xA0): the IR served becomes the lowest", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    bus.write(0x20, 1, 0xa0); // IR1 lowest, IR2 highest
    pulse(pic, 0);
    pulse(pic, 3);
    expect(pic.acknowledge()).toBe(0x23);
    expect(pic.hasInterrupt()).toBe(false); // IR0 is now below IR3
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("rotate on specific EOI (OCW2 0xE0 | IR) and set priority (OCW2 0xC0 | IR)", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 4);
    expect(pic.acknowledge()).toBe(0x24);
    bus.write(0x20, 1, 0xe0 | 4); // clears IR4, IR4 lowest: order 5,6,7,0,...,4
    expect(isr(bus)).toBe(0x00);
    pulse(pic, 3);
    pulse(pic, 6);
    expect(pic.acknowledge()).toBe(0x26);
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x23);
    bus.write(0x20, 1, EOI);
    bus.write(0x20, 1, 0xc0 | 7); // IR7 lowest: back to 0 highest
    pulse(pic, 3);
    pulse(pic, 6);
    expect(pic.acknowledge()).toBe(0x23);
  });

  it("automatic EOI (ICW4 0x03) leaves nothing in service; OCW2 0x80 rotates on it", () => {
    const { bus, pic } = setup();
    init(bus, 0x20, 0x28, 0x03);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    expect(isr(bus)).toBe(0x00);
    pulse(pic, 0);
    pulse(pic, 5);
    expect(pic.acknowledge()).toBe(0x20); // no rotation yet
    bus.write(0x20, 1, 0x80); // rotate in AEOI mode (set)
    pulse(pic, 0);
    pulse(pic, 4);
    expect(pic.acknowledge()).toBe(0x20); // IR0 still highest; now rotates: IR0 lowest
    pulse(pic, 0);
    expect(pic.acknowledge()).toBe(0x24); // 4 before 5 before 0
    expect(pic.acknowledge()).toBe(0x25);
    expect(pic.acknowledge()).toBe(0x20);
  });

  it("poll (OCW3 0x0C): the read returns 0x80 | IR and acts as INTA; 0 without a request", () => {
    const { bus, pic } = setup();
    init(bus);
    bus.write(0x21, 1, 0xff); // polling is done with INT masked off
    pulse(pic, 5);
    bus.write(0x21, 1, 0x00);
    bus.write(0x20, 1, 0x0c);
    expect(bus.read(0x20, 1)).toBe(0x85);
    expect(isr(bus)).toBe(0x20);
    expect(irr(bus)).toBe(0x00);
    bus.write(0x20, 1, EOI);
    bus.write(0x21, 1, 0x80);
    bus.write(0x20, 1, 0x0c);
    expect(bus.read(0x21, 1)).toBe(0x00); // the poll read may be at either port
    expect(bus.read(0x21, 1)).toBe(0x80); // and then it reads the IMR again
  });

  it("special mask mode (OCW3 0x68/0x48) lets a lower IR through while the one in service is masked", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    bus.write(0x21, 1, 0x02);
    pulse(pic, 5);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x20, 1, 0x68);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x25);
    bus.write(0x20, 1, 0x48); // reset special mask
    bus.write(0x20, 1, 0x60 | 5);
    pulse(pic, 6);
    expect(pic.hasInterrupt()).toBe(false); // IR1 in service again blocks
  });
});

describe("8259A pair: cascade", () => {
  it("a slave IRQ gives the slave's vector, with IR2 in service on the master", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 10);
    expect(irr(bus, 0xa0)).toBe(0x04);
    expect(irr(bus)).toBe(0x04);
    expect(pic.acknowledge()).toBe(0x2a);
    expect(isr(bus, 0xa0)).toBe(0x04);
    expect(isr(bus)).toBe(0x04);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(isr(bus, 0xa0)).toBe(0x00);
    expect(isr(bus)).toBe(0x00);
  });

  it("master IMR bit 2 masks the whole slave", () => {
    const { bus, pic } = setup();
    init(bus);
    bus.write(0x21, 1, 0x04);
    pulse(pic, 14);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0x21, 1, 0x00);
    expect(pic.acknowledge()).toBe(0x2e);
  });

  it("a second slave request is delivered after the slave's and the master's EOIs", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 9);
    pulse(pic, 12);
    expect(pic.acknowledge()).toBe(0x29);
    expect(pic.hasInterrupt()).toBe(false);
    bus.write(0xa0, 1, EOI);
    expect(pic.hasInterrupt()).toBe(false); // the master still has IR2 in service
    bus.write(0x20, 1, EOI);
    expect(pic.acknowledge()).toBe(0x2c);
  });

  it("the master's IRQ0/1 nest over a slave interrupt in service", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 8);
    expect(pic.acknowledge()).toBe(0x28);
    pulse(pic, 1);
    expect(pic.acknowledge()).toBe(0x21);
    pulse(pic, 3);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("special fully nested mode (ICW4 0x11 on the master) lets a higher slave IRQ nest", () => {
    for (const sfnm of [false, true]) {
      const { bus, pic } = setup();
      init(bus, 0x20, 0x28, sfnm ? 0x11 : 0x01);
      pulse(pic, 11);
      expect(pic.acknowledge()).toBe(0x2b);
      pulse(pic, 9);
      expect(pic.hasInterrupt()).toBe(sfnm);
      if (sfnm) expect(pic.acknowledge()).toBe(0x29);
    }
  });

  it("setIrq(2) is the cascade input and does nothing", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 2);
    expect(irr(bus)).toBe(0);
    expect(pic.hasInterrupt()).toBe(false);
  });
});

describe("8259A pair: ELCR and level mode", () => {
  it("ELCR bits for IRQ 0, 1, 2, 8 and 13 read 0 and cannot be set (PIIX)", () => {
    const { bus } = setup();
    bus.write(0x4d0, 1, 0xff);
    bus.write(0x4d1, 1, 0xff);
    expect(bus.read(0x4d0, 1)).toBe(0xf8);
    expect(bus.read(0x4d1, 1)).toBe(0xde);
  });

  it("a level IRQ's IRR follows the line and requests again after EOI while high", () => {
    const { bus, pic } = setup();
    init(bus);
    bus.write(0x4d1, 1, 0x08); // IRQ 11 level
    pic.setIrq(11, true);
    expect(irr(bus, 0xa0)).toBe(0x08);
    expect(pic.acknowledge()).toBe(0x2b);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(pic.hasInterrupt()).toBe(true); // still high
    expect(pic.acknowledge()).toBe(0x2b);
    pic.setIrq(11, false);
    expect(irr(bus, 0xa0)).toBe(0x00);
    bus.write(0xa0, 1, EOI);
    bus.write(0x20, 1, EOI);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("ICW1 LTIM makes every input of the chip level-triggered", () => {
    const { bus, pic } = setup();
    bus.write(0x20, 1, 0x19);
    bus.write(0x21, 1, 0x20);
    bus.write(0x21, 1, 0x04);
    bus.write(0x21, 1, 0x01);
    pic.setIrq(5, true);
    expect(irr(bus)).toBe(0x20);
    pic.setIrq(5, false);
    expect(irr(bus)).toBe(0x00);
    expect(pic.hasInterrupt()).toBe(false);
  });

  it("spurious IRQ 7: a level request gone before INTA gives base + 7 and no ISR bit", () => {
    const { bus, pic, changes } = setup();
    init(bus);
    bus.write(0x4d0, 1, 0x08); // IRQ 3 level
    pic.setIrq(3, true);
    expect(pic.hasInterrupt()).toBe(true);
    pic.setIrq(3, false);
    expect(pic.hasInterrupt()).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(bus)).toBe(0x00);
    expect(pic.acknowledge()).toBe(-1); // nothing since
  });

  it("spurious IRQ 7 also when the request is masked between INT and INTA", () => {
    const { bus, pic } = setup();
    init(bus);
    pulse(pic, 4);
    bus.write(0x21, 1, 0x10);
    expect(pic.acknowledge()).toBe(0x27);
    expect(isr(bus)).toBe(0x00);
    expect(irr(bus)).toBe(0x10); // the request itself is still latched
  });

  it("spurious IRQ 15: slave base + 7, no slave ISR bit, master IR2 in service", () => {
    const { bus, pic } = setup();
    init(bus);
    bus.write(0x4d1, 1, 0x04); // IRQ 10 level
    pic.setIrq(10, true);
    pic.setIrq(10, false); // gone; the master latched the cascade's edge
    expect(irr(bus, 0xa0)).toBe(0x00);
    expect(irr(bus)).toBe(0x04);
    expect(pic.hasInterrupt()).toBe(true);
    expect(pic.acknowledge()).toBe(0x2f);
    expect(isr(bus, 0xa0)).toBe(0x00);
    expect(isr(bus)).toBe(0x04);
    bus.write(0x20, 1, EOI); // the handler EOIs the master only
    expect(isr(bus)).toBe(0x00);
  });
});
