// Per-opcode decoding flags for the one-byte map and the two-byte 0F map,
// from the Intel SDM Vol. 2, Appendix A "Opcode Map" (tables)
// and the group tables. The decoder only needs what decides the
// length and the operand size: ModRM presence, the immediate's kind, and
// the 64-bit-mode rules. Maps 0F38 and 0F3A are uniform (ModRM; 0F3A adds
// an imm8) and need no table.
//
// OPCODE_FLAGS is indexed by map * 256 + opcode (map 0 = one-byte, 1 = 0F).

// Immediate kinds (bits 3:0).
export const IMM_NONE = 0;
export const IMM_8 = 1;
export const IMM_16 = 2;
/** Iz: 16 bits with a 16-bit operand size, else 32 (sign-extended to 64). */
export const IMM_Z = 3;
/** Iv of B8+r: 16, 32 or (REX.W) 64 bits. */
export const IMM_V = 4;
/** Ob/Ov of A0-A3: an offset of the address size. */
export const IMM_MOFFS = 5;
export const IMM_REL8 = 6;
/** Jz: rel16/rel32 per operand size (always rel32 in 64-bit mode, SDM). */
export const IMM_RELZ = 7;
/** ENTER: Iw, Ib. */
export const IMM_ENTER = 8;
/** Ap of 9A/EA: offset (Iz) then a 16-bit selector. */
export const IMM_FAR = 9;
/** Group 3 (F6/F7): /0 and /1 (TEST) take Ib/Iz, the others none. */
export const IMM_GRP3 = 10;
export const IMM_KIND_MASK = 0xf;

export const F_MODRM = 0x10;
/** Byte operand (operand size 1). */
export const F_BYTE = 0x20;
/** #UD in 64-bit mode (SDM Appendix A, superscript i64). */
export const F_INVALID64 = 0x40;
/** Operand size defaults to 64 in 64-bit mode; 66 gives 16 (superscript d64). */
export const F_DEF64 = 0x80;
/** Operand size is 64 in 64-bit mode whatever 66 says (superscript f64; near branches). */
export const F_FORCE64 = 0x100;
/** The immediate is zero-extended (ports, vectors, counts, selectors). */
export const F_IMM_ZX = 0x200;
/** Undefined in every mode (#UD). */
export const F_INVALID = 0x400;
/** An encoding cr3 does not model (3DNow!, VEX/EVEX/XOP escapes). */
export const F_UNSUPPORTED = 0x800;
/** MOV to/from CRn/DRn: the mod field is ignored and treated as 11b (SDM MOV-Move to/from Control Registers). */
export const F_MODRM_REG = 0x1000;

export const OPCODE_FLAGS = new Uint16Array(512);
/**
 * For each opcode, the ModRM.reg values (bit n = /n) with which LOCK is
 * allowed (SDM Vol. 2 "LOCK—Assert LOCK# Signal Prefix"); the destination
 * must also be memory. 0 means never.
 */
export const LOCK_REG_MASK = new Uint8Array(512);

function set(map: number, from: number, to: number, flags: number): void {
  for (let op = from; op <= to; op++) OPCODE_FLAGS[map * 256 + op] = flags;
}

