// Access classes: every memory access the CPU makes is one of nine classes, a
// small integer the CPU computes once per instruction (not per access) from
// CPL, EFLAGS.AC and the access kind. The TLB stores, per entry, a bitmask of
// the classes it allows, so a permission check on a hit is one shift and AND.
//
//   class = kind + 3 * privilege
//   kind:      0 read, 1 write, 2 instruction fetch
//   privilege: 0 user-mode access (CPL 3, explicit)
//              1 supervisor-mode access, SMAP enforced (CPL < 3 with AC=0,
//                or any implicit supervisor access such as a GDT/IDT/TSS read)
//              2 supervisor-mode access with EFLAGS.AC=1 (SMAP suspended for
//                explicit data accesses, SDM 4.6.1)

export const KIND_READ = 0;
export const KIND_WRITE = 1;
export const KIND_FETCH = 2;

export const PRIV_USER = 0;
export const PRIV_SUPERVISOR = 1;
export const PRIV_SUPERVISOR_AC = 2;

export const USER_READ = 0;
export const USER_WRITE = 1;
export const USER_FETCH = 2;
export const SUPERVISOR_READ = 3;
export const SUPERVISOR_WRITE = 4;
export const SUPERVISOR_FETCH = 5;
export const SUPERVISOR_AC_READ = 6;
export const SUPERVISOR_AC_WRITE = 7;
/** Fetches ignore EFLAGS.AC; this class behaves exactly as SUPERVISOR_FETCH. */
export const SUPERVISOR_AC_FETCH = 8;

export const ACCESS_CLASS_COUNT = 9;
export const ALL_CLASSES = (1 << ACCESS_CLASS_COUNT) - 1;
export const WRITE_CLASSES = (1 << USER_WRITE) | (1 << SUPERVISOR_WRITE) | (1 << SUPERVISOR_AC_WRITE);
export const FETCH_CLASSES = (1 << USER_FETCH) | (1 << SUPERVISOR_FETCH) | (1 << SUPERVISOR_AC_FETCH);

export function accessClass(kind: number, privilege: number): number {
  return kind + 3 * privilege;
}

export function kindOf(cls: number): number {
  return cls % 3;
}

export function privilegeOf(cls: number): number {
  return (cls / 3) | 0;
}

/** The class for an access by code at `cpl`, with EFLAGS.AC = `ac`. */
export function classFor(kind: number, cpl: number, ac: boolean): number {
  if (cpl === 3) return kind;
  return kind + 3 * (ac && kind !== KIND_FETCH ? PRIV_SUPERVISOR_AC : PRIV_SUPERVISOR);
}

// #PF error code bits (SDM 4.7, Figure 4-12).
export const PF_P = 1 << 0;
export const PF_W = 1 << 1;
export const PF_U = 1 << 2;
export const PF_RSVD = 1 << 3;
export const PF_I = 1 << 4;
export const PF_PK = 1 << 5;

export const CLASS_NAMES = [
  "user read",
  "user write",
  "user fetch",
  "supervisor read",
  "supervisor write",
  "supervisor fetch",
  "supervisor read (AC=1)",
  "supervisor write (AC=1)",
  "supervisor fetch (AC=1)",
] as const;
