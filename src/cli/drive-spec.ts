// QEMU's disk options, read into drive specifications for the IDE channels:
//
//   -drive file=X[,format=raw][,index=N][,if=ide][,media=disk]
//          [,snapshot=on|off][,readonly=on|off][,bus=B,unit=U]
//   -hda X  -hdb X  -hdc X  -hdd X       (indexes 0 to 3)
//   -snapshot                            (snapshot=on for every drive that
//                                         does not say snapshot=off)
//
// As in QEMU: options are comma-separated key=value pairs where ",," is a
// comma inside a value; a later key overrides an earlier one; a bare key
// means on; booleans are on/off, yes/no, true/false. A drive without an index
// (or bus/unit) takes the lowest free one, in command-line order, and a taken
// index is an error. Index N is bus N / 2, unit N % 2: 0 primary master,
// 1 primary slave, 2 secondary master, 3 secondary slave. Without format=,
// QEMU probes the image; cr3 reads every image as raw, without QEMU's warning.
//
// cr3 extension: readonly=on gives read-only media whose writes fail with
// ABRT (QEMU refuses read-only IDE disks outright).

export interface DriveSpec {
  readonly file: string;
  /** 0 primary master, 1 primary slave, 2 secondary master, 3 secondary slave. */
  readonly index: number;
  readonly format: "raw";
  readonly snapshot: boolean;
  readonly readonly: boolean;
  readonly media: "disk";
}

/** A refused drive option; the message is one line naming the option. */
export class DriveSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DriveSpecError";
  }
}

export const MAX_IDE_DRIVES = 4;
/** -hda … -hdd and their indexes. */
export const HD_OPTIONS: Readonly<Record<string, number>> = { "-hda": 0, "-hdb": 1, "-hdc": 2, "-hdd": 3 };

/** One parsed drive before -snapshot is known: `snapshot` undefined means not given. */
export interface DriveRequest {
  readonly file: string;
  /** undefined: the lowest free index when added. */
  readonly index: number | undefined;
  readonly snapshot: boolean | undefined;
  readonly readonly: boolean;
}

// Keys QEMU takes that change nothing a guest on cr3 can see.
const IGNORED_KEYS = new Set(["id", "cache", "aio", "discard", "detect-zeroes", "werror", "rerror", "auto-read-only"]);

/**
 * Parses the value of one -drive option. `nextIndex` is used when the option
 * names no index (pass the lowest free one; `DriveList` does). Throws
 * DriveSpecError.
 */
export function parseDriveOption(value: string, nextIndex: number, flag = "-drive"): DriveSpec & { readonly snapshotGiven: boolean } {
  const request = parseDriveRequest(value, flag);
  return {
    file: request.file,
    index: request.index ?? nextIndex,
    format: "raw",
    snapshot: request.snapshot ?? false,
    readonly: request.readonly,
    media: "disk",
    snapshotGiven: request.snapshot !== undefined,
  };
}

/** Parses a -drive value without assigning an index. Throws DriveSpecError. */
export function parseDriveRequest(value: string, flag = "-drive"): DriveRequest {
  const fail = (why: string): never => {
    throw new DriveSpecError(`${flag} ${value}: ${why}`);
  };
  const options = new Map<string, string>();
  for (const [key, v] of splitOptions(value)) {
    if (key === "") fail("empty option name");
    options.set(key, v);
  }

  let file: string | undefined;
  let index: number | undefined;
  let bus: number | undefined;
  let unit: number | undefined;
  let snapshot: boolean | undefined;
  let readonly = false;
  for (const [key, v] of options) {
    switch (key) {
      case "file":
        file = v;
        break;
      case "format":
        if (v !== "raw") {
          fail(`format=${v} is not supported: cr3 reads raw images only (convert with: qemu-img convert -O raw IMAGE OUT.img)`);
        }
        break;
      case "if":
        if (v !== "ide") fail(`if=${v} is not supported: cr3 has IDE disks only (if=ide)`);
        break;
      case "media":
        if (v === "cdrom") fail("media=cdrom is not supported: cr3 has no CD-ROM drive");
        if (v !== "disk") fail(`media=${v}: QEMU's media is disk or cdrom`);
        break;
      case "index":
        index = parseSmallInteger(v, fail, key);
        break;
      case "bus":
        bus = parseSmallInteger(v, fail, key);
        break;
      case "unit":
        unit = parseSmallInteger(v, fail, key);
        break;
      case "snapshot":
        snapshot = parseBoolean(v, fail, key);
        break;
      case "readonly":
        readonly = parseBoolean(v, fail, key);
        break;
      default:
        if (!IGNORED_KEYS.has(key)) {
          fail(`option '${key}' is not supported (cr3 takes file, format, index, bus, unit, if, media, snapshot, readonly)`);
        }
    }
  }

  if (file === undefined || file === "") fail("missing file=: which image should the drive read?");
  if (index !== undefined && (bus !== undefined || unit !== undefined)) fail("index= cannot be combined with bus= or unit=");
  if (bus !== undefined || unit !== undefined) {
    if ((unit ?? 0) > 1) fail(`unit=${unit} does not exist: an IDE bus has units 0 and 1`);
    index = (bus ?? 0) * 2 + (unit ?? 0);
  }
  if (index !== undefined && index >= MAX_IDE_DRIVES) {
    fail(`index=${index} is out of range: cr3 has two IDE channels, indexes 0 to ${MAX_IDE_DRIVES - 1}`);
  }
  return { file: file!, index, snapshot, readonly };
}

