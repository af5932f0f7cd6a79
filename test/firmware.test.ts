// The bundled teaching kernel (firmware/, issue 6): the committed image is
// what its sources build to, cr3 boots it to "all passed" with the
// demonstrations' figures, and QEMU prints the same. As in test/roms.test.ts,
// the rebuild and QEMU checks need host tools: without them they are skipped
// with a message, except under CI (CI=true), where a missing tool fails.

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FIRMWARE_BUILD_TOOLS, FIRMWARE_IMAGE, buildFirmware } from "../scripts/build-firmware.ts";
import { QEMU, QEMU_ARGS, QEMU_TIMEOUT_MS, expandScratchDisks, hasTool } from "../scripts/rom-tools.ts";

const inCi = process.env.CI === "true" || process.env.CI === "1";
const missingBuildTools = FIRMWARE_BUILD_TOOLS.filter((tool) => !hasTool(tool));
const haveQemu = hasTool(QEMU);
if (!inCi && missingBuildTools.length > 0) {
  console.warn(`firmware: ${missingBuildTools.join(", ")} not found: the rebuild check is skipped (Debian: apt-get install gcc binutils)`);
}
if (!inCi && !haveQemu) {
  console.warn(`firmware: ${QEMU} not found: the QEMU check is skipped (Debian: apt-get install qemu-system-x86)`);
}

const COMMAND = [...QEMU_ARGS, "-kernel", FIRMWARE_IMAGE];
/** The swap area: a fresh zero-filled 4 MiB disk on the primary master for every run. */
const DISK = ["-drive", "file=@DISK4M,format=raw,index=0"];

