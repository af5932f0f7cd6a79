// The cr3 command line: `cr3 kernel.elf [options]`, with QEMU's spellings for
// the flags hobby-OS Makefiles pass to qemu-system-x86_64. Parsing never throws
// for user errors: it returns an ArgsError with one line of explanation.
//
// Option forms: QEMU options take `-x` or `--x` (as QEMU does); options with a
// value take it as the next argument or after `=` (`--timeout=5`). `--` ends
// the options. Messages and warnings carry no "cr3:" prefix; the caller adds it.

import { MAX_RAM_BYTES, MIB } from "../machine/ram.ts";
import { DEFAULT_ICOUNT_SHIFT } from "../machine/clock.ts";
import { DriveList, DriveSpecError, type DriveSpec } from "./drive-spec.ts";

export const DEFAULT_MEMORY_BYTES = 128 * MIB;
export const MIN_MEMORY_BYTES = 2 * MIB;
/** 4 GiB - 64 MiB: RAM offsets must fit in 32 bits. */
export const MAX_MEMORY_BYTES = MAX_RAM_BYTES;

export type SerialTarget = "stdio" | "none" | "null";
export type ClockChoice = "virtual" | "host";
export type StdinTarget = "serial" | "keyboard";
export type DebugconTarget = { readonly kind: "none" } | { readonly kind: "stdio" } | { readonly kind: "file"; readonly path: string };
export type LogItem = "int" | "cpu_reset" | "unimp";
export const LOG_ITEMS: readonly LogItem[] = ["int", "cpu_reset", "unimp"];
export const CPU_MODELS: readonly string[] = ["max", "host", "qemu64", "base", "cr3"];

/** One multiboot module from -initrd: QEMU passes the whole string as its command line. */
export interface InitrdModule {
  /** File to load: the text before the first space. */
  readonly path: string;
  /** The module's command line as QEMU passes it: path and arguments. */
  readonly cmdline: string;
}

/** -device isa-debug-exit: a write of v to iobase exits with status (v << 1) | 1. */
export interface DebugExitConfig {
  readonly iobase: number;
  readonly iosize: number;
}

export interface ParsedArgs {
  readonly ok: true;
  readonly help: boolean;
  readonly version: boolean;
  /** Always set unless help or version is. */
  readonly kernel: string | undefined;
  readonly memoryBytes: number;
  readonly append: string;
  readonly initrd: readonly InitrdModule[];
  /** COM1's backend; stdio unless -serial says otherwise. */
  readonly serial: SerialTarget;
  readonly noReboot: boolean;
  readonly noShutdown: boolean;
  readonly nographic: boolean;
  readonly displayNone: boolean;
  readonly debugExit: DebugExitConfig | undefined;
  /** -d items, each once, in the order first given. */
  readonly log: readonly LogItem[];
  /** -cpu as given (e.g. "max,+la57,-pdpe1gb"); undefined: cr3's default. */
  readonly cpu: string | undefined;
  readonly maxInsns: number | undefined;
  readonly timeoutSeconds: number | undefined;
  readonly stats: boolean;
  /** --stats-json FILE: the statistics as one JSON object. */
  readonly statsJson: string | undefined;
  readonly vga: boolean;
  readonly vgaDump: string | undefined;
  /** -nodefaults: no default devices; of cr3's, only the VGA's PCI function is optional. */
  readonly nodefaults: boolean;
  /** -vga: the card asked for; undefined: QEMU's default (std, unless -nodefaults). */
  readonly vgaCard: "std" | "none" | undefined;
  /** --screenshot FILE: the linear framebuffer as a PNG at exit (multiboot2 graphics kernels). */
  readonly screenshot: string | undefined;
  /** --clock: virtual (instructions drive time; the default) or host. */
  readonly clock: ClockChoice;
  /** -icount shift=N: each instruction is 2^N ns of virtual time. */
  readonly icountShift: number;
  /** -rtc base=: the RTC's start time in ms since the epoch; undefined: the default for the clock. */
  readonly rtcBase: number | undefined;
  /** -debugcon: where port 0xE9's bytes go. */
  readonly debugcon: DebugconTarget;
  /** The IDE drives -drive, -hda..-hdd and -snapshot make, by index (src/cli/drive-spec.ts). */
  readonly drives: readonly DriveSpec[];
  /** --stdin: what host keystrokes feed (COM1 by default with -serial stdio, else the PS/2 keyboard). */
  readonly stdinTarget: StdinTarget | undefined;
  /** --jit on|off: compile hot code (tier 1) or interpret only. */
  readonly jit: boolean;
  /** --jit-threshold N: executions of an entry point before it is compiled (0: compile everything at once). */
  readonly jitThreshold: number | undefined;
  /** One line each for QEMU flags accepted but ignored. */
  readonly warnings: readonly string[];
}

