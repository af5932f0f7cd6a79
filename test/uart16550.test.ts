import { describe, expect, it } from "vitest";
import { Uart16550 } from "../src/devices/uart16550.ts";
import { PortBus } from "../src/machine/ports.ts";

const COM1 = 0x3f8;

/** A bus with COM1, initialised as test-roms/runtime/runtime.c does. */
function setup(init = true): { bus: PortBus; uart: Uart16550; out: number[]; irq: boolean[] } {
  const bus = new PortBus();
  const uart = new Uart16550();
  const out: number[] = [];
  const irq: boolean[] = [];
  uart.onOutput = (b) => out.push(b);
  uart.onInterrupt = (level) => irq.push(level);
  bus.register(COM1, 8, uart);
  if (init) {
    outb(bus, COM1 + 1, 0x00);
    outb(bus, COM1 + 3, 0x80);
    outb(bus, COM1 + 0, 0x01);
    outb(bus, COM1 + 1, 0x00);
    outb(bus, COM1 + 3, 0x03);
    outb(bus, COM1 + 2, 0xc7);
    outb(bus, COM1 + 4, 0x03);
  }
  return { bus, uart, out, irq };
}

function outb(bus: PortBus, port: number, v: number): void {
  bus.write(port, 1, v);
}
function inb(bus: PortBus, port: number): number {
  return bus.read(port, 1);
}

