/* Shifts and rotates by CL (and by 1, opcode D0/D1), SHLD/SHRD. */
#include "isa64.h"

#define GEN_SH(op, w, M)                                                           \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %%cl, %" M "[a]" POST                           \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : "c"(p->c), [fi] "r"(p->fin) : "cc");                    \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_SH1(op, w, M)                                                          \
    static void op##1_##w(void *v)                                                 \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %" M "[a]" POST                \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [fi] "r"(p->fin) : "cc");                               \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_DBL(op, w, M)                                                          \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %%cl, %" M "[b], %" M "[a]" POST                \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->b), "c"(p->c), [fi] "r"(p->fin) : "cc");     \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN4(G, op) G(op, 8, "b") G(op, 16, "w") G(op, 32, "k") G(op, 64, "q")
#define FNS(op) { op##8, op##16, op##32, op##64 }
#define FNS1(op) { op##1_8, op##1_16, op##1_32, op##1_64 }

GEN4(GEN_SH, shl) GEN4(GEN_SH, shr) GEN4(GEN_SH, sar) GEN4(GEN_SH, rol)
GEN4(GEN_SH, ror) GEN4(GEN_SH, rcl) GEN4(GEN_SH, rcr)
GEN4(GEN_SH1, shl) GEN4(GEN_SH1, shr) GEN4(GEN_SH1, sar) GEN4(GEN_SH1, rol)
GEN4(GEN_SH1, ror) GEN4(GEN_SH1, rcl) GEN4(GEN_SH1, rcr)
GEN_DBL(shld, 16, "w") GEN_DBL(shld, 32, "k") GEN_DBL(shld, 64, "q")
GEN_DBL(shrd, 16, "w") GEN_DBL(shrd, 32, "k") GEN_DBL(shrd, 64, "q")

enum { K_SHIFT, K_SAR, K_ROT, K_RC };
struct op { const char *name; opfn f[4]; opfn f1[4]; int kind; };
static const struct op ops[] = {
    { "shl", FNS(shl), FNS1(shl), K_SHIFT }, { "shr", FNS(shr), FNS1(shr), K_SHIFT },
    { "sar", FNS(sar), FNS1(sar), K_SAR },   { "rol", FNS(rol), FNS1(rol), K_ROT },
    { "ror", FNS(ror), FNS1(ror), K_ROT },   { "rcl", FNS(rcl), FNS1(rcl), K_RC },
    { "rcr", FNS(rcr), FNS1(rcr), K_RC },
};

/*
 * Defined flags for masked count c (SDM Vol. 2 SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR):
 * c == 0 leaves every flag alone; OF only for c == 1; AF undefined for shifts;
 * CF undefined for SHL/SHR when c >= the operand size; rotates leave SF ZF AF PF.
 */
static uint32_t defined(int kind, unsigned c, int bits)
{
    if (c == 0)
        return F_ALL;
    uint32_t of = c == 1 ? F_OF : 0;
    switch (kind) {
    case K_SHIFT: return F_SF | F_ZF | F_PF | (c < (unsigned)bits ? F_CF : 0) | of;
    case K_SAR: return F_SF | F_ZF | F_PF | F_CF | of;
    default: return F_CF | F_SF | F_ZF | F_AF | F_PF | of;
    }
}

static const uint8_t counts8[] = { 0, 1, 3, 7, 8, 9, 16, 17, 31, 32, 33 };
static const uint8_t counts16[] = { 0, 1, 7, 15, 16, 17, 31, 32, 33 };
static const uint8_t counts32[] = { 0, 1, 7, 31, 32, 33, 63 };
static const uint8_t counts64[] = { 0, 1, 7, 63, 64, 65, 255 };
static const uint8_t *const counts[4] = { counts8, counts16, counts32, counts64 };
static const int ncounts[4] = { sizeof counts8, sizeof counts16, sizeof counts32, sizeof counts64 };
static const int shvals[3] = { 4, 3, 5 };   /* min negative (|1 below), max positive, pattern */

static void line(const char *name, int bits, const struct io *io, int c, uint32_t mask)
{
    rom_printf("%s%d", name, bits);
    hx(" a=", io->a, bits);
    rom_printf(" n=%u cf=%d ->", (unsigned)io->c, c);
    hx(" r=", io->r, bits);
    fl(io->f, mask);
    rom_puts("\n");
}

void run_shift(void)
{
    struct io io;
    for (unsigned o = 0; o < sizeof ops / sizeof ops[0]; o++)
        for (int s = 0; s < 4; s++) {
            int bits = sizes[s];
            unsigned cmask = bits == 64 ? 63 : 31;
            for (int k = 0; k < ncounts[s]; k++)
                for (int i = 0; i < 3; i++)
                    for (int c = 0; c <= 1; c++) {
                        io.a = val(shvals[i], bits) | (i == 0);
                        io.c = counts[s][k];
                        io.fin = FIN(c);
                        ops[o].f[s](&io);
                        line(ops[o].name, bits, &io, c, defined(ops[o].kind, io.c & cmask, bits));
                    }
            /* The by-1 opcodes (D0/D1). */
            for (int i = 0; i < 3; i++)
                for (int c = 0; c <= 1; c++) {
                    io.a = val(shvals[i], bits) | (i == 0);
                    io.c = 1;
                    io.fin = FIN(c);
                    ops[o].f1[s](&io);
                    char nm[8] = { 0 };
                    for (int q = 0; ops[o].name[q]; q++)
                        nm[q] = ops[o].name[q];
                    nm[3] = '1';
                    nm[4] = '_';
                    line(nm, bits, &io, c, defined(ops[o].kind, 1, bits));
                }
        }

    /* SHLD/SHRD: a count above the operand size (16-bit only) leaves result and flags undefined. */
    static const opfn dbl[2][3] = { { shld16, shld32, shld64 }, { shrd16, shrd32, shrd64 } };
    static const uint8_t dc[3][6] = { { 0, 1, 4, 15, 16, 255 }, { 0, 1, 4, 31, 32, 33 }, { 0, 1, 4, 63, 64, 65 } };
    for (int o = 0; o < 2; o++)
        for (int s = 0; s < 3; s++) {
            int bits = sizes[s + 1];
            for (int k = 0; k < 6; k++)
                for (int i = 0; i < 2; i++)
                    for (int j = 0; j < 2; j++) {
                        unsigned c = dc[s][k] & (bits == 64 ? 63 : 31);
                        if (c > (unsigned)bits)
                            continue;
                        io.a = i ? val(5, bits) : val(4, bits) | 1;
                        io.b = j ? val(3, bits) : val(6, bits);
                        io.c = dc[s][k];
                        io.fin = FIN(k & 1);
                        dbl[o][s](&io);
                        rom_printf("%s%d", o ? "shrd" : "shld", bits);
                        hx(" a=", io.a, bits);
                        hx(" b=", io.b, bits);
                        rom_printf(" n=%u cf=%d ->", (unsigned)io.c, k & 1);
                        hx(" r=", io.r, bits);
                        fl(io.f, c == 0 ? F_ALL : (F_SF | F_ZF | F_PF | F_CF | (c == 1 ? F_OF : 0)));
                        rom_puts("\n");
                    }
        }
}
