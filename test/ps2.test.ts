import { describe, expect, it } from "vitest";
import { Ps2Controller, translateToSet1 } from "../src/devices/ps2-controller.ts";
import { KEYS, keyIndex } from "../src/devices/ps2-keyboard.ts";
import { PortBus } from "../src/machine/ports.ts";

function setup() {
  const bus = new PortBus();
  const irq1: boolean[] = [];
  const irq12: boolean[] = [];
  const ctl = new Ps2Controller((l) => irq1.push(l), (l) => irq12.push(l));
  bus.register(0x60, 1, ctl);
  bus.register(0x64, 1, ctl);
  let resets = 0;
  ctl.onReset = () => resets++;
  const status = () => bus.read(0x64, 1);
  const cmd = (c: number) => bus.write(0x64, 1, c);
  const data = (d: number) => bus.write(0x60, 1, d);
  /** Reads every byte the controller has, as a guest polling OBF would. */
  const drain = () => {
    const out: number[] = [];
    while (status() & 1) out.push(bus.read(0x60, 1));
    return out;
  };
  return { bus, ctl, irq1, irq12, status, cmd, data, drain, resets: () => resets };
}

describe("8042 controller", () => {
  it("starts as SeaBIOS leaves it: config 0x61, status 0x1C (system flag, command, unlocked), empty", () => {
    const { status, cmd, drain } = setup();
    expect(status()).toBe(0x1c);
    cmd(0x20);
    expect(status() & 0x01).toBe(1);
    expect(drain()).toEqual([0x61]);
  });

  it("self test 0xAA -> 0x55, interface tests 0xAB/0xA9 -> 0x00, input port 0xC0 -> 0x80", () => {
    const { cmd, drain } = setup();
    cmd(0xaa);
    expect(drain()).toEqual([0x55]);
    cmd(0xab);
    expect(drain()).toEqual([0x00]);
    cmd(0xa9);
    expect(drain()).toEqual([0x00]);
    cmd(0xc0);
    expect(drain()).toEqual([0x80]);
  });

  it("status bit 3 tells whether the last write was a command (0x64) or data (0x60)", () => {
    const { cmd, data, status } = setup();
    cmd(0x60);
    expect(status() & 0x08).toBe(0x08);
    data(0x61);
    expect(status() & 0x08).toBe(0);
  });

  it("0x60 writes the config byte; 0xA7/0xA8 and 0xAD/0xAE toggle bits 5 and 4", () => {
    const { cmd, data, drain } = setup();
    cmd(0x60);
    data(0x03);
    cmd(0x20);
    expect(drain()).toEqual([0x03]);
    cmd(0xa7);
    cmd(0xad);
    cmd(0x20);
    expect(drain()).toEqual([0x33]);
    cmd(0xa8);
    cmd(0xae);
    cmd(0x20);
    expect(drain()).toEqual([0x03]);
  });

  it("output port: 0xD0 reads 0xCF (reset, A20 high); 0xD1 sets A20; clearing bit 0 resets; 0xDD/0xDF", () => {
    const { ctl, cmd, data, drain, resets } = setup();
    const a20: boolean[] = [];
    ctl.onA20 = (on) => a20.push(on);
    cmd(0xd0);
    expect(drain()).toEqual([0xcf]);
    cmd(0xd1);
    data(0xcd);
    expect(ctl.a20Enabled).toBe(false);
    cmd(0xd1);
    data(0xcf);
    expect(ctl.a20Enabled).toBe(true);
    expect(a20).toEqual([false, true]);
    expect(resets()).toBe(0);
    cmd(0xd1);
    data(0xce);
    expect(resets()).toBe(1);
    cmd(0xdd);
    expect(ctl.a20Enabled).toBe(false);
    cmd(0xdf);
    expect(ctl.a20Enabled).toBe(true);
  });

  it("0xFE pulses reset; 0xFF pulses nothing", () => {
    const { cmd, resets } = setup();
    cmd(0xff);
    expect(resets()).toBe(0);
    cmd(0xfe);
    expect(resets()).toBe(1);
  });

  it("0xD2 puts a byte out as keyboard data (IRQ 1), 0xD3 as mouse data (status bit 5, IRQ 12 when enabled)", () => {
    const { cmd, data, status, irq1, irq12, bus } = setup();
    cmd(0xd2);
    data(0x5a);
    expect(status() & 0x21).toBe(0x01);
    expect(irq1).toEqual([true]);
    expect(bus.read(0x60, 1)).toBe(0x5a);
    expect(irq1).toEqual([true, false]);
    cmd(0x60);
    data(0x43); // both IRQs on, translation
    cmd(0xd3);
    data(0xa5);
    expect(status() & 0x21).toBe(0x21);
    expect(irq12).toEqual([true]);
    expect(bus.read(0x60, 1)).toBe(0xa5);
    expect(irq12).toEqual([true, false]);
  });

  it("reading 0x60 with nothing new returns the last byte again", () => {
    const { cmd, bus } = setup();
    cmd(0xaa);
    expect(bus.read(0x60, 1)).toBe(0x55);
    expect(bus.read(0x60, 1)).toBe(0x55);
  });

  it("the set 2 -> set 1 translation table agrees with every key's set 1 code", () => {
    for (const k of KEYS) {
      expect(translateToSet1(k.set2 & 0xff), k.name).toBe(k.set1 & 0xff);
      expect(k.set2 & 0x100, k.name).toBe(k.set1 & 0x100);
    }
    expect(translateToSet1(0xfa)).toBe(0xfa);
    expect(translateToSet1(0xaa)).toBe(0xaa);
    expect(translateToSet1(0x83)).toBe(0x41);
    expect(translateToSet1(0x00)).toBe(0xff); // key detection error / overrun
  });
});