// Each case replays test-roms/mmio/mmio_rom.c uart_cases() and checks the
// values QEMU printed in test-roms/golden/mmio.txt.
describe("UART against the mmio golden (QEMU 16550)", () => {
  it("uart lcr: 0x1b->0x1b 0x44->0x44 restored=0x03", () => {
    const { bus } = setup();
    outb(bus, COM1 + 3, 0x1b);
    expect(inb(bus, COM1 + 3)).toBe(0x1b);
    outb(bus, COM1 + 3, 0x44);
    expect(inb(bus, COM1 + 3)).toBe(0x44);
    outb(bus, COM1 + 3, 0x03);
    expect(inb(bus, COM1 + 3)).toBe(0x03);
  });

  it("uart divisor: dll=0x34 dlm=0x12 lcr=0x83 restored=0x0001 ier(dlab=0)=0x00", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 3, 0x83);
    outb(bus, COM1 + 0, 0x34);
    outb(bus, COM1 + 1, 0x12);
    expect(inb(bus, COM1 + 0)).toBe(0x34);
    expect(inb(bus, COM1 + 1)).toBe(0x12);
    expect(inb(bus, COM1 + 3)).toBe(0x83);
    expect(uart.divisor).toBe(0x1234);
    outb(bus, COM1 + 0, 0x01);
    outb(bus, COM1 + 1, 0x00);
    const dll1 = inb(bus, COM1 + 0);
    const dlm1 = inb(bus, COM1 + 1);
    expect((dlm1 << 8) | dll1).toBe(0x0001);
    outb(bus, COM1 + 3, 0x03);
    expect(inb(bus, COM1 + 1)).toBe(0x00); // IER, untouched by the DLM writes
  });

  it("uart scr: 0x55->0x55 0xaa->0xaa", () => {
    const { bus } = setup();
    outb(bus, COM1 + 7, 0x55);
    expect(inb(bus, COM1 + 7)).toBe(0x55);
    outb(bus, COM1 + 7, 0xaa);
    expect(inb(bus, COM1 + 7)).toBe(0xaa);
  });

  it("uart ier: 0x05->0x05 0xff->0x0f restored=0x00", () => {
    const { bus } = setup();
    outb(bus, COM1 + 1, 0x05);
    expect(inb(bus, COM1 + 1)).toBe(0x05);
    outb(bus, COM1 + 1, 0xff);
    expect(inb(bus, COM1 + 1)).toBe(0x0f);
    outb(bus, COM1 + 1, 0x00);
    inb(bus, COM1 + 2);
    expect(inb(bus, COM1 + 1)).toBe(0x00);
  });

  it("uart lsr idle: 0x60", () => {
    const { bus } = setup();
    expect(inb(bus, COM1 + 5)).toBe(0x60);
    outb(bus, COM1, 0x41); // transmission is immediate: idle again at once
    expect(inb(bus, COM1 + 5)).toBe(0x60);
  });

  it("uart iir: fifo=0xc1 nofifo=0x01 again=0xc1", () => {
    const { bus } = setup();
    expect(inb(bus, COM1 + 2)).toBe(0xc1);
    outb(bus, COM1 + 2, 0x00);
    expect(inb(bus, COM1 + 2)).toBe(0x01);
    outb(bus, COM1 + 2, 0xc7);
    expect(inb(bus, COM1 + 2)).toBe(0xc1);
  });

  it("uart mcr: 0x0f->0x0f 0x03->0x03 (and only bits 4:0 stick)", () => {
    const { bus } = setup();
    outb(bus, COM1 + 4, 0x0f);
    expect(inb(bus, COM1 + 4)).toBe(0x0f);
    outb(bus, COM1 + 4, 0x03);
    expect(inb(bus, COM1 + 4)).toBe(0x03);
    outb(bus, COM1 + 4, 0xe3);
    expect(inb(bus, COM1 + 4)).toBe(0x03);
  });

  it("uart loopback msr: mcr=0x10->0x00 mcr=0x1f->0xf0 mcr=0x15->0x60", () => {
    const { bus } = setup();
    outb(bus, COM1 + 4, 0x10);
    expect(inb(bus, COM1 + 6) & 0xf0).toBe(0x00);
    outb(bus, COM1 + 4, 0x1f);
    expect(inb(bus, COM1 + 6) & 0xf0).toBe(0xf0);
    outb(bus, COM1 + 4, 0x15);
    expect(inb(bus, COM1 + 6) & 0xf0).toBe(0x60);
    // Each output maps to its own input: RTS->CTS, DTR->DSR, OUT1->RI, OUT2->DCD.
    outb(bus, COM1 + 4, 0x12);
    expect(inb(bus, COM1 + 6)).toBe(0x10);
    outb(bus, COM1 + 4, 0x11);
    expect(inb(bus, COM1 + 6)).toBe(0x20);
    outb(bus, COM1 + 4, 0x14);
    expect(inb(bus, COM1 + 6)).toBe(0x40);
    outb(bus, COM1 + 4, 0x18);
    expect(inb(bus, COM1 + 6)).toBe(0x80);
  });

  it("uart loopback data: lsr=0x60 -> 0x61 rbr=0xa7 lsr=0x60 rbr2=0x3c mcr=0x03; after loopback: lsr=0x60", () => {
    const { bus, out } = setup();
    outb(bus, COM1 + 4, 0x15);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
    outb(bus, COM1, 0xa7);
    expect(inb(bus, COM1 + 5) & 0x61).toBe(0x61);
    expect(inb(bus, COM1 + 0)).toBe(0xa7);
    expect(inb(bus, COM1 + 5) & 0x61).toBe(0x60);
    outb(bus, COM1, 0x3c);
    expect(inb(bus, COM1 + 5) & 1).toBe(1);
    expect(inb(bus, COM1 + 0)).toBe(0x3c);
    outb(bus, COM1 + 4, 0x03);
    expect(inb(bus, COM1 + 4)).toBe(0x03);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
    expect(out).toEqual([]); // loopback bytes never reach the host
  });

  it("the full uart_cases sequence in order ends idle with no host output", () => {
    const { bus, out } = setup();
    const lines: string[] = [];
    const h = (v: number) => "0x" + v.toString(16).padStart(2, "0");
    outb(bus, COM1 + 3, 0x1b);
    const v = inb(bus, COM1 + 3);
    outb(bus, COM1 + 3, 0x44);
    const w = inb(bus, COM1 + 3);
    outb(bus, COM1 + 3, 0x03);
    lines.push(`uart lcr: 0x1b->${h(v)} 0x44->${h(w)} restored=${h(inb(bus, COM1 + 3))}`);
    outb(bus, COM1 + 1, 0x05);
    const i1 = inb(bus, COM1 + 1);
    outb(bus, COM1 + 1, 0xff);
    const i2 = inb(bus, COM1 + 1);
    outb(bus, COM1 + 1, 0x00);
    inb(bus, COM1 + 2);
    lines.push(`uart ier: 0x05->${h(i1)} 0xff->${h(i2)} restored=${h(inb(bus, COM1 + 1))}`);
    lines.push(`uart lsr idle: ${h(inb(bus, COM1 + 5))}`);
    const f = inb(bus, COM1 + 2);
    outb(bus, COM1 + 2, 0x00);
    const nf = inb(bus, COM1 + 2);
    outb(bus, COM1 + 2, 0xc7);
    lines.push(`uart iir: fifo=${h(f)} nofifo=${h(nf)} again=${h(inb(bus, COM1 + 2))}`);
    expect(lines).toEqual([
      "uart lcr: 0x1b->0x1b 0x44->0x44 restored=0x03",
      "uart ier: 0x05->0x05 0xff->0x0f restored=0x00",
      "uart lsr idle: 0x60",
      "uart iir: fifo=0xc1 nofifo=0x01 again=0xc1",
    ]);
    expect(out).toEqual([]);
  });
});

