import { spawn, spawnSync } from "node:child_process";
import { closeSync, ftruncateSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseGolden } from "../scripts/rom-tools.ts";
import { describe, expect, it } from "vitest";
import { parseElf } from "../src/boot/elf.ts";
import { runDemo } from "../src/cli/demo.ts";

function cr3(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("cr3 command line", () => {
  it("the tour takes --jit and friends; a bad value is one line and status 2, before anything boots", () => {
    const r = cr3("--jit", "maybe");
    expect(r.stdout).toBe("");
    expect(r.stderr).toBe("cr3: --jit maybe: cr3 accepts --jit on or --jit off\n");
    expect(r.status).toBe(2);
  });

  it("the demonstration explains a walk, a fault, a stale TLB entry and a CR3 switch", () => {
    const lines: string[] = [];
    runDemo((line) => lines.push(line));
    const text = lines.join("\n");
    // A user write through four levels to frame 0x800000.
    expect(text).toContain("PT[0] at 0x103000 = 0x800007");
    expect(text).toContain("write at 0x400010 from CPL3: 4 KiB page, physical address 0x800010");
    // SDM 4.6.1: user write to R/W=0 faults whatever CR0.WP says; error code P|W|U = 7.
    expect(text).toContain("#PF write at 0x401000 from CPL3: PTE (PT[1] at 0x103008) = 0x801005 is read-only (R/W=0)\n");
    expect(text).toContain("error code 7 (");
    // The stale translation survives until INVLPG.
    expect(text).toContain("a read still returns 0x12345678 from the old frame");
    expect(text).toContain("stale TLB entry: the page tables now give frame 0x900000, the TLB still has frame 0x800000");
    expect(text).toContain("after INVLPG it returns 0xbadf00d");
    // Global entries survive the CR3 write; the new space lacks the user page.
    expect(text).toContain("kernel read after the switch: TLB hit, no walk");
    expect(text).toContain("#PF read at 0x400010 from CPL3: PML4E (PML4[0] at 0x180000) = 0x0 is not present (P=0)");
    // MMIO through the MMU: 14 character cells written to the VGA text buffer.
    expect(text).toContain('the screen\'s first line now reads "Hello from cr3"; the\n   14 writes went to the device, none to the RAM beneath it.');
  });

  it("prints help and version", () => {
    const help = cr3("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Usage:");
    expect(cr3("--version").stdout).toMatch(/^cr3 \d+\.\d+\.\d+\n$/);
  });

  it("refuses an unknown option in one line with status 2", () => {
    const r = cr3("--frobnicate");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("cr3: unknown option '--frobnicate' (see cr3 --help)\n");
    expect(r.stdout).toBe("");
  });

  it("with no arguments boots the bundled teaching kernel to 'all passed', figures at the end, status 0", () => {
    const r = cr3();
    expect(r.stdout).toMatch(/^cr3 \d+\.\d+\.\d+: booting the bundled teaching kernel/);
    expect(r.stdout).toContain("\nall passed\n");
    expect(r.stderr).toMatch(/^instructions +\d+ in/m);
    expect(r.stderr).toMatch(/^page faults +\d+: \d+ not present/m);
    expect(r.status).toBe(0);
  });

  it("--demo runs the MMU demonstration", () => {
    const r = cr3("--demo");
    expect(r.stdout).toContain("PT[0] at 0x103000 = 0x800007");
    expect(r.status).toBe(0);
  });

  it("ends quietly when the reader closes the pipe early", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" --import tsx src/cli/main.ts --demo | head -1`], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^cr3 \d/);
    expect(r.stderr).toBe("");
  });

  const QEMU_FLAGS = ["-m", "256", "-serial", "stdio", "-no-reboot", "-nographic", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"];

  it("boots a multiboot kernel as QEMU's -kernel does: the golden on stdout, isa-debug-exit's status", () => {
    const r = cr3("-kernel", "test-roms/images/boot.elf", ...QEMU_FLAGS);
    const golden = parseGolden(readFileSync("test-roms/golden/boot.txt", "latin1"));
    expect(r.stdout).toBe(golden.output);
    expect(r.status).toBe(golden.exitStatus);
    expect(r.stderr).toBe("");
  });

  it("a triple fault ends the run with status 0 (QEMU -no-reboot) and the chain of faults explained", () => {
    const r = cr3("-kernel", "test-roms/images/triplefault.elf", ...QEMU_FLAGS);
    expect(r.status).toBe(0);
    const lines = r.stderr.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^cr3: the guest triple-faulted/);
    expect(lines[1]).toMatch(/^  #UD \(vector 6\) at RIP 0x[0-9a-f]+, CPL 0$/);
    expect(lines.at(-2)).toMatch(/^  #DF \(vector 8, error code 0x0\)/);
    expect(lines.at(-1)).toMatch(/^  #GP \(vector 13, error code 0x43\)/);
  });

  it("-d int prints each exception as QEMU does, a #PF with its walk in words", () => {
    const r = cr3("-kernel", "test-roms/images/paging.elf", ...QEMU_FLAGS, "-d", "int");
    expect(r.stderr).toMatch(/^ +\d+: v=0e e=0002 i=0 cpl=0 IP=0008:[0-9a-f]{16} pc=[0-9a-f]{16} SP=0010:[0-9a-f]{16} CR2=[0-9a-f]{16}$/m);
    expect(r.stderr).toMatch(/^ {4}#PF write at 0x[0-9a-f]+ from CPL0: .* is read-only \(R\/W=0\) and CR0\.WP=1$/m);
    expect(r.stderr).toMatch(/^RAX=[0-9a-f]{16} RCX=/m);
  });

  it("--max-insns stops the guest with status 124; --stats and --stats-json report the run", () => {
    const json = join(mkdtempSync(join(tmpdir(), "cr3-stats-")), "stats.json");
    const r = cr3("-kernel", "test-roms/images/isa64.elf", ...QEMU_FLAGS, "--max-insns", "200000", "--stats", "--stats-json", json);
    expect(r.status).toBe(124);
    expect(r.stderr).toContain("cr3: stopped after 200000 instructions (--max-insns 200000)");
    expect(r.stderr).toMatch(/^instructions +200000 in [\d.]+ s: [\d.]+ MIPS$/m);
    expect(r.stderr).toMatch(/^data TLB +\d+ hits, \d+ misses/m);
    const stats = JSON.parse(readFileSync(json, "utf8"));
    expect(stats.instructions).toBe(200000);
    expect(stats.exitStatus).toBe(124);
    for (const key of ["seconds", "mips", "itlbHits", "itlbMisses", "dtlbHits", "dtlbMisses", "walks", "walkMemoryReads", "pageFaults"]) {
      expect(typeof stats[key], key).toBe("number");
    }
    // Virtual time: 32 ns per instruction by default, and this ROM never halts.
    expect(stats.guestSeconds).toBeCloseTo(200000 * 32e-9, 12);
    expect(stats.idleSeconds).toBe(0);
    expect(r.stderr).toMatch(/^guest time +0\.006 s, 0\.000 s of it halted/m);
  });

  it("a guest that halts with interrupts off ends the run in one line", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-hlt-"));
    const image = join(dir, "hlt.elf");
    writeFileSync(image, haltingKernel());
    const r = cr3(image, "--timeout", "20");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^cr3: the guest halted with interrupts disabled \(HLT at 0x100031, IF=0\): nothing can wake it; stopping\n$/);
  });

  it("warns in one line about a QEMU flag that does not matter to cr3", () => {
    const r = cr3("test-roms/images/boot.elf", "-enable-kvm");
    expect(r.stderr.split("\n")[0]).toBe("cr3: warning: -enable-kvm ignored: cr3 emulates the CPU in software (an interpreter and compiled JavaScript) and uses no hardware acceleration");
  });

  // Bad input: one line naming the problem, status 2, never a stack trace.
  const truncated = join(mkdtempSync(join(tmpdir(), "cr3-cli-")), "truncated.elf");
  const bootImage = readFileSync("test-roms/images/boot.elf");
  writeFileSync(truncated, bootImage.subarray(0, 5000));
  const [first] = parseElf(bootImage).segments; // checked against readelf in elf.test.ts
  const firstEnd = (first.offset + first.filesz).toString(16);
  it.each([
    [["nope.elf"], "cr3: cannot read kernel 'nope.elf': no such file"],
    [["test-roms"], "cr3: cannot read kernel 'test-roms': is a directory"],
    [["package.json"], "cr3: package.json: no multiboot or multiboot2 header: neither magic 0x1BADB002 (4-byte aligned, first 8 KiB) nor 0xE85250D6 (8-byte aligned, first 32 KiB) is in the kernel"],
    [[truncated], `cr3: ${truncated}: truncated ELF: segment 0 (file bytes 0x${first.offset.toString(16)}-0x${firstEnd}) lies beyond the end of the file (0x1388 bytes)`],
    [["test-roms/images/boot.elf", "-m", "1M"], "cr3: -m 1M is too little memory: cr3 needs at least 2 MiB"],
    [["-smp", "4", "k.elf"], "cr3: -smp 4 is not supported: cr3 emulates one CPU"],
    [["-kernel"], "cr3: -kernel needs a value"],
  ])("refuses %j in one line with status 2", (args, line) => {
    const r = cr3(...(args as string[]));
    expect(r.status).toBe(2);
    expect(r.stderr).toBe(line + "\n");
    expect(r.stdout).toBe("");
  });
});

/** A minimal multiboot a.out-kludge kernel at 1 MiB: header, then `cli; hlt` at 0x100030-31. */
function haltingKernel(): Uint8Array {
  const image = new Uint8Array(0x40);
  const view = new DataView(image.buffer);
  const flags = 0x00010003;
  view.setUint32(0, 0x1badb002, true);
  view.setUint32(4, flags, true);
  view.setUint32(8, (-(0x1badb002 + flags)) >>> 0, true);
  view.setUint32(12, 0x100000, true); // header_addr
  view.setUint32(16, 0x100000, true); // load_addr
  view.setUint32(20, 0x100040, true); // load_end_addr
  view.setUint32(24, 0x100040, true); // bss_end_addr
  view.setUint32(28, 0x100030, true); // entry_addr
  image[0x30] = 0xfa; // cli
  image[0x31] = 0xf4; // hlt
  return image;
}

// Every guest here runs under each tier: the default, the interpreter alone, and everything compiled at once.
const TIERS: [string, string[]][] = [
  ["default tier", []],
  ["--jit off", ["--jit", "off"]],
  ["--jit-threshold 0", ["--jit-threshold", "0"]],
];

describe.each(TIERS)("cr3 KERNEL on the PC platform (%s)", (_tierName, tier) => {
  const QEMU_FLAGS = ["-m", "256", "-serial", "stdio", "-no-reboot", "-nographic", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"];

  it("a disk's writes reach its file at the end of the run, and never with snapshot=on", () => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-disk-"));
    const blank = (name: string): string => {
      const path = join(dir, name);
      const fd = openSync(path, "w");
      ftruncateSync(fd, 8 << 20);
      closeSync(fd);
      return path;
    };
    const kept = blank("kept.img");
    const scratch = blank("scratch.img");
    const a = cr3("-kernel", "test-roms/images/disk.elf", ...QEMU_FLAGS, ...tier, "-drive", `file=${kept},format=raw,index=0`);
    const b = cr3("-kernel", "test-roms/images/disk.elf", ...QEMU_FLAGS, ...tier, "-drive", `file=${scratch},format=raw,index=0,snapshot=on`);
    expect(a.status, a.stderr).toBe(b.status);
    expect(a.stdout).toBe(b.stdout);
    // The ROM writes LBA 1 with pattern(lba, i) = lba * 0x9E37 + i * 0x0101 + 0x5A per 16-bit word.
    const disk = readFileSync(kept);
    const word = (lba: number, i: number): number => disk.readUInt16LE(lba * 512 + 2 * i);
    expect([word(1, 0), word(1, 1), word(1, 255)]).toEqual([0x9e37 + 0x5a, 0x9e37 + 0x0101 + 0x5a, (0x9e37 + 255 * 0x0101 + 0x5a) & 0xffff]);
    expect(readFileSync(scratch).every((byte) => byte === 0)).toBe(true);
  });

  it("SIGTERM ends the run in one line with status 0, as QEMU does", async () => {
    // A multiboot1 a.out-kludge image that spins forever (jmp $ at its entry,
    // 0x100020), so the run is still going whichever tier runs it.
    const dir = mkdtempSync(join(tmpdir(), "cr3-spin-"));
    const kernel = join(dir, "spin.bin");
    writeFileSync(kernel, Buffer.from("02b0ad1b00000100fe4f51e40000100000001000220010002200100020001000ebfe", "hex"));
    const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", "-kernel", kernel, "-serial", "none", "-display", "none", ...tier]);
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
    await new Promise((r) => setTimeout(r, 2500));
    child.kill("SIGTERM");
    const status = await exited;
    expect(stderr).toContain("cr3: terminating on signal SIGTERM\n");
    expect(status).toBe(0);
  }, 60_000);

  it("--stdin keyboard: typed bytes reach the 8042 as scancode set 1 (translated from set 2), shift included", () => {
    // A multiboot1 a.out-kludge image (nasm -f bin): ECX = 8 times, poll port 0x64 bit 0, read
    // port 0x60 and print the byte as two hex digits and a space on COM1; then exit through 0xF4.
    const image = Buffer.from(
      "02b0ad1b00000100fe4f51e40000100000001000600010006000100020001000bc00000900b908000000e464a80174fae46088c3c0e804e81400000088d8e80d000000b02066baf803eee2deb000e6f4240f04303c397602040766baf803eec3",
      "hex",
    );
    const dir = mkdtempSync(join(tmpdir(), "cr3-kbd-"));
    const kernel = join(dir, "kbd.bin");
    writeFileSync(kernel, image);
    const r = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", kernel, ...QEMU_FLAGS, ...tier, "-display", "none", "--stdin", "keyboard", "--timeout", "30"], {
      encoding: "utf8",
      input: "aB\n",
    });
    // Set 1: a = 1E/9E; left shift 2A/AA around b = 30/B0; Enter = 1C/9C.
    expect(r.stdout).toBe("1E 9E 2A 30 B0 AA 1C 9C ");
    expect(r.status, r.stderr).toBe(1);
  });

  // Three multiboot1 a.out-kludge images (nasm -f bin), each then halting in a loop;
  // the expected endings are what QEMU 7.2 gave on them with the same flags.
  const ENDINGS: [string, string, string[], { stdout: string; status: number; stderr: RegExp }][] = [
    // mov dx, 0x604 / mov ax, 0x2000 / out dx, ax: ACPI PM1a_CNT, SLP_EN with SLP_TYP 0 (S5)
    ["ACPI power-off", "02b0ad1b00000100fe4f51e40000100000001000320010003200100020001000bc0000090066ba040666b8002066eff4ebfd", [], { stdout: "", status: 0, stderr: /^$/ }],
    // mov al, 0xfe / out 0x64, al: the 8042 pulses the reset line; -no-reboot stops
    ["8042 reset", "02b0ad1b00000100fe4f51e400001000000010002c0010002c00100020001000bc00000900b0fee664f4ebfd", [], { stdout: "", status: 0, stderr: /^cr3: the guest reset the machine \(the 8042 keyboard controller's reset line/ }],
    // "hi\n" to port 0xE9, then 2 to isa-debug-exit
    ["-debugcon stdio", "02b0ad1b00000100fe4f51e40000100000001000390010003900100020001000bc0000090066bae900b068eeb069eeb00aeeb002e6f4f4ebfd", ["-serial", "none", "-debugcon", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"], { stdout: "hi\n", status: 5, stderr: /^$/ }],
  ];
  it.each(ENDINGS)("%s ends the run as under QEMU", (_name, hex, flags, want) => {
    const dir = mkdtempSync(join(tmpdir(), "cr3-end-"));
    const kernel = join(dir, "k.bin");
    writeFileSync(kernel, Buffer.from(hex, "hex"));
    const r = cr3(kernel, "-nodefaults", "-nographic", "-no-reboot", ...tier, ...(flags.length > 0 ? flags : ["-serial", "stdio"]), "--timeout", "30");
    expect(r.stdout).toBe(want.stdout);
    expect(r.stderr).toMatch(want.stderr);
    expect(r.status).toBe(want.status);
  });

  it("hands a multiboot kernel the machine state QEMU's option ROM leaves (selectors, GDT, stack)", () => {
    // nasm -f bin, a multiboot1 a.out-kludge image: it prints CS, DS, SS, GDTR limit and
    // base, the five GDT entries (each dword's high then low half), the ESP it was entered
    // with, then flags and CR0 of its own (not hand-off state) on COM1, and exits through 0xF4.
    const image = Buffer.from(
      "02b0ad1b00000100fe4f51e40000100000001000e6011000e6011000200010008925dc001000bce0011000668cc8e886000000668cd8e87e000000668cd0e8760000000f0105e001100066a1e0011000e864000000a1e2011000c1e810e857000000a1e2011000e84d0000008b35e2011000b90a0000008b065150c1e810e83600000058e8300000005983c604e2e8a1dc001000c1e810e81d000000a1dc001000e8130000009c58e80c0000000f20c0e804000000b000e6f4b9040000006689c366c1c30488d8240f04303c397602040766baf803eee2e9b020eec30000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
      "hex",
    );
    const dir = mkdtempSync(join(tmpdir(), "cr3-handoff-"));
    const kernel = join(dir, "handoff.bin");
    writeFileSync(kernel, image);
    const r = cr3(kernel, ...QEMU_FLAGS, ...tier, "-display", "none");
    // QEMU 7.2 printed exactly this (after SeaBIOS's banner) for the same image.
    expect(r.stdout).toBe(
      "0008 0010 0010 0027 000C 02B8 0000 0000 0000 0000 0000 FFFF 00CF 9A00 0000 FFFF 00CF 9300 0000 FFFF 0000 9E00 0000 FFFF 0000 9200 0000 6F08 0097 0011 ",
    );
    expect(r.status).toBe(1);
  });
});
