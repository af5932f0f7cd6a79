// Access rights of a translation (SDM 4.6) and #PF error codes (SDM 4.7).
//
// A page's rights are five bits combined over every level of the walk:
// user (U/S=1 at all levels), writable (R/W=1 at all levels), no-execute (XD=1
// at any level, with EFER.NXE=1), and the protection key's AD and WD bits from
// PKRU (for user-mode addresses under IA-32e paging with CR4.PKE=1).
// `denialReason` is the rule book, written as the SDM states it; the walker
// uses a 32-entry table built from it whenever CR0.WP, CR4.SMEP or CR4.SMAP
// change, so a walk resolves all nine access classes with one lookup.

import {
  ACCESS_CLASS_COUNT,
  KIND_FETCH,
  KIND_WRITE,
  PF_I,
  PF_U,
  PF_W,
  PRIV_SUPERVISOR,
  PRIV_USER,
  kindOf,
  privilegeOf,
} from "./access.ts";

export const RIGHT_USER = 1;
export const RIGHT_WRITABLE = 2;
export const RIGHT_NO_EXECUTE = 4;
export const RIGHT_PK_ACCESS_DISABLED = 8;
export const RIGHT_PK_WRITE_DISABLED = 16;

// Why an access was refused. NOT_PRESENT and RESERVED come from the walk
// itself; the others from the rights check below.
export const DENY_NONE = 0;
export const DENY_NOT_PRESENT = 1;
export const DENY_RESERVED = 2;
export const DENY_SUPERVISOR_PAGE = 3;
export const DENY_SMAP = 4;
export const DENY_SMEP = 5;
export const DENY_READ_ONLY = 6;
export const DENY_NO_EXECUTE = 7;
export const DENY_PK_ACCESS = 8;
export const DENY_PK_WRITE = 9;

export interface RightsControls {
  /** CR0.WP */
  readonly wp: boolean;
  /** CR4.SMEP */
  readonly smep: boolean;
  /** CR4.SMAP */
  readonly smap: boolean;
}

/**
 * The first rule that refuses access of class `cls` to a page with `rights`,
 * or DENY_NONE. Protection-key bits in `rights` must already be zero when
 * protection keys do not apply (not IA-32e paging, CR4.PKE=0, or a
 * supervisor-mode address).
 */
export function denialReason(cls: number, rights: number, c: RightsControls): number {
  const kind = kindOf(cls);
  const priv = privilegeOf(cls);
  const user = (rights & RIGHT_USER) !== 0;
  const writable = (rights & RIGHT_WRITABLE) !== 0;
  // SDM 4.6.1: user-mode accesses may touch only user-mode addresses.
  if (priv === PRIV_USER && !user) return DENY_SUPERVISOR_PAGE;
  if (kind === KIND_FETCH) {
    // SDM 4.6.1: with CR4.SMEP=1, supervisor fetches from user-mode addresses fault.
    if (priv !== PRIV_USER && c.smep && user) return DENY_SMEP;
    // SDM 4.6.1: XD=1 at any level forbids fetches (only meaningful with EFER.NXE=1).
    if ((rights & RIGHT_NO_EXECUTE) !== 0) return DENY_NO_EXECUTE;
    return DENY_NONE;
  }
  // SDM 4.6.1: with CR4.SMAP=1, supervisor data accesses to user-mode addresses
  // fault if implicit or EFLAGS.AC=0 (the PRIV_SUPERVISOR class).
  if (priv === PRIV_SUPERVISOR && c.smap && user) return DENY_SMAP;
  // SDM 4.6.1: user writes need R/W=1; supervisor writes only if CR0.WP=1.
  if (kind === KIND_WRITE && !writable && (priv === PRIV_USER || c.wp)) return DENY_READ_ONLY;
  // SDM 4.6.2: AD forbids all data accesses; WD forbids user writes, and
  // supervisor writes when CR0.WP=1.
  if ((rights & RIGHT_PK_ACCESS_DISABLED) !== 0) return DENY_PK_ACCESS;
  if (kind === KIND_WRITE && (rights & RIGHT_PK_WRITE_DISABLED) !== 0 && (priv === PRIV_USER || c.wp)) {
    return DENY_PK_WRITE;
  }
  return DENY_NONE;
}

/** SDM 4.7: PK is set for any protection-key violation, whatever else also failed. */
export function isProtectionKeyViolation(cls: number, rights: number, wp: boolean): boolean {
  const kind = kindOf(cls);
  if (kind === KIND_FETCH) return false;
  if ((rights & RIGHT_PK_ACCESS_DISABLED) !== 0) return true;
  return (
    kind === KIND_WRITE &&
    (rights & RIGHT_PK_WRITE_DISABLED) !== 0 &&
    (privilegeOf(cls) === PRIV_USER || wp)
  );
}

/**
 * The W/R, U/S and I/D bits of a #PF error code for an access of class `cls`.
 * SDM 4.7: I/D is reported only if CR4.SMEP=1, or PAE/IA-32e paging with EFER.NXE=1.
 */
export function accessErrorBits(cls: number, reportFetch: boolean): number {
  const kind = kindOf(cls);
  let code = 0;
  if (kind === KIND_WRITE) code |= PF_W;
  if (privilegeOf(cls) === PRIV_USER) code |= PF_U;
  if (kind === KIND_FETCH && reportFetch) code |= PF_I;
  return code;
}

/**
 * For each of the 32 rights combinations: bits 0..8 the classes allowed,
 * bits 16..24 the classes that would see a protection-key violation.
 */
export function buildRightsTable(c: RightsControls): Int32Array {
  const table = new Int32Array(32);
  for (let rights = 0; rights < 32; rights++) {
    let entry = 0;
    for (let cls = 0; cls < ACCESS_CLASS_COUNT; cls++) {
      if (denialReason(cls, rights, c) === DENY_NONE) entry |= 1 << cls;
      if (isProtectionKeyViolation(cls, rights, c.wp)) entry |= 1 << (16 + cls);
    }
    table[rights] = entry;
  }
  return table;
}

export const DENIAL_TEXT: readonly string[] = [
  "allowed",
  "not present",
  "reserved bit set",
  "supervisor-only page accessed from user mode",
  "user page accessed by supervisor with CR4.SMAP=1 and EFLAGS.AC=0 (or an implicit access)",
  "instruction fetch by supervisor from a user page with CR4.SMEP=1",
  "read-only page",
  "execute-disable (XD) page",
  "protection key forbids access (PKRU.AD=1)",
  "protection key forbids writes (PKRU.WD=1)",
];