describe("UART reset state (QEMU serial_reset)", () => {
  it("powers on with LSR 0x60, IIR 0x01, MSR 0xb0, MCR OUT2, divisor 12", () => {
    const { bus, uart } = setup(false);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
    expect(inb(bus, COM1 + 2)).toBe(0x01);
    expect(inb(bus, COM1 + 6)).toBe(0xb0);
    expect(inb(bus, COM1 + 4)).toBe(0x08);
    expect(inb(bus, COM1 + 3)).toBe(0x00);
    expect(uart.divisor).toBe(12);
  });
});

describe("UART output", () => {
  it("sends each THR byte to onOutput in normal mode", () => {
    const { bus, out } = setup();
    for (const c of "hi\n") outb(bus, COM1, c.charCodeAt(0));
    expect(out).toEqual([0x68, 0x69, 0x0a]);
  });

  it("DLAB=1 turns port 0 into DLL: no byte is sent", () => {
    const { bus, out } = setup();
    outb(bus, COM1 + 3, 0x83);
    outb(bus, COM1, 0x41);
    expect(out).toEqual([]);
  });
});

describe("UART interrupts", () => {
  it("THRE: raised when IER.ETBEI is enabled with THR empty, cleared by reading IIR", () => {
    const { bus, uart, irq } = setup();
    outb(bus, COM1 + 4, 0x0b); // DTR RTS OUT2
    outb(bus, COM1 + 1, 0x02);
    expect(irq).toEqual([true]);
    expect(uart.irqLevel).toBe(true);
    expect(inb(bus, COM1 + 2)).toBe(0xc2);
    expect(irq).toEqual([true, false]);
    expect(inb(bus, COM1 + 2)).toBe(0xc1);
  });

  it("THRE: a THR write drops the line, and the immediate transmission raises it again", () => {
    const { bus, irq } = setup();
    outb(bus, COM1 + 4, 0x0b);
    outb(bus, COM1 + 1, 0x02);
    inb(bus, COM1 + 2); // acknowledge
    irq.length = 0;
    outb(bus, COM1, 0x41);
    expect(irq).toEqual([true]);
    expect(inb(bus, COM1 + 2)).toBe(0xc2);
    // Disabling ETBEI drops it.
    outb(bus, COM1 + 1, 0x00);
    expect(irq).toEqual([true, false]);
    // With the interrupt pending, a THR write lowers then raises the line.
    outb(bus, COM1 + 1, 0x02);
    irq.length = 0;
    outb(bus, COM1, 0x42);
    expect(irq).toEqual([false, true]);
  });

  it("OUT2 gates the line (runtime's MCR 0x03 leaves it low)", () => {
    const { bus, uart, irq } = setup();
    outb(bus, COM1 + 1, 0x02);
    expect(inb(bus, COM1 + 2) & 0x0f).toBe(0x02); // pending in IIR ...
    expect(irq).toEqual([]); // ... but not on the line
    outb(bus, COM1 + 1, 0x00);
    outb(bus, COM1 + 1, 0x02);
    outb(bus, COM1 + 4, 0x0b);
    expect(uart.irqLevel).toBe(true);
    outb(bus, COM1 + 4, 0x03);
    expect(irq).toEqual([true, false]);
  });

  it("without OUT2 gating (QEMU's UART) the line follows IIR whatever MCR holds", () => {
    const { bus, uart, irq } = setup();
    uart.out2GatesInterrupt = false;
    outb(bus, COM1 + 4, 0x00); // xv6's MCR
    outb(bus, COM1 + 1, 0x01);
    uart.receive([0x41]);
    expect(irq).toEqual([true]);
    expect(inb(bus, COM1)).toBe(0x41);
    expect(irq).toEqual([true, false]);
  });

  it("RDA (FIFOs off): a received byte raises IIR 0x04 until RBR is read", () => {
    const { bus, uart, irq } = setup();
    outb(bus, COM1 + 2, 0x00);
    outb(bus, COM1 + 4, 0x0b);
    outb(bus, COM1 + 1, 0x01);
    expect(irq).toEqual([]);
    uart.receive([0x61]);
    expect(irq).toEqual([true]);
    expect(inb(bus, COM1 + 2)).toBe(0x04);
    expect(inb(bus, COM1 + 5)).toBe(0x61);
    expect(inb(bus, COM1)).toBe(0x61);
    expect(irq).toEqual([true, false]);
    expect(inb(bus, COM1 + 2)).toBe(0x01);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
  });

  it("RDA (FIFO, trigger 14): 0xc4 at the trigger level, character timeout 0xcc below it", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 4, 0x0b);
    outb(bus, COM1 + 1, 0x01);
    uart.receive(new Uint8Array(14).fill(0x30));
    expect(inb(bus, COM1 + 2)).toBe(0xc4);
    inb(bus, COM1);
    expect(inb(bus, COM1 + 2)).toBe(0xcc);
    for (let i = 0; i < 13; i++) expect(inb(bus, COM1)).toBe(0x30);
    expect(uart.irqLevel).toBe(false);
    expect(inb(bus, COM1 + 2)).toBe(0xc1);
  });

  it("priority: received data is reported before THR empty", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 2, 0x00);
    outb(bus, COM1 + 4, 0x0b);
    outb(bus, COM1 + 1, 0x03);
    uart.receive([0x7a]);
    expect(inb(bus, COM1 + 2)).toBe(0x04);
    inb(bus, COM1);
    expect(inb(bus, COM1 + 2)).toBe(0x02);
  });

  it("priority: receiver line status (overrun) comes first and is cleared by reading LSR", () => {
    const { bus } = setup();
    outb(bus, COM1 + 2, 0x00); // FIFOs off: one byte of room
    outb(bus, COM1 + 4, 0x1b); // loopback + OUT2
    outb(bus, COM1 + 1, 0x07);
    outb(bus, COM1, 0x01);
    outb(bus, COM1, 0x02); // overruns the unread 0x01
    expect(inb(bus, COM1 + 2)).toBe(0x06);
    expect(inb(bus, COM1 + 5)).toBe(0x63); // THRE TEMT OE DR
    expect(inb(bus, COM1 + 5)).toBe(0x61); // OE cleared by the read
    expect(inb(bus, COM1 + 2)).toBe(0x04);
    expect(inb(bus, COM1)).toBe(0x02); // the newer byte wins
  });
});

