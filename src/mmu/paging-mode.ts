// The paging modes (SDM 4.1.1, Table 4-1) and the control bits that select them.

export const MODE_NONE = 0; // CR0.PG=0: linear = physical
export const MODE_32BIT = 1; // CR0.PG=1, CR4.PAE=0
export const MODE_PAE = 2; // CR0.PG=1, CR4.PAE=1, EFER.LMA=0
export const MODE_4LEVEL = 3; // CR0.PG=1, CR4.PAE=1, EFER.LMA=1, CR4.LA57=0
export const MODE_5LEVEL = 4; // ... CR4.LA57=1

export const MODE_NAMES = ["no paging", "32-bit paging", "PAE paging", "4-level paging", "5-level paging"] as const;

export const CR0_PE = 1 << 0;
export const CR0_WP = 1 << 16;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;

export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_PGE = 1 << 7;
export const CR4_LA57 = 1 << 12;
export const CR4_FSGSBASE = 1 << 16;
export const CR4_PCIDE = 1 << 17;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const CR4_PKE = 1 << 22;

export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

export function pagingModeOf(cr0: number, cr4: number, efer: number): number {
  if ((cr0 & CR0_PG) === 0) return MODE_NONE;
  if ((cr4 & CR4_PAE) === 0) return MODE_32BIT;
  if ((efer & EFER_LMA) === 0) return MODE_PAE;
  return (cr4 & CR4_LA57) !== 0 ? MODE_5LEVEL : MODE_4LEVEL;
}

/**
 * SDM 3.3.7.1: a linear address is canonical when bits 63:N-1 all equal bit
 * N-1, N being 48 (4-level) or 57 (5-level). Only IA-32e mode has the notion;
 * a non-canonical access raises #GP(0), or #SS(0) for stack accesses.
 */
export function isCanonical(hi: number, la57: boolean): boolean {
  const top = la57 ? hi >> 24 : hi >> 15;
  return top === 0 || top === -1;
}
