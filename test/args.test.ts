import { describe, expect, it } from "vitest";
import { parseArgs } from "../src/cli/args.ts";
import type { ArgsError, ParsedArgs } from "../src/cli/args.ts";

const MIB = 1024 * 1024;

function ok(...argv: string[]): ParsedArgs {
  const result = parseArgs(argv);
  if (!result.ok) throw new Error(`expected success, got: ${result.message}`);
  return result;
}

function err(...argv: string[]): string {
  const result: ParsedArgs | ArgsError = parseArgs(argv);
  if (result.ok) throw new Error(`expected an error for ${argv.join(" ")}`);
  expect(result.message).not.toContain("\n");
  expect(result.message.length).toBeGreaterThan(0);
  return result.message;
}

describe("parseArgs: a hobby-OS Makefile line", () => {
  it("parses the typical QEMU invocation", () => {
    const a = ok(
      "-kernel", "build/kernel.elf", "-m", "512M", "-serial", "stdio", "-no-reboot", "-no-shutdown",
      "-display", "none", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-d", "int,cpu_reset",
      "-append", "console=ttyS0",
    );
    expect(a).toMatchObject({
      kernel: "build/kernel.elf",
      memoryBytes: 512 * MIB,
      serial: "stdio",
      noReboot: true,
      noShutdown: true,
      displayNone: true,
      debugExit: { iobase: 0xf4, iosize: 4 },
      log: ["int", "cpu_reset"],
      append: "console=ttyS0",
      help: false,
      version: false,
    });
    expect(a.warnings).toEqual([]);
  });

  it("defaults when only a kernel is given", () => {
    const a = ok("kernel.elf");
    expect(a).toMatchObject({
      kernel: "kernel.elf", memoryBytes: 128 * MIB, append: "", initrd: [], serial: "stdio",
      noReboot: false, noShutdown: false, nographic: false, displayNone: false, debugExit: undefined,
      log: [], cpu: undefined, maxInsns: undefined, timeoutSeconds: undefined, stats: false, vga: false,
      vgaDump: undefined, warnings: [],
    });
    expect(Object.keys(a)).not.toContain("serialCount");
  });

  it("accepts --x as -x, and --x=value", () => {
    const a = ok("--kernel", "k.elf", "--m", "64", "--no-reboot", "--append=a=b c", "--d=unimp");
    expect(a.kernel).toBe("k.elf");
    expect(a.memoryBytes).toBe(64 * MIB);
    expect(a.noReboot).toBe(true);
    expect(a.append).toBe("a=b c");
    expect(a.log).toEqual(["unimp"]);
  });

  it("parses cr3's own options", () => {
    const a = ok("k.elf", "--max-insns", "1000000", "--timeout", "2.5", "--stats", "--vga", "--vga-dump", "screen.txt", "-nographic");
    expect(a).toMatchObject({ maxInsns: 1_000_000, timeoutSeconds: 2.5, stats: true, vga: true, vgaDump: "screen.txt", nographic: true });
    expect(ok("k.elf", "--timeout=10").timeoutSeconds).toBe(10);
  });

  it("tells cr3's --vga from QEMU's --vga std", () => {
    const a = ok("k.elf", "--vga", "std");
    expect(a.vga).toBe(false);
    expect(a.vgaCard).toBe("std");
    expect(ok("--vga", "k.elf").vga).toBe(true);
    expect(ok("k.elf", "-nodefaults", "-vga", "none")).toMatchObject({ nodefaults: true, vgaCard: "none" });
  });

  it("--help and --version need no kernel", () => {
    expect(ok("--help").help).toBe(true);
    expect(ok("-h").help).toBe(true);
    expect(ok("--version").version).toBe(true);
    expect(ok("--help").kernel).toBeUndefined();
  });

  it("-- ends the options", () => {
    expect(ok("--", "-weird.elf").kernel).toBe("-weird.elf");
  });
});

describe("parseArgs: kernel", () => {
  it("requires a kernel", () => {
    expect(err()).toMatch(/no kernel given/);
    expect(err("-m", "64")).toMatch(/no kernel given/);
  });

  it("refuses two kernels, naming both", () => {
    for (const argv of [["a.elf", "b.elf"], ["-kernel", "a.elf", "b.elf"], ["a.elf", "-kernel", "b.elf"]]) {
      const message = err(...argv);
      expect(message).toContain("'a.elf'");
      expect(message).toContain("'b.elf'");
    }
  });

  it("names an unknown option", () => {
    expect(err("k.elf", "-frobnicate")).toBe("unknown option '-frobnicate' (see cr3 --help)");
    expect(err("k.elf", "--frob=1")).toContain("'--frob'");
  });

  it("names an option missing its value", () => {
    expect(err("k.elf", "-m")).toBe("-m needs a value");
    expect(err("k.elf", "--timeout")).toBe("--timeout needs a value");
  });

  it("refuses a value on a flag", () => {
    expect(err("k.elf", "--stats=yes")).toContain("--stats takes no value");
  });
});

