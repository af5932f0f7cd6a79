/* Two-operand ALU ops and INC/DEC/NEG/NOT over the edge operands, register forms. */
#include "isa64.h"

#define GEN_BIN(op, w, M)                                                          \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %" M "[b], %" M "[a]" POST                      \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [b] "r"(p->b), [fi] "r"(p->fin) : "cc", "memory");      \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN_UN(op, w, M)                                                           \
    static void op##w(void *v)                                                     \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE #op " %" M "[a]" POST                                 \
                         : [a] "+&r"(a), [fo] "=&r"(fo)                            \
                         : [fi] "r"(p->fin) : "cc", "memory");                     \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
#define GEN4(G, op) G(op, 8, "b") G(op, 16, "w") G(op, 32, "k") G(op, 64, "q")
#define FNS(op) { op##8, op##16, op##32, op##64 }

GEN4(GEN_BIN, add) GEN4(GEN_BIN, adc) GEN4(GEN_BIN, sub) GEN4(GEN_BIN, sbb)
GEN4(GEN_BIN, cmp) GEN4(GEN_BIN, and) GEN4(GEN_BIN, or) GEN4(GEN_BIN, xor)
GEN4(GEN_BIN, test)
GEN4(GEN_UN, inc) GEN4(GEN_UN, dec) GEN4(GEN_UN, neg) GEN4(GEN_UN, not)

struct op { const char *name; opfn f[4]; uint32_t mask; int both_cf; };

/* AF is undefined after AND/OR/XOR/TEST (SDM Vol. 2 AND, OR, XOR, TEST "Flags Affected"). */
static const struct op bins[] = {
    { "add", FNS(add), F_ALL, 0 },          { "adc", FNS(adc), F_ALL, 1 },
    { "sub", FNS(sub), F_ALL, 0 },          { "sbb", FNS(sbb), F_ALL, 1 },
    { "cmp", FNS(cmp), F_ALL, 0 },          { "and", FNS(and), F_ALL & ~F_AF, 0 },
    { "or", FNS(or), F_ALL & ~F_AF, 0 },    { "xor", FNS(xor), F_ALL & ~F_AF, 0 },
    { "test", FNS(test), F_ALL & ~F_AF, 0 },
};
/* INC/DEC leave CF alone and NOT leaves every flag alone: run with both inputs. */
static const struct op uns[] = {
    { "inc", FNS(inc), F_ALL, 1 }, { "dec", FNS(dec), F_ALL, 1 },
    { "neg", FNS(neg), F_ALL, 1 }, { "not", FNS(not), F_ALL, 1 },
};

/* Immediate forms: imm8 sign-extended (0x83) and imm32 sign-extended to 64 (REX.W 0x81). */
#define GEN_IMM(name, text)                                                        \
    static void name(void *v)                                                      \
    {                                                                              \
        struct io *p = v;                                                          \
        uint64_t a = p->a, fo;                                                     \
        __asm__ volatile(PRE text POST : [a] "+&r"(a), [fo] "=&r"(fo)              \
                         : [fi] "r"(p->fin) : "cc", "memory");                     \
        p->r = a;                                                                  \
        p->f = fo;                                                                 \
    }
GEN_IMM(addq_m1, "addq $-1, %q[a]")
GEN_IMM(addq_m80, "addq $-0x80, %q[a]")
GEN_IMM(addq_i32, "addq $-0x80000000, %q[a]")
GEN_IMM(andq_i32, "andq $-0x80000000, %q[a]")
GEN_IMM(andq_m2, "andq $-2, %q[a]")
GEN_IMM(orq_i8, "orq $-0x10, %q[a]")
GEN_IMM(xorq_i32, "xorq $0x7fffffff, %q[a]")
GEN_IMM(subl_m1, "subl $-1, %k[a]")
GEN_IMM(cmpq_i32, "cmpq $-0x80000000, %q[a]")
GEN_IMM(adcw_i8, "adcw $-1, %w[a]")
GEN_IMM(sbbb_i8, "sbbb $0x7f, %b[a]")
GEN_IMM(testq_i32, "testq $-0x80000000, %q[a]")
struct immop { const char *name; opfn f; uint32_t mask; };
static const struct immop imms[] = {
    { "addq $-1", addq_m1, F_ALL },           { "addq $-0x80", addq_m80, F_ALL },
    { "addq $-0x80000000", addq_i32, F_ALL }, { "andq $-0x80000000", andq_i32, F_ALL & ~F_AF },
    { "andq $-2", andq_m2, F_ALL & ~F_AF },   { "orq $-0x10", orq_i8, F_ALL & ~F_AF },
    { "xorq $0x7fffffff", xorq_i32, F_ALL & ~F_AF }, { "subl $-1", subl_m1, F_ALL },
    { "cmpq $-0x80000000", cmpq_i32, F_ALL }, { "adcw $-1", adcw_i8, F_ALL },
    { "sbbb $0x7f", sbbb_i8, F_ALL },         { "testq $-0x80000000", testq_i32, F_ALL & ~F_AF },
};

void run_alu(void)
{
    struct io io;
    for (unsigned o = 0; o < sizeof bins / sizeof bins[0]; o++)
        for (int s = 0; s < 4; s++)
            for (int c = 0; c <= bins[o].both_cf; c++)
                for (int i = 0; i < NVALS; i++)
                    for (int j = 0; j < NVALS; j++) {
                        int bits = sizes[s];
                        io.a = val(i, bits);
                        io.b = val(j, bits);
                        io.fin = FIN(c);
                        bins[o].f[s](&io);
                        rom_printf("%s%d", bins[o].name, bits);
                        hx(" a=", io.a, bits);
                        hx(" b=", io.b, bits);
                        rom_printf(" cf=%d ->", c);
                        hx(" r=", io.r, bits);
                        fl(io.f, bins[o].mask);
                        rom_puts("\n");
                    }
    for (unsigned o = 0; o < sizeof uns / sizeof uns[0]; o++)
        for (int s = 0; s < 4; s++)
            for (int c = 0; c <= uns[o].both_cf; c++)
                for (int i = 0; i < NVALS; i++) {
                    int bits = sizes[s];
                    io.a = val(i, bits);
                    io.fin = FIN(c);
                    uns[o].f[s](&io);
                    rom_printf("%s%d", uns[o].name, bits);
                    hx(" a=", io.a, bits);
                    rom_printf(" cf=%d ->", c);
                    hx(" r=", io.r, bits);
                    fl(io.f, uns[o].mask);
                    rom_puts("\n");
                }
    /* Full 64-bit results: upper bits kept for 8/16-bit forms, zeroed for 32-bit. */
    for (unsigned o = 0; o < sizeof imms / sizeof imms[0]; o++)
        for (int c = 0; c <= 1; c++)
            for (int i = 0; i < NVALS; i++) {
                io.a = val(i, 64);
                io.fin = FIN(c);
                imms[o].f(&io);
                rom_printf("imm %s", imms[o].name);
                hx(" a=", io.a, 64);
                rom_printf(" cf=%d ->", c);
                hx(" r=", io.r, 64);
                fl(io.f, imms[o].mask);
                rom_puts("\n");
            }
}