/** Runs `run` with the `@DISK<N>M` tokens of args replaced by fresh images, removed afterwards. */
function withScratchDisks<T>(args: string[], run: (args: string[]) => T): T {
  const dir = mkdtempSync(join(tmpdir(), "cr3-firmware-disk-"));
  try {
    return run(expandScratchDisks(args, dir));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const FIRST_LINE = "cr3-tour: ";

interface Run {
  output: string;
  status: number | null;
  stderr: string;
}

interface Cr3Run extends Run {
  /** The VGA text screen at the end (--vga-dump): 25 rows of 80 columns. */
  screen: string[];
  /** --stats-json: the disks' sector counts, and the interrupts delivered through the local APIC (the timer's). */
  disks: { name: string; sectorsRead: number; sectorsWritten: number }[];
  apicInterrupts: number;
  /** The whole --stats-json object. */
  stats: Record<string, unknown>;
}

function runCr3(extra: string[] = DISK): Cr3Run {
  const out = mkdtempSync(join(tmpdir(), "cr3-firmware-out-"));
  try {
    const [screenFile, statsFile] = [join(out, "screen.txt"), join(out, "stats.json")];
    const run = withScratchDisks([...COMMAND, ...extra], (args) =>
      spawnSync(
        process.execPath,
        ["--import", "tsx", "src/cli/main.ts", ...args, "-display", "none", "--timeout", "150", "--vga-dump", screenFile, "--stats-json", statsFile],
        { encoding: "latin1", maxBuffer: 64 << 20 },
      ),
    );
    const read = (file: string): string => {
      try {
        return readFileSync(file, "latin1");
      } catch {
        return "";
      }
    };
    const statsText = read(statsFile);
    const stats = statsText === "" ? { disks: [], apicInterrupts: 0 } : (JSON.parse(statsText) as Pick<Cr3Run, "disks" | "apicInterrupts"> & Record<string, unknown>);
    return {
      output: run.stdout,
      status: run.status,
      stderr: run.stderr,
      screen: read(screenFile).split("\n"),
      disks: stats.disks,
      apicInterrupts: stats.apicInterrupts,
      stats,
    };
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

function runQemu(): Run & { timedOut: boolean } {
  const run = withScratchDisks([...COMMAND, ...DISK], (args) =>
    spawnSync(QEMU, args, { encoding: "latin1", timeout: QEMU_TIMEOUT_MS, stdio: ["ignore", "pipe", "pipe"] }),
  );
  const raw = run.stdout ?? "";
  const start = raw.indexOf(FIRST_LINE); // SeaBIOS's banner comes first
  return {
    output: start >= 0 ? raw.slice(start) : raw,
    status: run.status,
    stderr: run.stderr ?? "",
    timedOut: run.error !== undefined && (run.error as NodeJS.ErrnoException).code === "ETIMEDOUT",
  };
}

/**
 * The protection demonstration (firmware/user/protect.c) as pid 5, after demand (1), cow (2, 3) and swap (4):
 * one child per case, pids 6 to 9, each killed for one forbidden access. The page-fault error code (SDM Vol. 3A
 * 4.7) a user-mode access gets: bit 0 P (a present page, a right broken), bit 1 W/R, bit 2 U/S (always, ring 3),
 * bit 4 I/D (an instruction fetch). The wait status is KILLED_STATUS(reason, access) = -(0x100 + reason * 4 +
 * access) with the reasons and accesses of firmware/user/syscall.h.
 */
const PF_P = 1, PF_W = 2, PF_U = 4, PF_I = 16;
const ACCESS = { read: 0, write: 1, fetch: 2 } as const;
const REASON = { "not present": 1, "user access to a supervisor page": 2, "write to a read-only page": 3, "instruction fetch from a no-execute page": 4 } as const;
const PROTECTION_CASES: { name: string; address: RegExp; access: keyof typeof ACCESS; why: keyof typeof REASON }[] = [
  { name: "kernel read", address: /0xffffffff80100000/, access: "read", why: "user access to a supervisor page" },
  { name: "text write", address: /0x4[0-9a-f]{5}/, access: "write", why: "write to a read-only page" }, // the user image at 0x400000
  { name: "data jump", address: /0x4[0-9a-f]{5}/, access: "fetch", why: "instruction fetch from a no-execute page" },
  { name: "unmapped read", address: /0x700000000000/, access: "read", why: "not present" },
];

function errorCode(access: keyof typeof ACCESS, why: keyof typeof REASON): number {
  return PF_U | (why === "not present" ? 0 : PF_P) | (access === "write" ? PF_W : 0) | (access === "fetch" ? PF_I : 0);
}

function expectProtection(lines: string[]): void {
  const PARENT = 5;
  PROTECTION_CASES.forEach((c, i) => {
    const child = PARENT + 1 + i;
    const reason = c.why === "not present" ? c.why : `protection violation: ${c.why}`;
    const kill = lines.find((l) => l.startsWith(`kernel: pid ${child} (protect) killed: `)) ?? "";
    expect(kill).toMatch(
      new RegExp(`^kernel: pid ${child} \\(protect\\) killed: ${c.access} at ${c.address.source}: ${reason} \\(error 0x${errorCode(c.access, c.why).toString(16)}\\)$`),
    );
    const status = -(0x100 + REASON[c.why] * 4 + ACCESS[c.access]);
    expect(lines.find((l) => l.startsWith(`kernel: pid ${child} (protect) exited`))).toMatch(
      new RegExp(`^kernel: pid ${child} \\(protect\\) exited with status ${status}; \\d+ page faults, \\d+ frames returned$`),
    );
    // The parent waits for each child before forking the next: its line follows the child's kill and exit.
    const verdict = `protect[${PARENT}]: ${c.name}: killed as expected (${c.why})`;
    expect(lines).toContain(verdict);
    expect(lines.indexOf(verdict)).toBeGreaterThan(lines.indexOf(kill));
  });
  expect(lines).toContain(`protect[${PARENT}]: 4 of 4 forbidden accesses killed just the child that made them; PASS`);
  expect(lines.find((l) => l.startsWith(`kernel: pid ${PARENT} (protect) exited`))).toMatch(/^kernel: pid 5 \(protect\) exited with status 0;/);
}

/**
 * The shared-memory and MMIO demonstration (firmware/user/share.c) as pid 10, after protect (5) and its four
 * children (6-9); its child is pid 11. SHM_KEY = 42 maps at USER_SHM = 0x20000000 and the VGA text buffer
 * at USER_MMIO = 0x30000000 (firmware/user/syscall.h).
 */
function expectShare(lines: string[]): void {
  const message = "hello from the child through shared memory";
  expect(lines).toContain("kernel: pid 10 mapped shared memory key 42 at 0x20000000: its frame is in 1 page table");
  expect(lines).toContain("share[10]: parent mapped shared memory key 42 at 0x20000000 (1 page table); fork");
  // fork keeps the shared page: one frame, two page tables; the child's writes to it are not copy-on-write.
  expect(lines.find((l) => l.startsWith("kernel: pid 10 forked pid 11: "))).toMatch(/, 1 shared-memory pages$/);
  expect(lines).toContain("share[11]: child: the shared page's frame is mapped by 2 page tables");
  expect(lines).toContain(`share[11]: child wrote ${message.length} bytes into the shared page -> 0 copy-on-write faults`);
  expect(lines.find((l) => l.startsWith("kernel: pid 11 (share) exited"))).toMatch(/^kernel: pid 11 \(share\) exited with status 0; /);
  expect(lines).toContain(
    `share[10]: child 11 exited with status 0; parent reads "${message}" (the child's message); its frame now in 1 page table`,
  );
  expect(lines).toContain("kernel: pid 10 mapped the VGA text buffer (physical 0xb8000, uncached) at 0x30000000");
  // The last row of 80 cells, each written and read back through the user mapping.
  expect(lines).toContain("share[10]: wrote a status line into the screen's last row through MMIO; read back 80 of 80 cells intact");
  expect(lines).toContain("share[10]: shared memory: ok; MMIO: ok; PASS");
  expect(lines.find((l) => l.startsWith("kernel: pid 10 (share) exited"))).toMatch(/^kernel: pid 10 \(share\) exited with status 0; /);
}

/**
 * Isolation (firmware/user/isolate.c) as pid 12 with its child 13: the same heap address (the heap starts at
 * USER_HEAP = 0x10000000) holds 0x1111... in the parent and 0x2222... in the child through 64 turns each; the
 * page the child maps (the first mmap address, USER_MMAP = 0x40000000) kills pid 14, a child of the parent, that
 * reads there.
 */
function expectIsolate(lines: string[]): void {
  expect(lines).toContain("isolate[12]: parent wrote 0x1111111111111111 at 0x10000000; fork");
  expect(lines).toContain("isolate[13]: child wrote 0x2222222222222222 at 0x10000000 (a frame of its own: yes); saw its value after 64 of 64 turns");
  expect(lines).toContain("isolate[13]: child mapped a page at 0x40000000 and wrote to it");
  expect(lines).toContain(
    "isolate[12]: child 13 exited with status 0; the parent saw its own value after 64 of 64 turns, and still reads 0x1111111111111111",
  );
  expect(lines).toContain(`kernel: pid 14 (isolate) killed: read at 0x40000000: not present (error 0x${errorCode("read", "not present").toString(16)})`);
  expect(lines).toContain("isolate[12]: 0x40000000, where the child mapped a page, is not mapped here: a read there was killed (not present); PASS");
}

/**
 * The memory system calls (firmware/user/mmap.c) as pid 15, children 16-19: sbrk +8 pages at USER_HEAP, then -4;
 * mmap of 16 pages at USER_MMAP with every second one touched; mprotect r-- then rw-; munmap of the upper 8.
 */
function expectMmap(lines: string[]): void {
  const notPresent = `not present \\(error 0x${errorCode("read", "not present").toString(16)}\\)`;
  const readOnly = `protection violation: write to a read-only page \\(error 0x${errorCode("write", "write to a read-only page").toString(16)}\\)`;
  expect(lines).toContain("mmap[15]: sbrk(+8 pages) at 0x10000000; touched 8 -> 8 page faults, 8 frames");
  // The break is 0x10004000 after sbrk(-4 pages): the page there is gone.
  expect(lines.find((l) => l.startsWith("kernel: pid 16 (mmap) killed"))).toMatch(new RegExp(`^kernel: pid 16 \\(mmap\\) killed: read at 0x10004000: ${notPresent}$`));
  expect(lines).toContain("mmap[15]: sbrk(-4 pages): 4 frames back to the pool; a child's read above the break: killed as expected (not present)");
  expect(lines).toContain("mmap[15]: mmap(16 pages, rw-) at 0x40000000: 0 frames until touched; touched 8 -> 8 page faults, 8 frames, 8 read as zero");
  // Read-only: a write to page 0 (touched) and to page 1 (never touched: mapped read-only at the fault, then the write faults again).
  expect(lines.find((l) => l.startsWith("kernel: pid 17 (mmap) killed"))).toMatch(new RegExp(`^kernel: pid 17 \\(mmap\\) killed: write at 0x40000000: ${readOnly}$`));
  expect(lines.find((l) => l.startsWith("kernel: pid 18 (mmap) killed"))).toMatch(new RegExp(`^kernel: pid 18 \\(mmap\\) killed: write at 0x40001000: ${readOnly}$`));
  expect(lines.find((l) => l.startsWith("kernel: pid 18 (mmap) exited"))).toMatch(/^kernel: pid 18 \(mmap\) exited with status -269; 1 page faults, /);
  expect(lines).toContain(
    "mmap[15]: mprotect(r--): 8 of 8 values still read; a child's write to a touched page and to an untouched one: both killed as expected (write to a read-only page)",
  );
  expect(lines).toContain("mmap[15]: mprotect(rw-): the first write -> 1 copy-on-write fault, 0 frames copied; it reads back: yes");
  expect(lines.find((l) => l.startsWith("kernel: pid 19 (mmap) killed"))).toMatch(new RegExp(`^kernel: pid 19 \\(mmap\\) killed: read at 0x40008000: ${notPresent}$`));
  // Pages 8, 10, 12 and 14 were touched: 4 frames.
  expect(lines).toContain("mmap[15]: munmap(upper 8 pages): 4 frames back to the pool; a child's read there: killed as expected (not present)");
  expect(lines).toContain(
    "mmap[15]: sbrk past the heap's end, mmap of 0 bytes or at an odd address, mprotect of unmapped pages, munmap at an odd address: all refused; munmap of 16 TiB holding nothing: 0",
  );
  const end = /^mmap\[15\]: unmapped the rest: frames (\d+), pool (\d+) free, as at the start \((\d+), (\d+)\); PASS$/.exec(
    lines.find((l) => l.startsWith("mmap[15]: unmapped the rest")) ?? "",
  );
  expect(end).not.toBeNull();
  expect([end![1], end![2]]).toEqual([end![3], end![4]]);
}

/** W^X (firmware/user/wx.c) as pid 20, children 21 and 22: code written into an mmap page at USER_MMAP. */
function expectWx(lines: string[]): void {
  expect(lines).toContain(
    `kernel: pid 21 (wx) killed: fetch at 0x40000000: protection violation: instruction fetch from a no-execute page (error 0x${errorCode("fetch", "instruction fetch from a no-execute page").toString(16)})`,
  );
  expect(lines).toContain(
    "wx[20]: wrote 6 bytes of code (mov eax, 42; ret) into an rw- page at 0x40000000; a child's call: killed as expected (instruction fetch from a no-execute page)",
  );
  expect(lines).toContain(
    `kernel: pid 22 (wx) killed: write at 0x40000000: protection violation: write to a read-only page (error 0x${errorCode("write", "write to a read-only page").toString(16)})`,
  );
  expect(lines).toContain("wx[20]: mprotect(r-x): the call returns 42; a child's write to the page: killed as expected (write to a read-only page)");
  expect(lines).toContain("wx[20]: mmap(rwx) and mprotect(rwx): both refused, no page is ever writable and executable; PASS");
}

/**
 * The screen's status board (firmware/console.c, proc.c show()): a title row of column heads, then one line per
 * process slot, left showing the last process that used the slot. The last demonstration, wx, is pid 20 in
 * slot 0; its children 21 and 22 each took slot 1 in turn, and 22 was killed for a write to its read-only page.
 */
function expectStatusBoard(screen: string[]): void {
  expect(screen[0]).toMatch(/^ +pid +program +state +faults +frames +copies +cr3-tour$/);
  expect(screen[1]).toMatch(/^ +20 +wx +exited 0 +\d+ +\d+ +\d+$/);
  expect(screen[2]).toMatch(/^ +22 +wx +killed +\d+ +\d+ +\d+ +wrote a read-only page$/);
}

/** The output without the expected kills (protection, isolation, memory calls, W^X) and the verdicts on them. */
function withoutProtectionKills(output: string): string {
  const expected = [
    /^kernel: pid ([6-9]|14|1[6-9]|2[12]) \((protect|isolate|mmap|wx)\) killed: /,
    /^protect\[5\]: [a-z ]+: killed as expected /,
    /^protect\[5\]: 4 of 4 .*; PASS$/,
    /^isolate\[12\]: .*: a read there was killed \(not present\); PASS$/,
    /^(mmap\[15\]|wx\[20\]): .*: (both )?killed as expected /,
  ];
  return output
    .split("\n")
    .filter((l) => !expected.some((e) => e.test(l)))
    .join("\n");
}

/** What every correct run prints, whoever runs it: figures follow from the demonstrations' design. */
function expectTour(run: Run): void {
  const lines = run.output.split("\n");
  expect(lines[0], run.stderr).toBe("cr3-tour: a kernel that shows virtual memory at work");
  // The default pool: 64 frames (no frames= on the command line).
  expect(lines.find((l) => l.startsWith("memory: "))).toMatch(/^memory: \d+ usable frames of 4 KiB; user pool of 64 frames$/);
  // Demand paging: 16 untouched heap pages, each first touch a fault and a frame from the pool.
  expect(lines).toContain("demand[1]: touching 16 heap pages at 0x10000000, none present yet");
  expect(lines.find((l) => l.startsWith("demand[1]: 16 pages touched"))).toMatch(/^demand\[1\]: 16 pages touched -> 16 page faults -> 16 frames \(pool: (\d+) -> (\d+) free\)$/);
  const [, before, after] = /pool: (\d+) -> (\d+) free/.exec(run.output) ?? [];
  expect(Number(before) - Number(after)).toBe(16);
  expect(lines).toContain("demand[1]: new pages read as zero: yes; values kept: 16 of 16; PASS");
  // Copy-on-write fork (firmware/user/cow.c): the parent (pid 2) fills PAGES = 8 heap pages and forks pid 3.
  // The fork shares those 8 plus the stack and data pages copy-on-write, and the text read-only.
  const fork = /^kernel: pid 2 forked pid 3: (\d+) pages shared copy-on-write, (\d+) read-only pages shared$/.exec(
    lines.find((l) => l.startsWith("kernel: pid 2 forked")) ?? "",
  );
  expect(fork, run.output).not.toBeNull();
  expect(Number(fork![1])).toBeGreaterThan(8);
  expect(Number(fork![2])).toBeGreaterThan(0);
  expect(lines).toContain("cow[3]: child sees 8 of 8 heap pages shared with its parent (2 references each)");
  // The child writes every third page (0, 3, 6): 3 faults, each copying one shared frame; 5 stay shared.
  expect(lines).toContain("cow[3]: child wrote 3 pages -> 3 copy-on-write faults -> 3 frames copied");
  expect(lines).toContain("cow[3]: child sees its values in 8 of 8 pages; its own frames: 3; still shared: 5");
  expect(lines).toContain("cow[2]: child 3 exited with status 0; parent's pages untouched: 8 of 8; it holds the last reference to 8");
  // After the child is gone every write (pages 0, 2, 4, 6) finds the last reference: no copy, the page is taken back.
  expect(lines).toContain("cow[2]: parent wrote 4 pages -> 4 copy-on-write faults -> 0 frames copied, 4 taken back");
  const pool = /^cow\[2\]: pool: (\d+) frames free before fork, (\d+) after the child exited; PASS$/.exec(
    lines.find((l) => l.startsWith("cow[2]: pool:")) ?? "",
  );
  expect(pool, run.output).not.toBeNull();
  expect(pool![2]).toBe(pool![1]); // the child's copies went back with it
  // The child returns its 3 copies plus its own stack and data frames; the shared text stays with the parent.
  const childExit = /^kernel: pid 3 \(cow\) exited with status 0; 0 page faults, (\d+) frames returned$/.exec(
    lines.find((l) => l.startsWith("kernel: pid 3 (cow) exited")) ?? "",
  );
  expect(childExit, run.output).not.toBeNull();
  expect(Number(childExit![1])).toBeGreaterThanOrEqual(3);
  expect(Number(childExit![1])).toBeLessThan(Number(fork![1]));
  // Swapping (firmware/user/swap.c): the disk is 4 MiB = 8192 sectors of 512 bytes (IDENTIFY words 60-61),
  // 1024 slots of 4 KiB. The working set is the pool of 64 frames plus 32 pages.
  expect(lines).toContain("swap: ATA disk of 8192 sectors; 1024 slots of 4 KiB");
  expect(lines).toContain("swap[4]: pool of 64 frames, 1024 swap slots on disk; touching 96 heap pages");
  const filled = /^swap\[4\]: filled 96 pages: (\d+) swapped out, (\d+) swapped in, (\d+) clean pages not rewritten$/.exec(
    lines.find((l) => l.startsWith("swap[4]: filled")) ?? "",
  );
  expect(filled, run.output).not.toBeNull();
  // 96 pages cannot live in 64 frames (the image and stack hold some too): at least 32 went out while filling,
  // and every one of them was dirty (written once, never read back clean).
  expect(Number(filled![1])).toBeGreaterThanOrEqual(32);
  expect(Number(filled![3])).toBe(0);
  expect(lines).toContain("swap[4]: verified every byte of 96 pages: 96 intact");
  const totals = /^swap\[4\]: pages touched 96, swapped out (\d+), swapped in (\d+), clean pages not rewritten (\d+); PASS$/.exec(
    lines.find((l) => l.startsWith("swap[4]: pages touched")) ?? "",
  );
  expect(totals, run.output).not.toBeNull();
  const [out, swappedIn, clean] = [Number(totals![1]), Number(totals![2]), Number(totals![3])];
  // Reading all 96 back brings in at least the 32 that cannot be resident; every page in was first out;
  // pages read back (clean, still valid in their slot) and evicted again skip the write.
  expect(swappedIn).toBeGreaterThanOrEqual(32);
  expect(out).toBeGreaterThanOrEqual(swappedIn);
  expect(clean).toBeGreaterThan(0);
  expect(clean).toBeLessThan(out);
  // It exits holding the whole pool; its faults: 96 first touches plus one per page swapped in, plus its stack.
  const swapExit = /^kernel: pid 4 \(swap\) exited with status 0; (\d+) page faults, 64 frames returned$/.exec(
    lines.find((l) => l.startsWith("kernel: pid 4 (swap) exited")) ?? "",
  );
  expect(swapExit, run.output).not.toBeNull();
  expect(Number(swapExit![1])).toBeGreaterThanOrEqual(96 + swappedIn);
  expectProtection(lines);
  expectShare(lines);
  // Only the processes kmain spawned count: demand, cow's parent (which judges its child), swap, protect, share.
  expectIsolate(lines);
  expectMmap(lines);
  expectWx(lines);
  expect(lines).toContain("summary: 8 passed, 0 failed");
  expect(lines).toContain("all passed");
  expect(withoutProtectionKills(run.output)).not.toMatch(/FAIL|panic|killed|segfault/);
  // isa-debug-exit with value 0: QEMU exits with (0 << 1) | 1.
  expect(run.status, run.stderr).toBe(1);
}

/** The kernel's lines that docs/firmware.md quotes in its code blocks (not cr3's --stats lines or the screen). */
function linesQuotedInDocs(): string[] {
  const doc = readFileSync("docs/firmware.md", "utf8");
  const tourLine = /^(cr3-tour: |memory: |kernel: |swap: |summary: |all passed$|(demand|cow|swap|protect|share|isolate|mmap|wx)\[\d+\]: )/;
  let inBlock = false;
  return doc.split("\n").filter((line) => {
    if (line.startsWith("```")) inBlock = !inBlock;
    else if (inBlock) return tourLine.test(line);
    return false;
  });
}

describe("firmware: the teaching kernel", () => {
  it.skipIf(!inCi && missingBuildTools.length > 0)("a clean rebuild gives the committed image byte for byte", () => {
    expect(missingBuildTools, "CI must install gcc and binutils").toEqual([]);
    const out = mkdtempSync(join(tmpdir(), "cr3-firmware-test-"));
    try {
      const rebuilt = readFileSync(buildFirmware(join(out, "cr3-tour.elf")));
      expect(rebuilt.equals(readFileSync(FIRMWARE_IMAGE)), `rebuilt image differs from ${FIRMWARE_IMAGE} (run npm run firmware)`).toBe(true);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);

  it("cr3 boots it with a disk: every demonstration's figures, PASS, all passed, QEMU's exit status; the screen's status board; the kernel's swap totals equal the disk traffic cr3 counted", () => {
    const run = runCr3();
    expectTour(run);
    expectStatusBoard(run.screen);
    // docs/firmware.md quotes this very image's output: every quoted line must still be printed.
    const quoted = linesQuotedInDocs();
    expect(quoted.length).toBeGreaterThan(50);
    const lines = run.output.split("\n");
    expect(quoted.filter((l) => !lines.includes(l))).toEqual([]);
    // ... and the status board it quotes is the screen's top rows.
    const doc = readFileSync("docs/firmware.md", "utf8").split("\n");
    const board = doc.slice(doc.findIndex((l) => l.startsWith("  pid  program"))).slice(0, 3);
    expect(board).toEqual(run.screen.slice(0, 3).map((row) => row.trimEnd()));
    // The kernel writes a page to the swap area for each eviction except the clean ones, and reads one per swap-in,
    // 8 sectors of 512 bytes each (firmware/swap.c); cr3's --stats counts the sectors the disk moved.
    const totals = /^swap: (\d+) pages swapped out \((\d+) written to the disk, (\d+) clean ones not rewritten\), (\d+) swapped in$/.exec(
      run.output.split("\n").find((l) => l.startsWith("swap: ") && l.includes("swapped in")) ?? "",
    );
    expect(totals, run.output).not.toBeNull();
    const [out, written, clean, swappedIn] = totals!.slice(1).map(Number);
    expect(written).toBe(out - clean);
    expect(swappedIn).toBeGreaterThanOrEqual(32);
    expect(run.disks).toEqual([{ name: "hda", sectorsWritten: 8 * written, sectorsRead: 8 * swappedIn }]);
  }, 180_000);

  it("without a disk the swap demonstration is skipped, not failed, and the tour still passes", () => {
    const run = runCr3([]);
    const lines = run.output.split("\n");
    expect(lines, run.stderr).toContain("swap: no ATA disk; pages cannot be swapped out");
    expect(lines).toContain("swap: no disk (run with -drive file=DISK.img,format=raw,index=0)");
    expect(lines.find((l) => l.startsWith("kernel: pid 4 (swap)"))).toMatch(/^kernel: pid 4 \(swap\) exited with status 77; \d+ page faults, \d+ frames returned$/);
    expectProtection(lines);
    expectShare(lines);
    expectIsolate(lines);
    expectMmap(lines);
    expectWx(lines);
    expect(lines).toContain("summary: 7 passed, 0 failed, 1 skipped");
    expect(lines).toContain("all passed");
    expect(withoutProtectionKills(run.output)).not.toMatch(/FAIL|panic|killed|segfault/);
    expect(run.status, run.stderr).toBe(1);
  }, 180_000);

  it("frames=N sets the user pool, at least 16: with frames=8 the pool is 16, the swap demonstration works through 48 pages, and the two that count frames exactly skip", () => {
    const run = runCr3([...DISK, "-append", "frames=8"]);
    const lines = run.output.split("\n");
    expect(lines.find((l) => l.startsWith("memory: ")), run.stderr).toMatch(/^memory: \d+ usable frames of 4 KiB; user pool of 16 frames$/);
    // demand needs its 16 pages free at once; mmap needs 8 + 8 touched pages and room for its children's copies.
    expect(lines.find((l) => l.startsWith("demand[1]: "))).toMatch(/^demand\[1\]: \d+ frames free in the pool, 16 needed to count exactly without swapping; skipped$/);
    expect(lines.find((l) => l.startsWith("mmap[15]: "))).toMatch(/^mmap\[15\]: \d+ frames free in the pool, 24 needed to count exactly without swapping; skipped$/);
    expect(lines).toContain("swap[4]: pool of 16 frames, 1024 swap slots on disk; touching 48 heap pages");
    expect(lines).toContain("swap[4]: verified every byte of 48 pages: 48 intact");
    expect(lines).toContain("summary: 6 passed, 0 failed, 2 skipped");
    expect(lines).toContain("all passed");
    expect(run.status).toBe(1);
  }, 180_000);

  it("what it prints does not depend on when the timer preempts: 8 times the virtual time per instruction gives the same lines", () => {
    // -icount shift=8 is 256 ns per instruction against the default 32 ns, so the LAPIC timer fires 8 times as
    // often per instruction and the processes are preempted at other places.
    const usual = runCr3();
    const often = runCr3([...DISK, "-icount", "shift=8"]);
    expect(often.status, often.stderr).toBe(1);
    expect(often.apicInterrupts).toBeGreaterThan(4 * usual.apicInterrupts);
    expect(often.output.split("\n")).toEqual(usual.output.split("\n"));
  }, 240_000);

  it("both tiers run it alike: --jit off and --jit-threshold 0 print the same screen and lines as the default, with the same instructions, walks, faults, data-TLB figures and disk traffic", () => {
    const same = ["instructions", "walks", "walkMemoryReads", "pageFaults", "pageFaultsByCause", "dtlbHits", "dtlbMisses", "cr3Writes", "invlpgs", "apicInterrupts", "disks", "exitStatus"];
    const pick = (r: Cr3Run): Record<string, unknown> => Object.fromEntries(same.map((k) => [k, r.stats[k]]));
    const usual = runCr3();
    expect(usual.status, usual.stderr).toBe(1);
    for (const extra of [["--jit", "off"], ["--jit-threshold", "0"]]) {
      const other = runCr3([...DISK, ...extra]);
      expect(other.output.split("\n"), extra.join(" ")).toEqual(usual.output.split("\n"));
      expect(other.screen, extra.join(" ")).toEqual(usual.screen);
      expect({ tier: extra.join(" "), ...pick(other) }).toEqual({ tier: extra.join(" "), ...pick(usual) });
    }
  }, 300_000);

  it.skipIf(!inCi && !haveQemu)("QEMU boots the same image and prints the same as cr3", () => {
    expect(haveQemu, `CI must install ${QEMU}`).toBe(true);
    const qemu = runQemu();
    expect(qemu.timedOut, "the kernel did not finish under QEMU").toBe(false);
    expectTour(qemu);
    expect(runCr3().output.split("\n")).toEqual(qemu.output.split("\n"));
  }, 240_000);
});