describe("parseArgs: memory", () => {
  const sizes: [string, number][] = [
    ["256", 256 * MIB], ["256M", 256 * MIB], ["256m", 256 * MIB], ["1G", 1024 * MIB], ["1g", 1024 * MIB],
    ["size=512M", 512 * MIB], ["size=512", 512 * MIB], ["4096K", 4 * MIB], ["1.5G", 1536 * MIB],
    ["2", 2 * MIB], ["4032", 4032 * MIB], ["3000001k", 3000008 * 1024 /* rounded up to 8 KiB */],
  ];
  for (const [text, bytes] of sizes) {
    it(`-m ${text} is ${bytes} bytes`, () => {
      expect(ok("k.elf", "-m", text).memoryBytes).toBe(bytes);
    });
  }

  it("refuses too little memory with the reason", () => {
    expect(err("k.elf", "-m", "1")).toBe("-m 1 is too little memory: cr3 needs at least 2 MiB");
    expect(err("k.elf", "-m", "1M")).toContain("at least 2 MiB");
    expect(err("k.elf", "-m", "0")).toContain("at least 2 MiB");
  });

  it("refuses more than 4 GiB - 64 MiB with the reason", () => {
    expect(err("k.elf", "-m", "4033")).toContain("at most 4032 MiB (4 GiB - 64 MiB)");
    expect(err("k.elf", "-m", "4G")).toContain("more memory than cr3 supports");
    expect(err("k.elf", "-m", "1T")).toContain("more memory than cr3 supports");
  });

  it("refuses malformed sizes and hotplug options", () => {
    expect(err("k.elf", "-m", "lots")).toBe("-m 'lots' is not a memory size (e.g. 256, 256M, 1G)");
    expect(err("k.elf", "-m", "256MiB")).toContain("not a memory size");
    expect(err("k.elf", "-m", "-5")).toContain("not a memory size");
    expect(err("k.elf", "-m", "512M,maxmem=1G")).toContain("maxmem");
    expect(err("k.elf", "-m", "512M,colour=red")).toContain("'colour'");
  });
});

describe("parseArgs: -initrd", () => {
  it("splits modules at commas, each with its own command line", () => {
    const a = ok("k.elf", "-initrd", "mods/init.bin arg1 arg2,mods/font.psf,cfg.txt x=1");
    expect(a.initrd).toEqual([
      { path: "mods/init.bin", cmdline: "mods/init.bin arg1 arg2" },
      { path: "mods/font.psf", cmdline: "mods/font.psf" },
      { path: "cfg.txt", cmdline: "cfg.txt x=1" },
    ]);
  });

  it("reads ,, as a literal comma", () => {
    expect(ok("k.elf", "-initrd", "a,,b c,,d,e").initrd).toEqual([
      { path: "a,b", cmdline: "a,b c,d" },
      { path: "e", cmdline: "e" },
    ]);
  });

  it("refuses empty modules", () => {
    expect(err("k.elf", "-initrd", "a,,,")).toContain("empty module name");
    expect(err("k.elf", "-initrd", "a,")).toContain("empty module name");
    expect(err("k.elf", "-initrd", "")).toContain("empty module name");
  });
});