describe("PS/2 keyboard through the controller", () => {
  it("reset 0xFF -> ACK 0xFA, BAT 0xAA; echo 0xEE -> 0xEE; unknown -> 0xFE", () => {
    const { data, drain } = setup();
    data(0xff);
    expect(drain()).toEqual([0xfa, 0xaa]);
    data(0xee);
    expect(drain()).toEqual([0xee]);
    data(0x42);
    expect(drain()).toEqual([0xfe]);
  });

  it("identify 0xF2 -> FA AB 41 with translation (QEMU), FA AB 83 without", () => {
    const { cmd, data, drain } = setup();
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x41]);
    cmd(0x60);
    data(0x21);
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0xab, 0x83]);
  });

  it("0xF0 0 reports the set (2 -> 0x41 translated, as QEMU); 0xF0 n sets it; a bad set -> 0xFE", () => {
    const { cmd, data, drain, ctl } = setup();
    data(0xf0);
    expect(drain()).toEqual([0xfa]);
    data(0x00);
    expect(drain()).toEqual([0xfa, 0x41]);
    cmd(0x60);
    data(0x21); // translation off
    data(0xf0);
    expect(drain()).toEqual([0xfa]);
    data(0x01);
    expect(drain()).toEqual([0xfa]);
    expect(ctl.keyboard.scancodeSet).toBe(1);
    data(0xf0);
    expect(drain()).toEqual([0xfa]);
    data(0x00);
    expect(drain()).toEqual([0xfa, 0x01]);
    data(0xf0);
    expect(drain()).toEqual([0xfa]);
    data(0x07);
    expect(drain()).toEqual([0xfe]);
  });

  it("a byte sent to the keyboard discards its unread reply, even one already in the output buffer (QEMU reads the keyboard's queue only when 0x60 is read): F0 00 unread reads FA 41", () => {
    const { data, drain, status, irq1 } = setup();
    data(0xf0);
    expect(status() & 1).toBe(1);
    data(0x00);
    expect(drain()).toEqual([0xfa, 0x41]);
    data(0xf2);
    data(0xee);
    expect(drain()).toEqual([0xee]);
    expect(irq1.length % 2).toBe(0); // the line ends low
  });

  it("a scan code waiting in the output buffer is not discarded by a command", () => {
    const { ctl, data, drain } = setup();
    ctl.keyboard.tap(keyIndex("a"));
    data(0xee);
    expect(drain().sort((a, b) => a - b)).toEqual([0x1e, 0x9e, 0xee]);
  });

  it("0xED LEDs and 0xF3 typematic take an argument byte, each ACKed", () => {
    const { data, drain, ctl } = setup();
    data(0xed);
    expect(drain()).toEqual([0xfa]);
    data(0x07);
    expect(drain()).toEqual([0xfa]);
    data(0xf3);
    expect(drain()).toEqual([0xfa]);
    data(0x20);
    expect(drain()).toEqual([0xfa]);
    expect(ctl.keyboard.leds).toBe(7);
    expect(ctl.keyboard.typematic).toBe(0x20);
  });

  it("a typed 'a' is 1E 9E with translation (set 1) and 1C F0 1C without (set 2)", () => {
    const { ctl, cmd, data, drain } = setup();
    ctl.typeBytes([0x61]);
    expect(drain()).toEqual([0x1e, 0x9e]);
    cmd(0x60);
    data(0x21);
    ctl.typeBytes([0x61]);
    expect(drain()).toEqual([0x1c, 0xf0, 0x1c]);
  });

  it("scan code set 1 without translation and set 3 (F0 breaks, no E0)", () => {
    const { ctl, cmd, data, drain } = setup();
    cmd(0x60);
    data(0x21);
    data(0xf0);
    data(0x01);
    drain();
    ctl.typeBytes([0x1b, 0x5b, 0x41]); // Up
    expect(drain()).toEqual([0xe0, 0x48, 0xe0, 0xc8]);
    data(0xf0);
    data(0x03);
    drain();
    ctl.typeBytes([0x1b, 0x5b, 0x41]);
    expect(drain()).toEqual([0x63, 0xf0, 0x63]);
  });

  it("capitals and symbols hold Shift; Enter, Backspace, Tab, Escape; CR LF is one Enter", () => {
    const { ctl, drain } = setup();
    ctl.typeBytes([0x41]); // 'A'
    expect(drain()).toEqual([0x2a, 0x1e, 0x9e, 0xaa]);
    ctl.typeBytes([0x21]); // '!'
    expect(drain()).toEqual([0x2a, 0x02, 0x82, 0xaa]);
    ctl.typeBytes([0x0d, 0x0a]);
    expect(drain()).toEqual([0x1c, 0x9c]);
    ctl.typeBytes([0x0a]);
    expect(drain()).toEqual([0x1c, 0x9c]);
    ctl.typeBytes([0x7f, 0x08]);
    expect(drain()).toEqual([0x0e, 0x8e, 0x0e, 0x8e]);
    ctl.typeBytes([0x09]);
    expect(drain()).toEqual([0x0f, 0x8f]);
    ctl.typeBytes([0x1b]);
    expect(drain()).toEqual([0x01, 0x81]);
  });

  it("Ctrl+C is LCtrl down, C down, C up, LCtrl up", () => {
    const { ctl, drain } = setup();
    ctl.typeBytes([0x03]);
    expect(drain()).toEqual([0x1d, 0x2e, 0xae, 0x9d]);
  });

  it("escape sequences: arrows, Home/End (ESC [ H/F, ESC O H), Delete/PageUp/PageDown (ESC [ n ~)", () => {
    const { ctl, drain } = setup();
    const seq = (s: string) => ctl.typeBytes(Buffer.from(s, "latin1"));
    seq("\x1b[B\x1b[C\x1b[D");
    expect(drain()).toEqual([0xe0, 0x50, 0xe0, 0xd0, 0xe0, 0x4d, 0xe0, 0xcd, 0xe0, 0x4b, 0xe0, 0xcb]);
    seq("\x1b[H\x1bOF");
    expect(drain()).toEqual([0xe0, 0x47, 0xe0, 0xc7, 0xe0, 0x4f, 0xe0, 0xcf]);
    seq("\x1b[3~\x1b[5~\x1b[6~");
    expect(drain()).toEqual([0xe0, 0x53, 0xe0, 0xd3, 0xe0, 0x49, 0xe0, 0xc9, 0xe0, 0x51, 0xe0, 0xd1]);
    seq("\x1b[99z"); // unknown: dropped
    expect(drain()).toEqual([]);
    seq("\x1b"); // split sequence: ESC alone at the end of a chunk is Escape
    expect(drain()).toEqual([0x01, 0x81]);
  });

  it("one IRQ 1 edge per byte: the line drops on each read and rises again for the next byte", () => {
    const { ctl, irq1, drain } = setup();
    ctl.typeBytes([0x61, 0x62]);
    expect(irq1).toEqual([true]);
    expect(drain()).toEqual([0x1e, 0x9e, 0x30, 0xb0]);
    expect(irq1).toEqual([true, false, true, false, true, false, true, false]);
  });

  it("no IRQ 1 with config bit 0 clear; bytes wait while the keyboard port is disabled (0xAD)", () => {
    const { ctl, cmd, data, irq1, status, drain } = setup();
    cmd(0x60);
    data(0x60);
    ctl.typeBytes([0x61]);
    expect(status() & 1).toBe(1);
    expect(irq1).toEqual([]);
    drain();
    cmd(0xad);
    ctl.typeBytes([0x62]);
    expect(status() & 1).toBe(0);
    cmd(0xae);
    expect(drain()).toEqual([0x30, 0xb0]);
  });

  it("host keys are queued without loss while the guest is slow, and survive a keyboard reset", () => {
    const { ctl, bus, data, drain } = setup();
    const text = "the quick brown fox jumps over the lazy dog 0123456789".repeat(10);
    ctl.typeBytes(Buffer.from(text, "latin1"));
    expect(ctl.keyboard.pendingEvents).toBeGreaterThan(1000);
    expect([bus.read(0x60, 1), bus.read(0x60, 1)]).toEqual([0x14, 0x94]); // 't'
    ctl.typeBytes([0x7a]);
    data(0xff); // reset while 'h' make (0x23) sits in the output buffer
    const after = drain();
    expect(after.slice(0, 4)).toEqual([0x23, 0xfa, 0xaa, 0xa3]);
    expect(after.slice(-2)).toEqual([0x2c, 0xac]); // 'z' still arrives last
    expect(after.length).toBe(2 + 2 + 2 * (text.length - 2) + 2);
  });

  it("keyIndex names keys", () => {
    expect(KEYS[keyIndex("Enter")].set1).toBe(0x1c);
    expect(() => keyIndex("nope")).toThrow();
  });
});