// ---- One-byte map (SDM Table A-2) ----
// The eight ALU blocks 00-3F: Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev / AL,Ib / rAX,Iz.
for (let block = 0; block < 8; block++) {
  const b = block * 8;
  set(0, b + 0, b + 0, F_MODRM | F_BYTE);
  set(0, b + 1, b + 1, F_MODRM);
  set(0, b + 2, b + 2, F_MODRM | F_BYTE);
  set(0, b + 3, b + 3, F_MODRM);
  set(0, b + 4, b + 4, IMM_8 | F_BYTE);
  set(0, b + 5, b + 5, IMM_Z);
  if (block !== 7) {
    // CMP (38/39) is not lockable.
    LOCK_REG_MASK[b] = 0xff;
    LOCK_REG_MASK[b + 1] = 0xff;
  }
}
// PUSH/POP ES, CS, SS, DS; DAA, DAS, AAA, AAS. 26/2E/36/3E are prefixes and 0F the escape.
for (const op of [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f, 0x27, 0x2f, 0x37, 0x3f]) set(0, op, op, F_INVALID64);
set(0, 0x40, 0x4f, 0); // INC/DEC (REX prefixes in 64-bit mode)
set(0, 0x50, 0x5f, F_DEF64); // PUSH/POP r
set(0, 0x60, 0x61, F_INVALID64); // PUSHA/POPA
set(0, 0x62, 0x62, F_MODRM | F_INVALID64); // BOUND (EVEX when mod = 11)
set(0, 0x63, 0x63, F_MODRM); // ARPL / MOVSXD
set(0, 0x68, 0x68, IMM_Z | F_DEF64);
set(0, 0x69, 0x69, F_MODRM | IMM_Z);
set(0, 0x6a, 0x6a, IMM_8 | F_DEF64);
set(0, 0x6b, 0x6b, F_MODRM | IMM_8);
set(0, 0x6c, 0x6c, F_BYTE);
set(0, 0x6d, 0x6d, 0);
set(0, 0x6e, 0x6e, F_BYTE);
set(0, 0x6f, 0x6f, 0);
set(0, 0x70, 0x7f, IMM_REL8 | F_FORCE64); // Jcc rel8
set(0, 0x80, 0x80, F_MODRM | IMM_8 | F_BYTE);
set(0, 0x81, 0x81, F_MODRM | IMM_Z);
set(0, 0x82, 0x82, F_MODRM | IMM_8 | F_BYTE | F_INVALID64);
set(0, 0x83, 0x83, F_MODRM | IMM_8);
LOCK_REG_MASK[0x80] = LOCK_REG_MASK[0x81] = LOCK_REG_MASK[0x82] = LOCK_REG_MASK[0x83] = 0x7f; // not /7 (CMP)
set(0, 0x84, 0x84, F_MODRM | F_BYTE);
set(0, 0x85, 0x85, F_MODRM);
set(0, 0x86, 0x86, F_MODRM | F_BYTE);
set(0, 0x87, 0x87, F_MODRM);
LOCK_REG_MASK[0x86] = LOCK_REG_MASK[0x87] = 0xff; // XCHG
set(0, 0x88, 0x88, F_MODRM | F_BYTE);
set(0, 0x89, 0x89, F_MODRM);
set(0, 0x8a, 0x8a, F_MODRM | F_BYTE);
set(0, 0x8b, 0x8e, F_MODRM);
set(0, 0x8f, 0x8f, F_MODRM | F_DEF64); // Group 1A: POP Ev (other /r: XOP on AMD)
set(0, 0x90, 0x99, 0);
set(0, 0x9a, 0x9a, IMM_FAR | F_INVALID64 | F_IMM_ZX); // CALLF Ap
set(0, 0x9b, 0x9b, 0);
set(0, 0x9c, 0x9d, F_DEF64); // PUSHF/POPF
set(0, 0x9e, 0x9f, 0);
set(0, 0xa0, 0xa0, IMM_MOFFS | F_BYTE | F_IMM_ZX);
set(0, 0xa1, 0xa1, IMM_MOFFS | F_IMM_ZX);
set(0, 0xa2, 0xa2, IMM_MOFFS | F_BYTE | F_IMM_ZX);
set(0, 0xa3, 0xa3, IMM_MOFFS | F_IMM_ZX);
set(0, 0xa4, 0xa4, F_BYTE);
set(0, 0xa5, 0xa5, 0);
set(0, 0xa6, 0xa6, F_BYTE);
set(0, 0xa7, 0xa7, 0);
set(0, 0xa8, 0xa8, IMM_8 | F_BYTE);
set(0, 0xa9, 0xa9, IMM_Z);
set(0, 0xaa, 0xaa, F_BYTE);
set(0, 0xab, 0xab, 0);
set(0, 0xac, 0xac, F_BYTE);
set(0, 0xad, 0xad, 0);
set(0, 0xae, 0xae, F_BYTE);
set(0, 0xaf, 0xaf, 0);
set(0, 0xb0, 0xb7, IMM_8 | F_BYTE);
set(0, 0xb8, 0xbf, IMM_V);
set(0, 0xc0, 0xc0, F_MODRM | IMM_8 | F_BYTE | F_IMM_ZX); // Group 2 by imm8
set(0, 0xc1, 0xc1, F_MODRM | IMM_8 | F_IMM_ZX);
set(0, 0xc2, 0xc2, IMM_16 | F_FORCE64 | F_IMM_ZX); // RET Iw
set(0, 0xc3, 0xc3, F_FORCE64);
set(0, 0xc4, 0xc5, F_MODRM | F_INVALID64); // LES/LDS; VEX in 64-bit mode or with mod = 11
set(0, 0xc6, 0xc6, F_MODRM | IMM_8 | F_BYTE); // MOV Eb,Ib (/7 F8: XABORT)
set(0, 0xc7, 0xc7, F_MODRM | IMM_Z); // MOV Ev,Iz (/7 F8: XBEGIN Jz, same length)
set(0, 0xc8, 0xc8, IMM_ENTER | F_DEF64 | F_IMM_ZX);
set(0, 0xc9, 0xc9, F_DEF64); // LEAVE
set(0, 0xca, 0xca, IMM_16 | F_IMM_ZX); // RETF Iw
set(0, 0xcb, 0xcc, 0);
set(0, 0xcd, 0xcd, IMM_8 | F_IMM_ZX); // INT Ib
set(0, 0xce, 0xce, F_INVALID64); // INTO
set(0, 0xcf, 0xcf, 0);
set(0, 0xd0, 0xd0, F_MODRM | F_BYTE);
set(0, 0xd1, 0xd1, F_MODRM);
set(0, 0xd2, 0xd2, F_MODRM | F_BYTE);
set(0, 0xd3, 0xd3, F_MODRM);
set(0, 0xd4, 0xd5, IMM_8 | F_INVALID64 | F_IMM_ZX); // AAM/AAD
set(0, 0xd6, 0xd6, F_INVALID64); // SALC (undocumented)
set(0, 0xd7, 0xd7, 0);
set(0, 0xd8, 0xdf, F_MODRM); // x87 escapes
set(0, 0xe0, 0xe3, IMM_REL8 | F_FORCE64); // LOOPcc, JrCXZ
set(0, 0xe4, 0xe4, IMM_8 | F_BYTE | F_IMM_ZX);
set(0, 0xe5, 0xe5, IMM_8 | F_IMM_ZX);
set(0, 0xe6, 0xe6, IMM_8 | F_BYTE | F_IMM_ZX);
set(0, 0xe7, 0xe7, IMM_8 | F_IMM_ZX);
set(0, 0xe8, 0xe9, IMM_RELZ | F_FORCE64); // CALL/JMP rel
set(0, 0xea, 0xea, IMM_FAR | F_INVALID64 | F_IMM_ZX); // JMPF Ap
set(0, 0xeb, 0xeb, IMM_REL8 | F_FORCE64);
set(0, 0xec, 0xec, F_BYTE);
set(0, 0xed, 0xed, 0);
set(0, 0xee, 0xee, F_BYTE);
set(0, 0xef, 0xf5, 0); // F0/F2/F3 are prefixes; F1 INT1, F4 HLT, F5 CMC
set(0, 0xf6, 0xf6, F_MODRM | IMM_GRP3 | F_BYTE);
set(0, 0xf7, 0xf7, F_MODRM | IMM_GRP3);
LOCK_REG_MASK[0xf6] = LOCK_REG_MASK[0xf7] = 0x0c; // NOT, NEG
set(0, 0xf8, 0xfd, 0);
set(0, 0xfe, 0xfe, F_MODRM | F_BYTE); // Group 4
set(0, 0xff, 0xff, F_MODRM); // Group 5 (per-/r sizes in the decoder)
LOCK_REG_MASK[0xfe] = LOCK_REG_MASK[0xff] = 0x03; // INC, DEC