describe("parseArgs: devices and logging", () => {
  it("records other isa-debug-exit ports and QEMU's defaults", () => {
    expect(ok("k.elf", "-device", "isa-debug-exit,iobase=0x501,iosize=2").debugExit).toEqual({ iobase: 0x501, iosize: 2 });
    expect(ok("k.elf", "-device", "isa-debug-exit").debugExit).toEqual({ iobase: 0x501, iosize: 2 });
    expect(ok("k.elf", "-device", "isa-debug-exit,iobase=244").debugExit).toEqual({ iobase: 0xf4, iosize: 2 });
  });

  it("refuses other devices by name, and bad isa-debug-exit properties", () => {
    expect(err("k.elf", "-device", "virtio-net-pci,netdev=n0")).toBe("-device virtio-net-pci is not supported: cr3 has only -device isa-debug-exit");
    expect(err("k.elf", "-device", "isa-debug-exit,iobase=zz")).toContain("iobase needs a number");
    expect(err("k.elf", "-device", "isa-debug-exit,port=1")).toContain("'port'");
    expect(err("k.elf", "-device", "isa-debug-exit,iobase=0xffff,iosize=4")).toContain("I/O space");
  });

  it("-d: known items, each once; unknown ones refused listing the known", () => {
    expect(ok("k.elf", "-d", "int", "-d", "unimp,int,cpu_reset").log).toEqual(["int", "unimp", "cpu_reset"]);
    expect(err("k.elf", "-d", "int,guest_errors")).toBe("-d guest_errors: unknown log item (cr3 knows int, cpu_reset, unimp)");
  });

  it("-serial: stdio, none, null; others refused naming the value", () => {
    expect(ok("k.elf", "-serial", "none").serial).toBe("none");
    expect(ok("k.elf", "-serial", "null").serial).toBe("null");
    expect(err("k.elf", "-serial", "mon:stdio")).toContain("-serial mon:stdio is not supported");
    expect(err("k.elf", "-serial", "file:out.log")).toContain("file:out.log");
    expect(ok("k.elf", "-serial", "stdio", "-serial", "none").serial).toBe("stdio");
    expect(err("k.elf", "-serial", "none", "-serial", "stdio")).toContain("one serial port");
  });

  it("-cpu: known models, features recorded as given", () => {
    for (const model of ["max", "host", "qemu64", "base", "cr3"]) expect(ok("k.elf", "-cpu", model).cpu).toBe(model);
    expect(ok("k.elf", "-cpu", "max,+la57,-pdpe1gb,pcid=on").cpu).toBe("max,+la57,-pdpe1gb,pcid=on");
    expect(err("k.elf", "-cpu", "Haswell")).toBe("-cpu Haswell is not supported: cr3 accepts max, host, qemu64, base, cr3");
    expect(err("k.elf", "-cpu", "max,la57")).toContain("'la57'");
  });

  it("-display: none accepted, others refused", () => {
    expect(ok("k.elf", "-display", "none").displayNone).toBe(true);
    expect(err("k.elf", "-display", "sdl")).toContain("-display sdl is not supported");
  });
});

describe("parseArgs: --max-insns and --timeout", () => {
  it("validates --timeout as a positive number of seconds", () => {
    expect(ok("k.elf", "--timeout", "30").timeoutSeconds).toBe(30);
    expect(ok("k.elf", "--timeout", "0.25").timeoutSeconds).toBe(0.25);
    for (const bad of ["0", "-1", "abc", "10s", "", "Infinity", "1e3", "0.0"]) {
      expect(err("k.elf", "--timeout", bad)).toBe(`--timeout needs a positive number of seconds, got '${bad}'`);
    }
  });

  it("validates --max-insns as a positive whole number", () => {
    expect(ok("k.elf", "--max-insns", "5").maxInsns).toBe(5);
    for (const bad of ["0", "-5", "1.5", "lots", "99999999999999999999"]) {
      expect(err("k.elf", "--max-insns", bad)).toContain("--max-insns needs a positive whole number");
    }
  });
});

describe("parseArgs: QEMU flags accepted with a warning", () => {
  const warned: [string[], RegExp][] = [
    [["-enable-kvm"], /^-enable-kvm ignored: cr3 emulates the CPU in software/],
    [["--enable-kvm"], /^--enable-kvm ignored: cr3 emulates the CPU in software/],
    [["-accel", "kvm"], /^-accel kvm ignored: cr3 emulates the CPU in software/],
    [["-accel", "tcg"], /^-accel tcg ignored/],
    [["-machine", "q35"], /^-machine q35 ignored: .*i440fx-like/],
    [["-M", "pc"], /^-M pc ignored: .*i440fx-like/],
    [["-machine", "type=q35,accel=kvm"], /^-machine type=q35,accel=kvm ignored/],
    [["-name", "myos"], /^-name myos ignored/],
    [["-monitor", "none"], /^-monitor none ignored/],
    [["-boot", "d"], /^-boot d ignored/],
    [["-rtc", "base=utc,driftfix=slew"], /^-rtc driftfix=slew ignored/],
    [["-icount", "shift=auto"], /^-icount shift=auto: cr3 uses its fixed default shift of 5 \(32 ns per instruction\)/],
    [["-net", "none"], /^-net none ignored/],
    [["-nic", "none"], /^-nic none ignored/],
  ];
  for (const [flags, pattern] of warned) {
    it(`${flags.join(" ")} warns once`, () => {
      const a = ok("k.elf", ...flags);
      expect(a.warnings).toHaveLength(1);
      expect(a.warnings[0]).toMatch(pattern);
      expect(a.warnings[0]).not.toContain("\n");
    });
  }

  it("-smp 1 is accepted silently", () => {
    for (const smp of ["1", "cpus=1", "1,sockets=1,cores=1,threads=1"]) expect(ok("k.elf", "-smp", smp).warnings).toEqual([]);
  });
});