export interface ArgsError {
  readonly ok: false;
  /** One line, naming the offending flag or value. */
  readonly message: string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer E)[] ? E[] : T[K] };
type State = Mutable<ParsedArgs> & { serialCount: number; driveList: DriveList };

/** A handler returns an error message, or nothing when the option is fine. */
interface OptionSpec {
  readonly value: boolean;
  readonly handle: (state: State, value: string, flag: string) => string | undefined;
}

const flag = (handle: (state: State, flag: string) => string | undefined): OptionSpec => ({
  value: false,
  handle: (state, _value, name) => handle(state, name),
});
const valued = (handle: OptionSpec["handle"]): OptionSpec => ({ value: true, handle });
const refuse = (why: string, value = false): OptionSpec => ({
  value,
  handle: (_state, _value, name) => `${name} is not supported yet: ${why}`,
});
const ignore = (why: string, value = false): OptionSpec => ({
  value,
  handle: (state, v, name) => void state.warnings.push(`${value ? `${name} ${v}` : name} ignored: ${why}`),
});

const SOFTWARE_CPU = "cr3 emulates the CPU in software (an interpreter and compiled JavaScript) and uses no hardware acceleration";
const DISKS = "cr3 has IDE hard disks only (-drive, -hda..-hdd), no CD-ROM or floppy";

