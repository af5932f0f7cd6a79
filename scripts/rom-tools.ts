// The one place that says how test ROMs are built and run under QEMU: the
// build script, the golden recorder and the tests all use it.

import { execFileSync, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, existsSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const ROM_SOURCE_DIR = "test-roms";
export const IMAGE_DIR = "test-roms/images";
export const GOLDEN_DIR = "test-roms/golden";
/** Folders of test-roms/ that are not ROMs (runtime32: shared by standalone 32-bit ROMs). */
const NOT_ROMS = new Set(["runtime", "runtime32", "images", "golden"]);

export const CFLAGS = [
  "-m64",
  "-std=gnu11",
  "-O2",
  "-g0",
  "-ffreestanding",
  "-fno-pic",
  "-fno-pie",
  "-mno-red-zone",
  "-mno-sse",
  "-mno-mmx",
  "-mno-80387",
  "-mgeneral-regs-only",
  "-fno-stack-protector",
  "-fno-asynchronous-unwind-tables",
  "-fno-builtin",
  "-nostdinc",
  "-Wall",
  "-Wextra",
  "-Werror",
];
export const LDFLAGS = ["-m", "elf_x86_64", "-nostdlib", "--build-id=none", "-z", "max-page-size=0x1000", "-z", "noexecstack"];

/** The QEMU command line every golden is recorded with (issue: one fixed command line). */
export const QEMU = "qemu-system-x86_64";
export const QEMU_ARGS = [
  "-accel", "tcg",
  "-cpu", "max",
  "-m", "256",
  "-nodefaults",
  "-nographic",
  "-no-reboot",
  "-serial", "stdio",
  "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
];
/** Every ROM's output starts with this; SeaBIOS's banner comes before it. */
export const FIRST_LINE_PREFIX = "cr3-rom ";
export const QEMU_TIMEOUT_MS = 60_000;

/** The ROMs: every folder of test-roms/ but runtime, runtime32, images and golden, sorted. */
export function romNames(sourceDir = ROM_SOURCE_DIR): string[] {
  return readdirSync(sourceDir)
    .filter((name) => !NOT_ROMS.has(name) && statSync(join(sourceDir, name)).isDirectory())
    .sort();
}

function sourcesIn(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".c") || f.endsWith(".S"))
    .sort()
    .map((f) => join(dir, f));
}

export function hasTool(tool: string): boolean {
  return spawnSync(tool, ["--version"], { stdio: "ignore" }).status === 0;
}

export const BUILD_TOOLS = ["gcc", "ld", "objcopy"];

/**
 * Builds ROM `name` into `outDir/<name>.elf` (ELF32, as QEMU's multiboot
 * loader wants). Paths are relative to the repository root, which must be
 * the working directory: object files record their source's path.
 */