describe("UART input", () => {
  it("host input beyond the 16-byte FIFO waits host-side and never overruns", () => {
    const { bus, uart } = setup();
    const data = Array.from({ length: 40 }, (_, i) => i);
    uart.receive(data);
    expect(uart.rxCount).toBe(16);
    expect(uart.pendingInput).toBe(24);
    const got: number[] = [];
    while (inb(bus, COM1 + 5) & 1) got.push(inb(bus, COM1));
    expect(got).toEqual(data);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
  });

  it("with FIFOs off the receiver holds one byte", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 2, 0x00);
    uart.receive([1, 2, 3]);
    expect(uart.pendingInput).toBe(2);
    expect([inb(bus, COM1), inb(bus, COM1), inb(bus, COM1)]).toEqual([1, 2, 3]);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
  });

  it("loopback holds host input back until normal mode", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 4, 0x13);
    uart.receive([0x55]);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
    outb(bus, COM1 + 4, 0x03);
    expect(inb(bus, COM1 + 5)).toBe(0x61);
    expect(inb(bus, COM1)).toBe(0x55);
  });

  it("a loopback byte into a full FIFO sets OE and keeps the FIFO", () => {
    const { bus } = setup();
    outb(bus, COM1 + 4, 0x13);
    for (let i = 0; i < 17; i++) outb(bus, COM1, i);
    expect(inb(bus, COM1 + 5)).toBe(0x63);
    const got: number[] = [];
    while (inb(bus, COM1 + 5) & 1) got.push(inb(bus, COM1));
    expect(got).toEqual(Array.from({ length: 16 }, (_, i) => i));
  });

  it("FCR bit 1 clears the receive FIFO", () => {
    const { bus } = setup();
    outb(bus, COM1 + 4, 0x13);
    outb(bus, COM1, 0x99);
    expect(inb(bus, COM1 + 5) & 1).toBe(1);
    outb(bus, COM1 + 2, 0x03);
    expect(inb(bus, COM1 + 5)).toBe(0x60);
  });
});

