// The ACPI PM registers driven through the port bus: soft-off and S3
// through PM1a_CNT (ACPI 6.4, 4.8.3.2.1: SLP_TYP bits 12:10, SLP_EN bit 13;
// QEMU's _S5_ value 0, _S4_ 2, _S3_ 1), the PM timer at 3.579545 MHz (4.8.3.3), TMR_STS and the SCI,
// and the SMI_CMD ACPI enable handshake (QEMU's PIIX4: 0xF1 sets SCI_EN).

import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AcpiPmPorts } from "../src/devices/acpi-pm.ts";
import { PcMachine } from "../src/machine/pc.ts";
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
    ports.write(0x604, 2, (5 << 10) | (1 << 13));
    expect(powerOffs()).toBe(0);
    expect(sleeps).toEqual([5]);
  });

  it("SLP_TYP 2 (QEMU's \\_S4_) shuts down too, as QEMU's acpi_pm1_cnt_write does", () => {
    const { ports, pm, powerOffs } = setup();
    ports.write(0x604, 2, (2 << 10) | (1 << 13));
    expect(powerOffs()).toBe(1);
    expect(pm.suspended).toBe(false);
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

describe("S3, suspend to RAM", () => {
  it("SLP_TYP 1 (QEMU's \\_S3_) with SLP_EN suspends: onSuspend, no power-off", () => {
    const { ports, pm, powerOffs } = setup();
    let suspends = 0;
    pm.onSuspend = () => suspends++;
    ports.write(0x604, 2, 1 << 10); // SLP_TYP alone: nothing
    expect(suspends).toBe(0);
    ports.write(0x604, 2, (1 << 10) | (1 << 13));
    expect(suspends).toBe(1);
    expect(pm.suspended).toBe(true);
    expect(powerOffs()).toBe(0);
  });

  /*
   * nasm -f bin, a multiboot1 a.out-kludge image at 0x100000: finds the RSDP
   * in 0xE0000-0xFFFFF, the FADT through the RSDT and the DSDT through the
   * FADT; prints each `_Sn_` name there with the 7 bytes after it (PackageOp,
   * PkgLength, NumElements, the elements); prints "S3"; writes SLP_TYP 1 |
   * SLP_EN to PM1a_CNT (0x604); spins 100,000,000 LOOPs, then prints "W" and
   * exits through isa-debug-exit. QEMU 7.2 prints the same four lines, then
   * suspends (QMP query-status: "suspended") and prints nothing more until
   * it is killed.
   */
  const IMAGE = Buffer.from(
    "02b0ad1b00000100fe4f51e40000100000001000ff001000ff00100020001000bc00000900be00000e00813e525344207509817e0450545220741083c6" +
      "1081fe0000100072e4e9990000008b5e108b4b0483e924c1e9028d7b248b07813846414350740783c704e2f1eb798b58288b4b0489df01d9803f5f75" +
      "3d807f01537537807f035f7531807f0230722b807f0239772589febaf803000051b904000000aceee2fcb907000000b020eeace838000000e2f5b00a" +
      "ee594739cf72b9b05366baf803eeb033eeb00aee66ba040666b8002466efb900e1f505e2fe66baf803b057eeb00aeeb000e6f4f450c0e804e8030000" +
      "0058240f04303c3976020407eec3",
    "hex",
  );
  const QEMU_LINES = ["_S3_ 12 06 04 01 01 00 00", "_S4_ 12 08 04 0A 02 0A 02", "_S5_ 12 06 04 00 00 00 00", "S3", ""];

  it("a guest finds QEMU's \\_S3_, \\_S4_, \\_S5_ in the DSDT, enters S3, and the run ends there", () => {
    let out = "";
    const machine = new PcMachine({ debugExit: { base: 0xf4, size: 4 }, serialOut: (b) => (out += String.fromCharCode(b)) });
    machine.loadMultiboot(IMAGE);
    expect(machine.runToEnd(1e9)).toEqual({ kind: "suspend" });
    expect(out.split("\n")).toEqual(QEMU_LINES);
  });

  it("the cr3 command says so in one line and exits with 0", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-s3-"));
    try {
      const kernel = join(dir, "s3.bin");
      writeFileSync(kernel, IMAGE);
      const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", "-kernel", kernel, "-display", "none", "--timeout", "60"], {
        encoding: "utf8",
      });
      expect(r.stdout.split("\n")).toEqual(QEMU_LINES);
      expect(r.stderr).toContain("cr3: the guest entered ACPI S3 sleep");
      expect(r.status).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
