import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { runDemo } from "../src/cli/demo.ts";

function cr3(...args: string[]) {
  const result = spawnSync(process.execPath, ["--import", "tsx", "src/cli/main.ts", ...args], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("cr3 command line", () => {
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

  it("ends quietly when the reader closes the pipe early", () => {
    const r = spawnSync("sh", ["-c", `"${process.execPath}" --import tsx src/cli/main.ts | head -1`], { encoding: "utf8" });
    expect(r.stdout).toMatch(/^cr3 \d/);
    expect(r.stderr).toBe("");
  });

  it("refuses a kernel in one line, without a stack trace, until the CPU exists", () => {
    const r = cr3("kernel.elf");
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/);
  });
});