describe("PS/2 mouse on the aux port", () => {
  it("0xD4 sends to the mouse: reset -> FA AA 00, identify -> FA 00, enable -> FA; unknown -> FE", () => {
    const { cmd, data, drain, status } = setup();
    cmd(0xa8); // enable the aux port
    cmd(0xd4);
    data(0xff);
    expect(status() & 0x21).toBe(0x21);
    expect(drain()).toEqual([0xfa, 0xaa, 0x00]);
    cmd(0xd4);
    data(0xf2);
    expect(drain()).toEqual([0xfa, 0x00]);
    cmd(0xd4);
    data(0xf3);
    cmd(0xd4);
    data(200);
    cmd(0xd4);
    data(0xf4);
    expect(drain()).toEqual([0xfa, 0xfa, 0xfa]);
    cmd(0xd4);
    data(0xe9);
    expect(drain()).toEqual([0xfa, 0x20, 0x02, 200]);
    cmd(0xd4);
    data(0x12);
    expect(drain()).toEqual([0xfe]);
  });

  it("mouse bytes wait while the aux port is disabled (the post-BIOS state)", () => {
    const { cmd, data, drain } = setup();
    cmd(0xd4);
    data(0xf4);
    expect(drain()).toEqual([]);
    cmd(0xa8);
    expect(drain()).toEqual([0xfa]);
  });
});