// Keys are spelled with one dash; `--x` is looked up as `-x`.
const OPTIONS: Record<string, OptionSpec> = {
  "-h": flag((s) => void (s.help = true)),
  "-help": flag((s) => void (s.help = true)),
  "-version": flag((s) => void (s.version = true)),

  "-kernel": valued((s, v) => setKernel(s, v)),
  "-m": valued((s, v, f) => parseMemory(s, v, f)),
  "-append": valued((s, v) => void (s.append = v)),
  "-initrd": valued((s, v, f) => parseInitrd(s, v, f)),
  "-serial": valued((s, v, f) => parseSerial(s, v, f)),
  "-no-reboot": flag((s) => void (s.noReboot = true)),
  "-no-shutdown": flag((s) => void (s.noShutdown = true)),
  "-nographic": flag((s) => void (s.nographic = true)),
  "-display": valued((s, v, f) => parseDisplay(s, v, f)),
  "-device": valued((s, v, f) => parseDevice(s, v, f)),
  "-d": valued((s, v, f) => parseLog(s, v, f)),
  "-cpu": valued((s, v, f) => parseCpu(s, v, f)),
  "-smp": valued((_s, v, f) => parseSmp(v, f)),
  "-machine": valued((s, v, f) => parseMachine(s, v, f)),
  "-M": valued((s, v, f) => parseMachine(s, v, f)),
  "-enable-kvm": ignore(SOFTWARE_CPU),
  "-accel": valued((s, v, f) => parseAccel(s, v, f)),
  "-name": ignore("cr3 has no window to name", true),
  "-nodefaults": flag((s) => void (s.nodefaults = true)),
  "-monitor": valued((s, v, f) => onlyValue(s, v, f, "none", "cr3 has no QEMU monitor")),
  "-vga": valued((s, v, f) => parseVgaCard(s, v, f)),
  "-boot": ignore("cr3 boots the -kernel image, not disks", true),
  "-rtc": valued((s, v, f) => parseRtc(s, v, f)),
  "-icount": valued((s, v, f) => parseIcount(s, v, f)),
  "-debugcon": valued((s, v, f) => parseDebugcon(s, v, f)),
  "-snapshot": flag((s) => void s.driveList.setSnapshot()),
  "-net": valued((s, v, f) => onlyValue(s, v, f, "none", "cr3 has no network devices")),
  "-nic": valued((s, v, f) => onlyValue(s, v, f, "none", "cr3 has no network devices")),

  "-s": refuse("cr3 has no GDB stub"),
  "-S": refuse("cr3 has no GDB stub or monitor to start a paused CPU"),
  "-gdb": refuse("cr3 has no GDB stub", true),
  "-hda": valued((s, v, f) => driveError(() => s.driveList.addHd(f, v))),
  "-hdb": valued((s, v, f) => driveError(() => s.driveList.addHd(f, v))),
  "-hdc": valued((s, v, f) => driveError(() => s.driveList.addHd(f, v))),
  "-hdd": valued((s, v, f) => driveError(() => s.driveList.addHd(f, v))),
  "-drive": valued((s, v, f) => driveError(() => s.driveList.addDrive(v, f))),
  "-fda": refuse(DISKS, true),
  "-fdb": refuse(DISKS, true),
  "-cdrom": refuse(DISKS, true),

  // cr3's own.
  "-max-insns": valued((s, v, f) => parseMaxInsns(s, v, f)),
  "-timeout": valued((s, v, f) => parseTimeout(s, v, f)),
  "-stats": flag((s) => void (s.stats = true)),
  "-stats-json": valued((s, v, f) => (v === "" ? `${f} needs a file name` : void (s.statsJson = v))),
  "-vga-dump": valued((s, v, f) => (v === "" ? `${f} needs a file name` : void (s.vgaDump = v))),
  "-screenshot": valued((s, v, f) => (v === "" ? `${f} needs a file name` : void (s.screenshot = v))),
  "-clock": valued((s, v, f) => parseClock(s, v, f)),
  "-stdin": valued((s, v, f) => parseStdin(s, v, f)),
  "-jit": valued((s, v, f) => parseJit(s, v, f)),
  "-jit-threshold": valued((s, v, f) => parseJitThreshold(s, v, f)),
};
// `--vga` is cr3's live text screen; `-vga std` is QEMU's card. QEMU also
// spells its option `--vga std`, so `--vga` before a QEMU card type is QEMU's.
const CR3_VGA = flag((s) => void (s.vga = true));
const QEMU_VGA_TYPES = ["std", "none", "cirrus", "vmware", "qxl", "virtio", "cg3", "tcx"];

function lookup(name: string, next: string | undefined): OptionSpec | undefined {
  if (name === "--vga" && !(next !== undefined && QEMU_VGA_TYPES.includes(next))) return CR3_VGA;
  const key = name.startsWith("--") ? name.slice(1) : name;
  return Object.hasOwn(OPTIONS, key) ? OPTIONS[key] : undefined;
}