export function buildRom(name: string, outDir: string, sourceDir = ROM_SOURCE_DIR): string {
  // A ROM folder with a file named "standalone" brings its own entry code and
  // linker.ld (e.g. to stay in 32-bit protected mode) and skips the runtime.
  // Each non-empty line of that file (but # comments) names a shared folder
  // of test-roms/ (e.g. runtime32) whose sources are compiled in before the
  // ROM's own and which is added to the include path after the ROM's folder.
  const romDir = join(sourceDir, name);
  const standaloneFile = join(romDir, "standalone");
  const standalone = existsSync(standaloneFile);
  const runtime = join(sourceDir, "runtime");
  const shared = standalone
    ? readFileSync(standaloneFile, "utf8")
        .split("\n")
        .map((line) => line.trim())
        .filter((line) => line.length > 0 && !line.startsWith("#"))
        .map((folder) => join(sourceDir, folder))
    : [];
  const sources = standalone
    ? [...shared.flatMap((dir) => sourcesIn(dir)), ...sourcesIn(romDir)]
    : [...sourcesIn(runtime), ...sourcesIn(romDir)];
  const includes = (standalone ? [romDir, ...shared] : [runtime]).map((dir) => `-I${dir}`);
  const linkerScript = join(standalone ? romDir : runtime, "linker.ld");
  const work = mkdtempSync(join(tmpdir(), `cr3-rom-${name}-`));
  try {
    const objects = sources.map((source, i) => {
      const object = join(work, `${String(i).padStart(3, "0")}.o`);
      const flags = source.endsWith(".S") ? ["-m64", ...includes] : [...CFLAGS, ...includes];
      execFileSync("gcc", [...flags, "-c", source, "-o", object], { stdio: ["ignore", "inherit", "inherit"] });
      return object;
    });
    const elf64 = join(work, `${name}.elf64`);
    execFileSync("ld", [...LDFLAGS, "-T", linkerScript, "-o", elf64, ...objects], {
      stdio: ["ignore", "inherit", "inherit"],
    });
    mkdirSync(outDir, { recursive: true });
    const image = join(outDir, `${name}.elf`);
    execFileSync("objcopy", ["-O", "elf32-i386", elf64, image], { stdio: ["ignore", "inherit", "inherit"] });
    return image;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Extra QEMU arguments a ROM needs (e.g. `-vga std` for the MMIO ROM),
 * from test-roms/<rom>/qemu-args: whitespace-separated, added to the fixed
 * command line before -kernel.
 */
export function extraQemuArgs(name: string, sourceDir = ROM_SOURCE_DIR): string[] {
  const file = join(sourceDir, name, "qemu-args");
  return existsSync(file) ? readFileSync(file, "utf8").trim().split(/\s+/).filter((a) => a.length > 0) : [];
}

/**
 * `@DISK<N>M` inside a qemu-args word (e.g. `-drive file=@DISK8M,format=raw,index=0`)
 * stands for a fresh zero-filled raw disk image of N MiB, so a ROM that
 * writes to its disk starts from the same state every run. The golden's
 * header keeps the token; each run makes its images in a scratch folder.
 */
const SCRATCH_DISK = /@DISK(\d+)M/g;

/** Replaces each `@DISK<N>M` in args by the path of a new zero-filled N MiB image made in dir. */
export function expandScratchDisks(args: string[], dir: string): string[] {
  let made = 0;
  return args.map((arg) =>
    arg.replace(SCRATCH_DISK, (_token, mib: string) => {
      const path = join(dir, `disk${made++}.img`);
      const fd = openSync(path, "w");
      try {
        ftruncateSync(fd, Number(mib) * 1024 * 1024); // reads back as zeros
      } finally {
        closeSync(fd);
      }
      return path;
    }),
  );
}

/**
 * A ROM folder holding a file named `grub` is a multiboot2 kernel, which
 * QEMU's -kernel cannot boot: its golden is recorded with GRUB 2 booting it
 * from an ISO that grub-mkrescue builds afresh for each run, while cr3 boots
 * the ELF directly. The file's non-empty lines (but # comments), joined by
 * spaces, are the kernel's command line: GRUB's `multiboot2` line and cr3's
 * -append both pass it.
 */
export function grubCommandLine(name: string, sourceDir = ROM_SOURCE_DIR): string | null {
  const file = join(sourceDir, name, "grub");
  if (!existsSync(file)) return null;
  return readFileSync(file, "utf8")
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith("#"))
    .join(" ");
}

/** What building a GRUB ISO needs (Debian: grub-pc-bin grub-common xorriso mtools). */
export const GRUB_TOOLS = ["grub-mkrescue", "xorriso"];
export const GRUB_PC_MODULES = "/usr/lib/grub/i386-pc";
export const GRUB_PACKAGES = "grub-pc-bin grub-common xorriso mtools";

/** The GRUB tools missing on this host (empty when a GRUB ROM can be goldened). */
export function missingGrubTools(): string[] {
  const missing = GRUB_TOOLS.filter((tool) => !hasTool(tool));
  if (!existsSync(GRUB_PC_MODULES)) missing.push(`${GRUB_PC_MODULES} (grub-pc-bin)`);
  return missing;
}

/** Where the kernel lies on the ISO, and the grub.cfg that boots it. */
const GRUB_KERNEL_PATH = "/boot/rom.elf";
export function grubConfig(cmdline: string): string {
  // terminal_output console: GRUB writes nothing to COM1, so the serial
  // output starts with the ROM's own first line, as under -kernel.
  return ["set timeout=0", "terminal_output console", `multiboot2 ${GRUB_KERNEL_PATH}${cmdline === "" ? "" : ` ${cmdline}`}`, "boot", ""].join("\n");
}

/** Builds `dir`/rom.iso: a GRUB 2 (i386-pc) rescue ISO booting `image` as a multiboot2 kernel. */
export function buildGrubIso(name: string, image: string, dir: string): string {
  const root = join(dir, "iso-root");
  mkdirSync(join(root, "boot", "grub"), { recursive: true });
  copyFileSync(image, join(root, GRUB_KERNEL_PATH));
  writeFileSync(join(root, "boot", "grub", "grub.cfg"), grubConfig(grubCommandLine(name) ?? ""));
  const iso = join(dir, "rom.iso");
  execFileSync("grub-mkrescue", ["-o", iso, root], { stdio: ["ignore", "ignore", "pipe"] });
  return iso;
}

/**
 * The full command line for ROM `name`'s image as cr3 runs it (and QEMU,
 * but for GRUB ROMs): `-kernel image`, plus `-append <command line>` for a
 * GRUB ROM, whose command line GRUB passes under QEMU.
 */
export function qemuCommand(name: string, image = join(IMAGE_DIR, `${name}.elf`)): string[] {
  const cmdline = grubCommandLine(name);
  const append = cmdline === null || cmdline === "" ? [] : ["-append", cmdline];
  return [...QEMU_ARGS, ...extraQemuArgs(name), "-kernel", image, ...append];
}

/** The QEMU command line for a GRUB ROM: the same, booting the ISO instead of -kernel. */
export function grubQemuCommand(name: string, iso: string): string[] {
  return [...QEMU_ARGS, ...extraQemuArgs(name), "-cdrom", iso];
}

export interface QemuRun {
  /** Serial output from the ROM's first line on (SeaBIOS's banner removed). */
  output: string;
  /** QEMU's exit status: (value << 1) | 1 for a write of value to isa-debug-exit. */
  status: number | null;
  timedOut: boolean;
}

export function runUnderQemu(name: string, image = join(IMAGE_DIR, `${name}.elf`)): QemuRun {
  const scratch = mkdtempSync(join(tmpdir(), `cr3-qemu-${name}-`));
  let run;
  try {
    const command = grubCommandLine(name) === null ? qemuCommand(name, image) : grubQemuCommand(name, buildGrubIso(name, image, scratch));
    run = spawnSync(QEMU, expandScratchDisks(command, scratch), {
      encoding: "latin1",
      timeout: QEMU_TIMEOUT_MS,
      stdio: ["ignore", "pipe", "pipe"],
    });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  const raw = run.stdout ?? "";
  // SeaBIOS's banner ends without a newline ("Booting from ROM..", or
  // "Booting from DVD/CD..." before GRUB), so the ROM's first line may start
  // mid-line.
  const start = raw.indexOf(FIRST_LINE_PREFIX);
  return {
    output: start >= 0 ? raw.slice(start) : raw,
    status: run.status,
    timedOut: run.error !== undefined && (run.error as NodeJS.ErrnoException).code === "ETIMEDOUT",
  };
}

export function qemuVersion(): string {
  return execFileSync(QEMU, ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
}

/** A golden file: a header of '#' lines (QEMU version, command, exit status), then the output. */
export function formatGolden(name: string, run: QemuRun, version: string): string {
  const cmdline = grubCommandLine(name);
  const how =
    cmdline === null
      ? [`# ${QEMU} ${qemuCommand(name).join(" ")}`]
      : [
          `# booted by GRUB 2 (i386-pc), from a fresh ISO made by ${grubVersion()} holding ${IMAGE_DIR}/${name}.elf as ${GRUB_KERNEL_PATH} and this grub.cfg:`,
          ...grubConfig(cmdline).trimEnd().split("\n").map((line) => `#   ${line}`),
          `# ${QEMU} ${grubQemuCommand(name, "rom.iso").join(" ")}`,
          `# cr3 boots the ELF directly: cr3 ${qemuCommand(name).map((arg) => (/\s/.test(arg) ? `'${arg}'` : arg)).join(" ")}`,
        ];
  return [
    `# golden output of ${IMAGE_DIR}/${name}.elf, recorded by npm run golden`,
    `# ${version}`,
    ...how,
    `# exit status: ${run.status}`,
    run.output,
  ].join("\n");
}

export function grubVersion(): string {
  return execFileSync("grub-mkrescue", ["--version"], { encoding: "utf8" }).split("\n")[0].trim();
}

export interface Golden {
  exitStatus: number;
  output: string;
}

export function parseGolden(text: string): Golden {
  const lines = text.split("\n");
  let headerLines = 0;
  let exitStatus = NaN;
  while (headerLines < lines.length && lines[headerLines].startsWith("# ")) {
    const m = /^# exit status: (\d+)$/.exec(lines[headerLines]);
    if (m) exitStatus = Number(m[1]);
    headerLines++;
  }
  return { exitStatus, output: lines.slice(headerLines).join("\n") };
}