// ---- Two-byte map 0F (SDM Table A-3) ----
const M1 = 256;
set(1, 0x00, 0x03, F_MODRM); // Group 6, Group 7, LAR, LSL
set(1, 0x04, 0x04, F_INVALID);
set(1, 0x05, 0x09, 0); // SYSCALL CLTS SYSRET INVD WBINVD
set(1, 0x0a, 0x0a, F_INVALID);
set(1, 0x0b, 0x0b, 0); // UD2 (decodes; raises #UD when executed)
set(1, 0x0c, 0x0c, F_INVALID);
set(1, 0x0d, 0x0d, F_MODRM); // PREFETCHW
set(1, 0x0e, 0x0f, F_UNSUPPORTED); // FEMMS, 3DNow!
set(1, 0x10, 0x1f, F_MODRM); // SSE moves, prefetch/hint NOPs, ENDBR (F3 0F 1E FA/FB)
set(1, 0x20, 0x23, F_MODRM | F_MODRM_REG | F_FORCE64); // MOV CRn/DRn
set(1, 0x24, 0x27, F_INVALID);
set(1, 0x28, 0x2f, F_MODRM);
set(1, 0x30, 0x35, 0); // WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT
set(1, 0x36, 0x36, F_INVALID);
set(1, 0x37, 0x37, 0); // GETSEC
set(1, 0x39, 0x39, F_INVALID);
set(1, 0x3b, 0x3f, F_INVALID);
set(1, 0x40, 0x4f, F_MODRM); // CMOVcc
set(1, 0x50, 0x6f, F_MODRM);
set(1, 0x70, 0x73, F_MODRM | IMM_8 | F_IMM_ZX); // PSHUFx, Groups 12-14
set(1, 0x74, 0x76, F_MODRM);
set(1, 0x77, 0x77, 0); // EMMS
set(1, 0x78, 0x79, F_MODRM); // VMREAD/VMWRITE
set(1, 0x7a, 0x7b, F_INVALID);
set(1, 0x7c, 0x7f, F_MODRM);
set(1, 0x80, 0x8f, IMM_RELZ | F_FORCE64); // Jcc rel
set(1, 0x90, 0x9f, F_MODRM | F_BYTE); // SETcc
set(1, 0xa0, 0xa1, F_DEF64); // PUSH/POP FS
set(1, 0xa2, 0xa2, 0); // CPUID
set(1, 0xa3, 0xa3, F_MODRM); // BT
set(1, 0xa4, 0xa4, F_MODRM | IMM_8 | F_IMM_ZX); // SHLD Ib
set(1, 0xa5, 0xa5, F_MODRM);
set(1, 0xa6, 0xa7, F_INVALID);
set(1, 0xa8, 0xa9, F_DEF64); // PUSH/POP GS
set(1, 0xaa, 0xaa, 0); // RSM
set(1, 0xab, 0xab, F_MODRM); // BTS
set(1, 0xac, 0xac, F_MODRM | IMM_8 | F_IMM_ZX); // SHRD Ib
set(1, 0xad, 0xaf, F_MODRM); // SHRD CL, Group 15, IMUL
set(1, 0xb0, 0xb0, F_MODRM | F_BYTE); // CMPXCHG Eb
set(1, 0xb1, 0xb7, F_MODRM);
set(1, 0xb8, 0xb9, F_MODRM); // POPCNT (F3), UD1
set(1, 0xba, 0xba, F_MODRM | IMM_8 | F_IMM_ZX); // Group 8
set(1, 0xbb, 0xbf, F_MODRM);
set(1, 0xc0, 0xc0, F_MODRM | F_BYTE); // XADD Eb
set(1, 0xc1, 0xc1, F_MODRM);
set(1, 0xc2, 0xc2, F_MODRM | IMM_8 | F_IMM_ZX); // CMPPS
set(1, 0xc3, 0xc3, F_MODRM); // MOVNTI
set(1, 0xc4, 0xc6, F_MODRM | IMM_8 | F_IMM_ZX); // PINSRW PEXTRW SHUFPS
set(1, 0xc7, 0xc7, F_MODRM); // Group 9
set(1, 0xc8, 0xcf, 0); // BSWAP
set(1, 0xd0, 0xff, F_MODRM); // MMX/SSE; FF = UD0
LOCK_REG_MASK[M1 + 0xab] = 0xff; // BTS
LOCK_REG_MASK[M1 + 0xb3] = 0xff; // BTR
LOCK_REG_MASK[M1 + 0xbb] = 0xff; // BTC
LOCK_REG_MASK[M1 + 0xb0] = LOCK_REG_MASK[M1 + 0xb1] = 0xff; // CMPXCHG
LOCK_REG_MASK[M1 + 0xc0] = LOCK_REG_MASK[M1 + 0xc1] = 0xff; // XADD
LOCK_REG_MASK[M1 + 0xba] = 0xe0; // BTS/BTR/BTC Ev,Ib (/5 /6 /7)
LOCK_REG_MASK[M1 + 0xc7] = 0x02; // CMPXCHG8B/16B (/1)
