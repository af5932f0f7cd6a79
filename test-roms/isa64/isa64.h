/* Shared by the isa64 ROM's files: operand lists, flag constants, printing. */
#ifndef ISA64_H
#define ISA64_H
#include "runtime.h"

/* RFLAGS status bits (SDM Vol. 1 §3.4.3.1). */
#define F_CF 0x001
#define F_PF 0x004
#define F_AF 0x010
#define F_ZF 0x040
#define F_SF 0x080
#define F_OF 0x800
#define F_ALL 0x8d5
#define F_DF 0x400

/* Input RFLAGS: "cf=0" = every status flag clear, "cf=1" = every status flag set. */
#define FIN0 0x002ULL
#define FIN1 0x8d7ULL
#define FIN(c) ((c) ? FIN1 : FIN0)

/* One case's operands and results; every generated function takes a struct io *. */
struct io { uint64_t a, b, c, fin, r, r2, f; };
typedef void (*opfn)(void *);

/* Load RFLAGS from fin, run the instruction, store RFLAGS to fo. */
#define PRE  "push %[fi]\n\tpopfq\n\t"
#define POST "\n\tpushfq\n\tpop %[fo]"

static inline uint64_t szmask(int bits) { return bits == 64 ? ~0ULL : (1ULL << bits) - 1; }
static inline void hx(const char *label, uint64_t v, int bits)
{
    rom_puts(label);
    rom_puts("0x");
    rom_put_hex(v & szmask(bits), bits / 4);
}
static inline void fl(uint64_t f, uint32_t mask) { rom_printf(" f=0x%03x", (unsigned)(f & mask & F_ALL)); }

/* Edge operands per size: 0, 1, 0xf (AF), max positive, min negative, a pattern, -1. */
#define NVALS 7
static inline uint64_t val(int i, int bits)
{
    static const uint64_t pat = 0xa5c3e1f00f1e3c5aULL;
    uint64_t top = 1ULL << (bits - 1);
    uint64_t v[NVALS] = { 0, 1, 0xf, top - 1, top, pat, ~0ULL };
    return v[i] & szmask(bits);
}
static const int sizes[4] = { 8, 16, 32, 64 };

void run_alu(void);
void run_shift(void);
void run_muldiv(void);
void run_bits(void);
void run_misc(void);
void run_string(void);
#endif