/**
 * The drives of one command line, in order. args.ts keeps one and calls
 * addDrive for -drive, addHd for -hda…-hdd, setSnapshot for -snapshot, then
 * specs() once all options are read.
 */
export class DriveList {
  private readonly requests: { request: DriveRequest; index: number }[] = [];
  private snapshotAll = false;

  /** -drive VALUE. Throws DriveSpecError. */
  addDrive(value: string, flag = "-drive"): void {
    this.add(parseDriveRequest(value, flag), `${flag} ${value}`);
  }

  /** -hda/-hdb/-hdc/-hdd FILE. Throws DriveSpecError. */
  addHd(flag: string, file: string): void {
    const index = HD_OPTIONS[flag.startsWith("--") ? flag.slice(1) : flag];
    if (index === undefined) throw new DriveSpecError(`${flag}: not a hard disk option (-hda, -hdb, -hdc or -hdd)`);
    if (file === "") throw new DriveSpecError(`${flag} needs an image file name`);
    this.add({ file, index, snapshot: undefined, readonly: false }, `${flag} ${file}`);
  }

  /** -snapshot: every drive not given snapshot=off keeps its writes in memory. */
  setSnapshot(): void {
    this.snapshotAll = true;
  }

  /** The drives, by index. */
  specs(): DriveSpec[] {
    return this.requests
      .map(({ request, index }) => ({
        file: request.file,
        index,
        format: "raw" as const,
        snapshot: request.snapshot ?? this.snapshotAll,
        readonly: request.readonly,
        media: "disk" as const,
      }))
      .sort((a, b) => a.index - b.index);
  }

  private add(request: DriveRequest, option: string): void {
    let index = request.index;
    if (index === undefined) {
      index = 0;
      while (this.requests.some((r) => r.index === index)) index++;
      if (index >= MAX_IDE_DRIVES) {
        throw new DriveSpecError(`${option}: no free IDE position (cr3 has ${MAX_IDE_DRIVES}: indexes 0 to ${MAX_IDE_DRIVES - 1})`);
      }
    } else {
      const taken = this.requests.find((r) => r.index === index);
      if (taken) {
        throw new DriveSpecError(`${option}: index ${index} is already taken by '${taken.request.file}'`);
      }
    }
    this.requests.push({ request, index });
  }
}

/** QEMU's option syntax: key=value pairs split at single commas, ",," is a comma. */
function splitOptions(value: string): [string, string][] {
  const parts: string[] = [];
  let current = "";
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!;
    if (c === ",") {
      if (value[i + 1] === ",") {
        current += ",";
        i++;
        continue;
      }
      parts.push(current);
      current = "";
      continue;
    }
    current += c;
  }
  parts.push(current);
  return parts
    .filter((part, i) => part !== "" || i < parts.length - 1)
    .map((part) => {
      const eq = part.indexOf("=");
      // A bare key is QEMU's short form of key=on.
      return eq < 0 ? [part, "on"] : [part.slice(0, eq), part.slice(eq + 1)];
    });
}

function parseBoolean(v: string, fail: (why: string) => never, key: string): boolean {
  if (v === "on" || v === "yes" || v === "true" || v === "y") return true;
  if (v === "off" || v === "no" || v === "false" || v === "n") return false;
  return fail(`${key} expects on or off, got '${v}'`);
}

function parseSmallInteger(v: string, fail: (why: string) => never, key: string): number {
  if (!/^\d{1,9}$/.test(v)) return fail(`${key} needs a number, got '${v}'`);
  return Number(v);
}