export function parseArgs(argv: readonly string[]): ParsedArgs | ArgsError {
  const state: State = {
    ok: true,
    help: false,
    version: false,
    kernel: undefined,
    memoryBytes: DEFAULT_MEMORY_BYTES,
    append: "",
    initrd: [],
    serial: "stdio",
    noReboot: false,
    noShutdown: false,
    nographic: false,
    displayNone: false,
    debugExit: undefined,
    log: [],
    cpu: undefined,
    maxInsns: undefined,
    timeoutSeconds: undefined,
    stats: false,
    statsJson: undefined,
    vga: false,
    vgaDump: undefined,
    screenshot: undefined,
    nodefaults: false,
    vgaCard: undefined,
    clock: "virtual",
    icountShift: DEFAULT_ICOUNT_SHIFT,
    rtcBase: undefined,
    debugcon: { kind: "none" },
    drives: [],
    stdinTarget: undefined,
    jit: true,
    jitThreshold: undefined,
    warnings: [],
    serialCount: 0,
    driveList: new DriveList(),
  };
  const fail = (message: string): ArgsError => ({ ok: false, message });

  let optionsEnded = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (optionsEnded || !arg.startsWith("-") || arg === "-") {
      const error = setKernel(state, arg);
      if (error) return fail(error);
      continue;
    }
    if (arg === "--") {
      optionsEnded = true;
      continue;
    }
    let name = arg;
    let inline: string | undefined;
    let spec = lookup(arg, argv[i + 1]);
    const eq = arg.indexOf("=");
    if (!spec && eq > 0) {
      name = arg.slice(0, eq);
      inline = arg.slice(eq + 1);
      spec = lookup(name, inline);
    }
    if (!spec) return fail(`unknown option '${name}' (see cr3 --help)`);
    let value = "";
    if (spec.value) {
      if (inline !== undefined) value = inline;
      else if (i + 1 < argv.length) value = argv[++i]!;
      else return fail(`${name} needs a value`);
    } else if (inline !== undefined) {
      return fail(`${name} takes no value, got '${name}=${inline}'`);
    }
    const error = spec.handle(state, value, name);
    if (error) return fail(error);
  }

  if (state.kernel === undefined && !state.help && !state.version) {
    return fail("no kernel given: use cr3 kernel.elf [options] or -kernel kernel.elf");
  }
  state.drives = state.driveList.specs();
  const { serialCount: _, driveList: __, ...parsed } = state;
  return parsed;
}

function setKernel(s: State, path: string): string | undefined {
  if (path === "") return "the kernel path is empty";
  if (s.kernel !== undefined) {
    return `two kernels given, '${s.kernel}' and '${path}': cr3 boots exactly one`;
  }
  s.kernel = path;
  return undefined;
}

const SIZE_UNITS: Record<string, number> = {
  b: 1, k: 1024, m: MIB, g: 1024 * MIB, t: 1024 * 1024 * MIB,
};

function formatSize(bytes: number): string {
  if (bytes % (1024 * MIB) === 0) return `${bytes / (1024 * MIB)} GiB`;
  if (bytes % MIB === 0) return `${bytes / MIB} MiB`;
  return `${(bytes / MIB).toFixed(2)} MiB`;
}

// `-m [size=]N[unit][,slots=n,maxmem=size]`; a bare number means MiB, as in QEMU.
function parseMemory(s: State, value: string, f: string): string | undefined {
  let size: string | undefined;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? (size === undefined ? "size" : part) : part.slice(0, eq);
    const v = eq < 0 ? part : part.slice(eq + 1);
    if (key === "size") size = v;
    else if (key === "slots" || key === "maxmem") {
      return `${f} ${key}= is not supported: cr3 has no memory hotplug`;
    } else return `${f}: unknown property '${key}' (cr3 accepts ${f} [size=]N[K|M|G])`;
  }
  const match = /^(\d+(?:\.\d+)?|\.\d+)([bkmgt])?$/i.exec(size ?? "");
  if (!match) return `${f} '${value}' is not a memory size (e.g. 256, 256M, 1G)`;
  const unit = SIZE_UNITS[(match[2] ?? "m").toLowerCase()]!;
  // QEMU rounds RAM up to 8 KiB.
  const bytes = Math.ceil((Number(match[1]) * unit) / 8192) * 8192;
  if (bytes < MIN_MEMORY_BYTES) {
    return `${f} ${value} is too little memory: cr3 needs at least 2 MiB`;
  }
  if (bytes > MAX_MEMORY_BYTES) {
    return `${f} ${value} is more memory than cr3 supports: at most ${formatSize(MAX_MEMORY_BYTES)} (4 GiB - 64 MiB), since RAM offsets are 32-bit`;
  }
  s.memoryBytes = bytes;
  return undefined;
}

