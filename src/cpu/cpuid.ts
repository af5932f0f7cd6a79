// CPUID (SDM Vol. 2 CPUID): vendor GenuineIntel — cr3 follows Intel's SDM and
// kernels pick code paths by vendor — and only the features cr3 implements.
// The set is chosen with QEMU's `-cpu model,+feat,-feat` syntax.

export const FEATURE_NAMES = [
  "tsc",
  "msr",
  "apic",
  "pae",
  "pse",
  "pse36",
  "pge",
  "pat",
  "mtrr",
  "cx8",
  "cmov",
  "clflush",
  "sep",
  "syscall",
  "nx",
  "lm",
  "pdpe1gb",
  "rdtscp",
  "lahf-lm",
  "abm",
  "popcnt",
  "cx16",
  "movbe",
  "pcid",
  "fsgsbase",
  "smep",
  "smap",
  "invpcid",
  "pku",
  "la57",
  "erms",
] as const;
export type FeatureName = (typeof FEATURE_NAMES)[number];

/** Features the `qemu64` model lacks (QEMU's baseline x86-64 CPU). */
const NOT_IN_QEMU64 = new Set<FeatureName>(["pdpe1gb", "rdtscp", "abm", "popcnt", "cx16", "movbe", "pcid", "fsgsbase", "smep", "smap", "invpcid", "pku", "la57", "erms"]);

export const CPU_MODELS = ["max", "host", "qemu64", "base", "cr3"] as const;

export class CpuFeatures {
  readonly enabled: Set<FeatureName>;
  /** Physical-address width (CPUID 0x80000008 EAX[7:0]). */
  readonly physicalBits: number;

  constructor(enabled: Iterable<FeatureName>, physicalBits = 40) {
    this.enabled = new Set(enabled);
    this.physicalBits = physicalBits;
  }

  has(name: FeatureName): boolean {
    return this.enabled.has(name);
  }
}

/** cr3's default: every feature it implements except 5-level paging (as QEMU's `max` without la57). */
export function defaultFeatures(physicalBits = 40, gigabytePages = true): CpuFeatures {
  const set = new Set<FeatureName>(FEATURE_NAMES);
  set.delete("la57");
  if (!gigabytePages) set.delete("pdpe1gb");
  return new CpuFeatures(set, physicalBits);
}

export class CpuModelError extends Error {}

/**
 * Parses `-cpu model[,+feat][,-feat][,feat=on|off]`. Unknown models and
 * features cr3 does not implement are refused with a one-line message.
 */
export function parseCpuModel(spec: string | undefined, physicalBits = 40, gigabytePages = true): CpuFeatures {
  if (spec === undefined) return defaultFeatures(physicalBits, gigabytePages);
  const [model, ...options] = spec.split(",");
  let set: Set<FeatureName>;
  if (model === "max" || model === "host") set = new Set(FEATURE_NAMES);
  else if (model === "cr3") set = new Set(defaultFeatures(physicalBits, gigabytePages).enabled);
  else if (model === "qemu64" || model === "base") set = new Set(FEATURE_NAMES.filter((f) => !NOT_IN_QEMU64.has(f)));
  else throw new CpuModelError(`-cpu: unknown model '${model}' (cr3 offers ${CPU_MODELS.join(", ")})`);
  if (!gigabytePages) set.delete("pdpe1gb");
  for (const option of options) {
    if (option === "") continue;
    let name: string;
    let on: boolean;
    if (option.startsWith("+") || option.startsWith("-")) {
      name = option.slice(1);
      on = option.startsWith("+");
    } else if (option.includes("=")) {
      const [key, value] = option.split("=");
      name = key;
      if (value === "on" || value === "true") on = true;
      else if (value === "off" || value === "false") on = false;
      else throw new CpuModelError(`-cpu: '${option}': expected ${key}=on or ${key}=off`);
    } else {
      name = option;
      on = true;
    }
    if (name === "xd") name = "nx";
    if (name === "lahf_lm") name = "lahf-lm";
    if (!(FEATURE_NAMES as readonly string[]).includes(name)) {
      if (!on) continue; // turning off something cr3 never offers is harmless
      throw new CpuModelError(`-cpu: feature '${name}' is not implemented by cr3 (it offers ${FEATURE_NAMES.join(" ")})`);
    }
    if (on) set.add(name as FeatureName);
    else set.delete(name as FeatureName);
  }
  return new CpuFeatures(set, physicalBits);
}

/** CPUID results for leaf/subleaf into out[0..3] = EAX, EBX, ECX, EDX. */
export function cpuid(features: CpuFeatures, leaf: number, subleaf: number, cr4: number, out: Int32Array): void {
  const f = (name: FeatureName, bit: number): number => (features.has(name) ? 1 << bit : 0);
  out[0] = out[1] = out[2] = out[3] = 0;
  leaf >>>= 0;
  const maxBasic = 0xd;
  const maxExtended = 0x80000008;
  if (leaf > maxBasic && leaf < 0x80000000) leaf = maxBasic; // Intel: out-of-range basic leaves return the highest basic leaf
  switch (leaf) {
    case 0:
      out[0] = maxBasic;
      out[1] = 0x756e6547; // "Genu"
      out[3] = 0x49656e69; // "ineI"
      out[2] = 0x6c65746e; // "ntel"
      return;
    case 1:
      // Family 6, model 0x55 style signature; one logical processor; APIC ID 0.
      out[0] = 0x000506e3;
      out[1] = 0x00010800; // CLFLUSH line 8*8 = 64 bytes, 1 logical CPU
      out[2] = f("cx16", 13) | f("pcid", 17) | f("movbe", 22) | f("popcnt", 23);
      out[3] =
        f("pse", 3) | f("tsc", 4) | f("msr", 5) | f("pae", 6) | f("cx8", 8) | f("apic", 9) | f("sep", 11) | f("mtrr", 12) | f("pge", 13) | f("cmov", 15) | f("pat", 16) | f("pse36", 17) | f("clflush", 19);
      return;
    case 7:
      if (subleaf === 0) {
        out[1] = f("fsgsbase", 0) | f("smep", 7) | f("erms", 9) | f("invpcid", 10) | f("smap", 20);
        out[2] = f("pku", 3) | (features.has("pku") && (cr4 & 0x400000) !== 0 ? 1 << 4 : 0) | f("la57", 16);
      }
      return;
    case 0xa:
      return; // no architectural performance monitoring
    case 0x80000000:
      out[0] = maxExtended;
      return;
    case 0x80000001:
      out[2] = f("lahf-lm", 0) | f("abm", 5);
      out[3] = f("syscall", 11) | f("nx", 20) | f("pdpe1gb", 26) | f("rdtscp", 27) | f("lm", 29);
      return;
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      const brand = "cr3 x86-64 emulator (TypeScript)".padEnd(48, "\0");
      const base = (leaf - 0x80000002) * 16;
      for (let r = 0; r < 4; r++) {
        let v = 0;
        for (let b = 3; b >= 0; b--) v = (v << 8) | brand.charCodeAt(base + r * 4 + b);
        out[r] = v;
      }
      return;
    }
    case 0x80000008:
      out[0] = features.physicalBits | ((features.has("la57") ? 57 : 48) << 8);
      return;
    default:
      return;
  }
}