describe("parseArgs: the platform's options", () => {
  it("-rtc base=DATE is the RTC's start in ms since the epoch (UTC)", () => {
    expect(ok("k.elf", "-rtc", "base=2006-06-17T16:01:21").rtcBase).toBe(Date.UTC(2006, 5, 17, 16, 1, 21));
    expect(ok("k.elf", "-rtc", "base=2020-01-02").rtcBase).toBe(Date.UTC(2020, 0, 2));
    expect(ok("k.elf").rtcBase).toBeUndefined();
  });
  it("--jit on|off and --jit-threshold N choose the tiers; anything else is a one-line error", () => {
    expect(ok("k.elf").jit).toBe(true);
    expect(ok("k.elf").jitThreshold).toBeUndefined();
    expect(ok("k.elf", "--jit", "off").jit).toBe(false);
    expect(ok("k.elf", "--jit=on").jit).toBe(true);
    expect(ok("k.elf", "--jit-threshold", "0").jitThreshold).toBe(0);
    expect(ok("k.elf", "--jit-threshold", "5000").jitThreshold).toBe(5000);
    expect(err("k.elf", "--jit", "maybe")).toBe("--jit maybe: cr3 accepts --jit on or --jit off");
    expect(err("k.elf", "--jit-threshold", "-1")).toMatch(/^--jit-threshold -1: expected a whole number/);
    expect(err("k.elf", "--jit-threshold", "1e3")).toMatch(/^--jit-threshold 1e3: expected a whole number/);
  });

  it("-rtc clock=host and --clock host select host time; -icount selects virtual time", () => {
    expect(ok("k.elf").clock).toBe("virtual");
    expect(ok("k.elf", "-rtc", "clock=host").clock).toBe("host");
    expect(ok("k.elf", "--clock", "host").clock).toBe("host");
    const a = ok("k.elf", "--clock", "host", "-icount", "shift=3");
    expect(a.clock).toBe("virtual");
    expect(a.icountShift).toBe(3);
    expect(ok("k.elf", "-icount", "2").icountShift).toBe(2);
  });
  it("-debugcon stdio and file:PATH; -drive and -hdX make drives by index, -snapshot reaches those before it too", () => {
    expect(ok("k.elf", "-debugcon", "stdio").debugcon).toEqual({ kind: "stdio" });
    expect(ok("k.elf", "-debugcon", "file:out.txt").debugcon).toEqual({ kind: "file", path: "out.txt" });
    const a = ok("k.elf", "-hdb", "fs.img", "-drive", "file=x.img,format=raw,index=0", "-snapshot");
    expect(a.drives.map((d) => [d.index, d.file, d.snapshot])).toEqual([[0, "x.img", true], [1, "fs.img", true]]);
    expect(ok("k.elf", "-hda", "x.img").drives.map((d) => d.snapshot)).toEqual([false]);
  });
  it("a bad -drive is refused in one line", () => {
    expect(err("k.elf", "-drive", "file=d.img,format=qcow2")).toMatch(/^-drive file=d.img,format=qcow2: format=qcow2 is not supported/);
    expect(err("k.elf", "-hda", "a.img", "-drive", "file=b.img,index=0")).toContain("index");
  });
});

describe("parseArgs: QEMU flags refused", () => {
  const refused: [string[], string][] = [
    [["-smp", "4"], "-smp 4 is not supported: cr3 emulates one CPU"],
    [["-smp", "cores=2"], "-smp cores=2 is not supported"],
    [["-s"], "-s is not supported yet"],
    [["-S"], "-S is not supported yet"],
    [["-gdb", "tcp::1234"], "-gdb is not supported yet"],
    [["-fda", "floppy.img"], "-fda is not supported yet"],
    [["-rtc", "base=yesterday"], "-rtc base=yesterday: expected utc, localtime or a date"],
    [["-icount", "shift=11"], "-icount shift=11: the shift must be 0..10"],
    [["-debugcon", "vc"], "-debugcon vc is not supported"],
    [["--clock", "tsc"], "--clock tsc: cr3 accepts --clock virtual or --clock host"],
    [["-cdrom", "os.iso"], "-cdrom is not supported yet"],
    [["--cdrom", "os.iso"], "--cdrom is not supported yet"],
    [["-monitor", "stdio"], "-monitor stdio is not supported"],
    [["-vga", "cirrus"], "-vga cirrus is not supported: cr3 accepts -vga std or -vga none"],
    [["-machine", "microvm"], "-machine microvm is not supported"],
    [["-machine", "q35,smm=off"], "property 'smm' is not supported"],
    [["-accel", "xyz"], "unknown accelerator 'xyz'"],
    [["-net", "user"], "-net user is not supported"],
  ];
  for (const [flags, message] of refused) {
    it(`${flags.join(" ")} is refused`, () => {
      expect(err("k.elf", ...flags)).toContain(message);
    });
  }
});