describe("UART wide accesses", () => {
  it("a 2-byte access is split into byte registers", () => {
    const { bus } = setup();
    outb(bus, COM1 + 3, 0x83);
    bus.write(COM1, 2, 0x1234); // DLL=0x34 DLM=0x12
    expect(inb(bus, COM1)).toBe(0x34);
    expect(inb(bus, COM1 + 1)).toBe(0x12);
    expect(bus.read(COM1, 2)).toBe(0x1234);
    expect(bus.read(COM1 + 4, 4)).toBe(0x00b06003 >>> 0);
  });
});

describe("UART reset() and trigger levels", () => {
  it("reset() returns every register to its power-on value", () => {
    const { bus, uart } = setup();
    outb(bus, COM1 + 4, 0x13);
    outb(bus, COM1, 0x01);
    outb(bus, COM1 + 7, 0x77);
    outb(bus, COM1 + 1, 0x0f);
    uart.reset();
    expect([1, 2, 3, 4, 5, 6, 7].map((o) => inb(bus, COM1 + o))).toEqual([0x00, 0x01, 0x00, 0x08, 0x60, 0xb0, 0x00]);
    expect(uart.divisor).toBe(12);
    expect(uart.rxCount).toBe(0);
  });

  it("FCR bits 7:6 pick the trigger level 1, 4, 8 or 14", () => {
    for (const [fcr, level] of [[0x07, 1], [0x47, 4], [0x87, 8], [0xc7, 14]]) {
      const { bus, uart } = setup();
      outb(bus, COM1 + 2, fcr);
      outb(bus, COM1 + 4, 0x0b);
      outb(bus, COM1 + 1, 0x01);
      uart.receive(new Uint8Array(level - 1));
      expect(inb(bus, COM1 + 2)).toBe(level === 1 ? 0xc1 : 0xcc);
      uart.receive([0]);
      expect(inb(bus, COM1 + 2)).toBe(0xc4);
    }
  });
});