// `-initrd "a arg,b"`: modules split at commas (",," is a literal comma), each
// with its own command line after the first space.
function parseInitrd(s: State, value: string, f: string): string | undefined {
  const modules: InitrdModule[] = [];
  let current = "";
  for (let i = 0; i <= value.length; i++) {
    const c = value[i];
    if (c === "," && value[i + 1] === ",") {
      current += ",";
      i++;
    } else if (c === "," || c === undefined) {
      const space = current.indexOf(" ");
      const path = space < 0 ? current : current.slice(0, space);
      if (path === "") return `${f} '${value}' has an empty module name`;
      modules.push({ path, cmdline: current });
      current = "";
    } else {
      current += c;
    }
  }
  s.initrd = modules; // the last -initrd wins, as in QEMU
  return undefined;
}

function parseSerial(s: State, value: string, f: string): string | undefined {
  if (value !== "stdio" && value !== "none" && value !== "null") {
    return `${f} ${value} is not supported: cr3 accepts -serial stdio, none or null`;
  }
  // Later -serial options are COM2, COM3...: cr3 has only COM1.
  if (s.serialCount++ > 0) {
    if (value === "stdio") return `${f} stdio given twice: cr3 has one serial port (COM1)`;
    return undefined;
  }
  s.serial = value;
  return undefined;
}

function parseDisplay(s: State, value: string, f: string): string | undefined {
  if (value.split(",")[0] !== "none") {
    return `${f} ${value} is not supported: cr3 has no graphical display (use -display none; --vga shows the text screen)`;
  }
  s.displayNone = true;
  return undefined;
}

// Like strtoul with base 0: 0x hex, leading 0 octal, else decimal.
function parseInteger(text: string): number | undefined {
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(text)) n = parseInt(text.slice(2), 16);
  else if (/^0[0-7]+$/.test(text)) n = parseInt(text.slice(1), 8);
  else if (/^\d+$/.test(text)) n = parseInt(text, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}

function parseDevice(s: State, value: string, f: string): string | undefined {
  const [driver = "", ...props] = value.split(",");
  if (driver !== "isa-debug-exit") {
    return `${f} ${driver} is not supported: cr3 has only -device isa-debug-exit`;
  }
  if (s.debugExit) return `${f} isa-debug-exit given twice: cr3 has one`;
  let iobase = 0x501; // QEMU's defaults
  let iosize = 0x02;
  for (const prop of props) {
    const eq = prop.indexOf("=");
    const key = eq < 0 ? prop : prop.slice(0, eq);
    const n = eq < 0 ? undefined : parseInteger(prop.slice(eq + 1));
    if (key !== "iobase" && key !== "iosize") {
      return `${f} isa-debug-exit: unknown property '${key}' (it has iobase and iosize)`;
    }
    if (n === undefined) return `${f} isa-debug-exit: ${key} needs a number, got '${prop}'`;
    if (key === "iobase") iobase = n;
    else iosize = n;
  }
  if (iosize < 1 || iobase + iosize > 0x10000) {
    return `${f} isa-debug-exit: ports ${iobase.toString(16)}h..+${iosize} do not fit in the 64 KiB I/O space`;
  }
  s.debugExit = { iobase, iosize };
  return undefined;
}

function parseLog(s: State, value: string, f: string): string | undefined {
  for (const item of value.split(",")) {
    if (!(LOG_ITEMS as readonly string[]).includes(item)) {
      return `${f} ${item}: unknown log item (cr3 knows ${LOG_ITEMS.join(", ")})`;
    }
    if (!s.log.includes(item as LogItem)) s.log.push(item as LogItem);
  }
  return undefined;
}

// `-cpu model[,+feat,-feat,feat=on]`: recorded as given; the CPU interprets it.
function parseCpu(s: State, value: string, f: string): string | undefined {
  const [model = "", ...features] = value.split(",");
  if (!CPU_MODELS.includes(model)) {
    return `${f} ${model} is not supported: cr3 accepts ${CPU_MODELS.join(", ")}`;
  }
  for (const feature of features) {
    if (!/^([+-][\w.-]+|[\w.-]+=[\w.-]+)$/.test(feature)) {
      return `${f} ${value}: '${feature}' is not a feature (use +name, -name or name=value)`;
    }
  }
  s.cpu = value;
  return undefined;
}

