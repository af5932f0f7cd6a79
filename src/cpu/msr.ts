// Model-specific registers that hold what software writes (SDM Vol. 4):
// SYSENTER_CS/ESP/EIP, STAR/LSTAR/CSTAR/SFMASK, the FS/GS/KERNEL_GS bases'
// companions, PAT, TSC_AUX, the APIC base and the MTRRs. EFER, TSC and the
// FS/GS bases have side effects and are handled by the CPU (system.ts).

export const MSR_TSC = 0x10;
export const MSR_APIC_BASE = 0x1b;
export const MSR_MTRRCAP = 0xfe;
export const MSR_SYSENTER_CS = 0x174;
export const MSR_SYSENTER_ESP = 0x175;
export const MSR_SYSENTER_EIP = 0x176;
export const MSR_PAT = 0x277;
export const MSR_MTRR_DEF_TYPE = 0x2ff;
export const MSR_EFER = 0xc0000080;
export const MSR_STAR = 0xc0000081;
export const MSR_LSTAR = 0xc0000082;
export const MSR_CSTAR = 0xc0000083;
export const MSR_SFMASK = 0xc0000084;
export const MSR_FS_BASE = 0xc0000100;
export const MSR_GS_BASE = 0xc0000101;
export const MSR_KERNEL_GS_BASE = 0xc0000102;
export const MSR_TSC_AUX = 0xc0000103;

/** MSRs that read back what was written. */
function isPlainMsr(index: number): boolean {
  return (
    index === MSR_APIC_BASE ||
    index === MSR_SYSENTER_CS ||
    index === MSR_SYSENTER_ESP ||
    index === MSR_SYSENTER_EIP ||
    index === MSR_PAT ||
    index === MSR_MTRR_DEF_TYPE ||
    (index >= 0x200 && index <= 0x20f) || // variable-range MTRRs
    index === 0x250 ||
    index === 0x258 ||
    index === 0x259 ||
    (index >= 0x268 && index <= 0x26f) || // fixed-range MTRRs
    index === MSR_STAR ||
    index === MSR_LSTAR ||
    index === MSR_CSTAR ||
    index === MSR_SFMASK ||
    index === MSR_KERNEL_GS_BASE ||
    index === MSR_TSC_AUX
  );
}

export class MsrFile {
  private readonly values = new Map<number, [number, number]>();

  reset(): void {
    this.values.clear();
    // Power-on values (SDM Vol. 4): APIC enabled at 0xFEE00000 on the BSP, PAT's default.
    this.values.set(MSR_APIC_BASE, [0xfee00900 | 0, 0]);
    this.values.set(MSR_PAT, [0x00070406, 0x00070406]);
  }

  /** Whether `index` is one of the read-as-written MSRs. */
  has(index: number): boolean {
    return isPlainMsr(index) || index === MSR_MTRRCAP;
  }

  readLo(index: number): number {
    if (index === MSR_MTRRCAP) return 0x508; // 8 variable ranges, fixed ranges, write-combining
    return this.values.get(index)?.[0] ?? 0;
  }

  readHi(index: number): number {
    return this.values.get(index)?.[1] ?? 0;
  }

  write(index: number, lo: number, hi: number): void {
    this.values.set(index, [lo | 0, hi | 0]);
  }

  /** Whether a write of hi:lo would be refused with #GP (reserved bits, non-canonical addresses). */
  static writable(index: number, hi: number): boolean {
    if (index === MSR_MTRRCAP) return false;
    if (index === MSR_TSC_AUX || index === MSR_SFMASK) return hi === 0;
    return true;
  }
}