// `-smp N` or `-smp cpus=N,sockets=..,cores=..,threads=..`: one CPU only.
function parseSmp(value: string, f: string): string | undefined {
  let total = 1;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? "cpus" : part.slice(0, eq);
    const n = parseInteger(eq < 0 ? part : part.slice(eq + 1));
    if (!["cpus", "maxcpus", "sockets", "dies", "clusters", "cores", "threads"].includes(key) || n === undefined) {
      return `${f} '${value}' is not understood (cr3 accepts -smp 1)`;
    }
    total = Math.max(total, n);
  }
  return total > 1 ? `${f} ${value} is not supported: cr3 emulates one CPU` : undefined;
}

const ACCELERATORS = ["kvm", "tcg", "hvf", "whpx"];

function parseAccel(s: State, value: string, f: string): string | undefined {
  const name = value.split(",")[0]!;
  if (!ACCELERATORS.includes(name)) return `${f} ${value}: unknown accelerator '${name}'`;
  s.warnings.push(`${f} ${value} ignored: ${SOFTWARE_CPU}`);
  return undefined;
}

// `-machine [type=]pc|q35[,accel=kvm]`: cr3 has one i440fx-like memory map.
function parseMachine(s: State, value: string, f: string): string | undefined {
  let type: string | undefined;
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? (type === undefined ? "type" : part) : part.slice(0, eq);
    const v = eq < 0 ? part : part.slice(eq + 1);
    if (key === "type") type = v;
    else if (key === "accel") {
      if (!v.split(":").every((a) => ACCELERATORS.includes(a))) return `${f} ${value}: unknown accelerator '${v}'`;
    } else return `${f} ${value}: property '${key}' is not supported`;
  }
  if (type !== undefined && !/^(pc|q35|pc-i440fx-[\d.]+|pc-q35-[\d.]+)$/.test(type)) {
    return `${f} ${type} is not supported: cr3 emulates a PC (-machine pc or q35)`;
  }
  s.warnings.push(`${f} ${value} ignored: cr3 always has its i440fx-like PC memory map`);
  return undefined;
}

/** Accept one harmless value with a warning; refuse the others. */
function onlyValue(s: State, value: string, f: string, accepted: string, why: string): string | undefined {
  if (value !== accepted) return `${f} ${value} is not supported: cr3 accepts only ${f} ${accepted} (${why})`;
  s.warnings.push(`${f} ${value} ignored: ${why}`);
  return undefined;
}

function parseMaxInsns(s: State, value: string, f: string): string | undefined {
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n <= 0) {
    return `${f} needs a positive whole number of instructions, got '${value}'`;
  }
  s.maxInsns = n;
  return undefined;
}

function parseTimeout(s: State, value: string, f: string): string | undefined {
  const n = /^(\d+(\.\d*)?|\.\d+)$/.test(value) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0) {
    return `${f} needs a positive number of seconds, got '${value}'`;
  }
  s.timeoutSeconds = n;
  return undefined;
}

function parseClock(s: State, value: string, f: string): string | undefined {
  if (value !== "virtual" && value !== "host") return `${f} ${value}: cr3 accepts ${f} virtual or ${f} host`;
  s.clock = value;
  return undefined;
}

function parseJit(s: State, value: string, f: string): string | undefined {
  if (value !== "on" && value !== "off") return `${f} ${value}: cr3 accepts ${f} on or ${f} off`;
  s.jit = value === "on";
  return undefined;
}

function parseJitThreshold(s: State, value: string, f: string): string | undefined {
  if (!/^\d+$/.test(value) || Number(value) > 0x3fffffff) return `${f} ${value}: expected a whole number of executions (0 compiles everything at once)`;
  s.jitThreshold = Number(value);
  return undefined;
}

function parseStdin(s: State, value: string, f: string): string | undefined {
  if (value !== "serial" && value !== "keyboard") return `${f} ${value}: cr3 accepts ${f} serial or ${f} keyboard`;
  s.stdinTarget = value;
  return undefined;
}

// `-icount [shift=]N|auto[,sleep=on|off][,align=..]`: virtual time at 2^N ns per instruction.
function parseIcount(s: State, value: string, f: string): string | undefined {
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? "shift" : part.slice(0, eq);
    const v = eq < 0 ? part : part.slice(eq + 1);
    if (key === "shift") {
      if (v === "auto") {
        s.warnings.push(`${f} shift=auto: cr3 uses its fixed default shift of ${DEFAULT_ICOUNT_SHIFT} (${2 ** DEFAULT_ICOUNT_SHIFT} ns per instruction)`);
        s.icountShift = DEFAULT_ICOUNT_SHIFT;
        continue;
      }
      const n = /^\d+$/.test(v) ? Number(v) : NaN;
      if (!(n >= 0 && n <= 10)) return `${f} shift=${v}: the shift must be 0..10 (2^shift ns per instruction)`;
      s.icountShift = n;
    } else if (key === "sleep" || key === "align" || key === "rr" || key === "rrfile") {
      s.warnings.push(`${f} ${part} ignored: cr3's virtual clock jumps over idle time`);
    } else {
      return `${f} ${value}: unknown property '${key}' (cr3 accepts ${f} shift=N)`;
    }
  }
  s.clock = "virtual";
  return undefined;
}

// `-rtc base=utc|localtime|YYYY-MM-DD[THH:MM:SS][,clock=host|rt|vm][,driftfix=..]`.
function parseRtc(s: State, value: string, f: string): string | undefined {
  for (const part of value.split(",")) {
    const eq = part.indexOf("=");
    const key = eq < 0 ? part : part.slice(0, eq);
    const v = eq < 0 ? "" : part.slice(eq + 1);
    if (key === "base") {
      if (v === "utc") s.rtcBase = Date.now();
      else if (v === "localtime") s.rtcBase = Date.now() - new Date().getTimezoneOffset() * 60000;
      else {
        const m = /^(\d{4})-(\d{2})-(\d{2})(?:T(\d{2}):(\d{2}):(\d{2}))?$/.exec(v);
        if (!m) return `${f} base=${v}: expected utc, localtime or a date like 2006-06-17T16:01:21`;
        const ms = Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
        if (!Number.isFinite(ms)) return `${f} base=${v} is not a valid date`;
        s.rtcBase = ms;
      }
    } else if (key === "clock") {
      if (v === "host") s.clock = "host";
      else if (v !== "vm" && v !== "rt") return `${f} clock=${v}: expected host, rt or vm`;
    } else if (key === "driftfix") {
      s.warnings.push(`${f} ${part} ignored: cr3's RTC does not drift`);
    } else {
      return `${f} ${value}: unknown property '${key}' (cr3 accepts base= and clock=)`;
    }
  }
  return undefined;
}

// `-debugcon stdio|none|null|file:PATH`: QEMU's port 0xE9 console.
function parseDebugcon(s: State, value: string, f: string): string | undefined {
  if (value === "stdio") s.debugcon = { kind: "stdio" };
  else if (value === "none" || value === "null") s.debugcon = { kind: "none" };
  else if (value.startsWith("file:") && value.length > 5) s.debugcon = { kind: "file", path: value.slice(5) };
  else return `${f} ${value} is not supported: cr3 accepts ${f} stdio, none or file:PATH`;
  return undefined;
}

// `-vga std|none`: the standard VGA's PCI function (1234:1111, its framebuffer
// BAR at 0xFD000000) is there as on QEMU; the text buffer at 0xB8000 always is.
function parseVgaCard(s: State, value: string, f: string): string | undefined {
  if (value !== "std" && value !== "none") {
    return `${f} ${value} is not supported: cr3 accepts ${f} std or ${f} none (its VGA is QEMU's standard VGA)`;
  }
  s.vgaCard = value;
  return undefined;
}

/** Runs a drive-list change; a DriveSpecError becomes the option's one-line message. */
function driveError(change: () => void): string | undefined {
  try {
    change();
    return undefined;
  } catch (error) {
    if (error instanceof DriveSpecError) return error.message;
    throw error;
  }
}
