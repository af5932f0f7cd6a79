/* MOVS/STOS/LODS/CMPS/SCAS, with REP/REPE/REPNE, DF=0 and DF=1, sizes b/w/l/q. */
#include "isa64.h"

static uint8_t sbuf[64] __attribute__((aligned(16)));
static uint8_t dbuf[64] __attribute__((aligned(16)));
struct sio { uint64_t rsi, rdi, rcx, rax, fin, f; };

/* CLD afterwards: the compiler assumes DF=0. */
#define GEN_STR(name, text)                                                        \
    static void name(struct sio *s)                                                \
    {                                                                              \
        uint64_t fo;                                                               \
        __asm__ volatile("push %[fi]\n\tpopfq\n\t" text "\n\tpushfq\n\tpop %[fo]\n\tcld" \
                         : "+S"(s->rsi), "+D"(s->rdi), "+c"(s->rcx), "+a"(s->rax),  \
                           [fo] "=&r"(fo)                                          \
                         : [fi] "r"(s->fin) : "cc", "memory");                     \
        s->f = fo;                                                                 \
    }
#define GEN_STR4(name, text) GEN_STR(name##_b, text "b") GEN_STR(name##_w, text "w") \
    GEN_STR(name##_l, text "l") GEN_STR(name##_q, text "q")
GEN_STR4(movs, "movs") GEN_STR4(rep_movs, "rep movs")
GEN_STR4(stos, "stos") GEN_STR4(rep_stos, "rep stos")
GEN_STR4(lods, "lods") GEN_STR4(rep_lods, "rep lods")
GEN_STR4(cmps, "cmps") GEN_STR4(repe_cmps, "repe cmps") GEN_STR4(repne_cmps, "repne cmps")
GEN_STR4(scas, "scas") GEN_STR4(repe_scas, "repe scas") GEN_STR4(repne_scas, "repne scas")

typedef void (*sfn)(struct sio *);
#define SFNS(n) { n##_b, n##_w, n##_l, n##_q }
/* kind: 0 move/store/load, 1 compare (repe: equal but element 2, repne: differ but element 2). */
struct sop { const char *name; sfn f[4]; int kind; int rep; };
static const struct sop sops[] = {
    { "movs", SFNS(movs), 0, 0 },   { "rep movs", SFNS(rep_movs), 0, 1 },
    { "stos", SFNS(stos), 0, 0 },   { "rep stos", SFNS(rep_stos), 0, 1 },
    { "lods", SFNS(lods), 0, 0 },   { "rep lods", SFNS(rep_lods), 0, 1 },
    { "cmps", SFNS(cmps), 1, 0 },   { "repe cmps", SFNS(repe_cmps), 1, 1 },
    { "repne cmps", SFNS(repne_cmps), 2, 1 },
    { "scas", SFNS(scas), 1, 0 },   { "repe scas", SFNS(repe_scas), 1, 1 },
    { "repne scas", SFNS(repne_scas), 2, 1 },
};
static const char sfx[4] = { 'b', 'w', 'l', 'q' };

void run_string(void)
{
    struct sio s;
    for (unsigned o = 0; o < sizeof sops / sizeof sops[0]; o++)
        for (int z = 0; z < 4; z++)
            for (int df = 0; df <= 1; df++)
                for (int n = 0; n < (sops[o].rep ? 2 : 1); n++) {
                    int sz = 1 << z, start = df ? 40 : 16;
                    uint64_t count = n ? 0 : (sops[o].kind ? 5 : 3);
                    for (int i = 0; i < 64; i++) {
                        sbuf[i] = (uint8_t)(0x30 + i * 7);
                        dbuf[i] = (uint8_t)(0x80 + i);
                    }
                    int e2 = df ? start - 2 * sz : start + 2 * sz;     /* element 2 */
                    if (sops[o].kind) {
                        /* CMPS: dbuf equals sbuf (repne: differs), element 2 the opposite. SCAS: rAX = 0x42.. */
                        int scas = sops[o].name[sops[o].rep ? (sops[o].kind == 2 ? 6 : 5) : 0] == 's';
                        for (int i = 0; i < 64; i++) {
                            int in2 = i >= e2 && i < e2 + sz;
                            int same = (sops[o].kind == 1) != in2;
                            uint8_t ref = scas ? 0x42 : sbuf[i];
                            dbuf[i] = same ? ref : (uint8_t)(ref ^ 0xff);
                        }
                    }
                    s.rsi = (uint64_t)(sbuf + start);
                    s.rdi = (uint64_t)(dbuf + start);
                    s.rcx = count;
                    s.rax = 0x4242424242424242ULL;
                    s.fin = (n ? FIN1 : FIN0) | (df ? F_DF : 0);   /* rcx=0: flags must survive */
                    sops[o].f[z](&s);
                    rom_printf("%s%c df=%d rcx=%u -> dsi=%ld ddi=%ld rcx=%u", sops[o].name, sfx[z], df,
                               (unsigned)count, (long)(s.rsi - (uint64_t)(sbuf + start)),
                               (long)(s.rdi - (uint64_t)(dbuf + start)), (unsigned)s.rcx);
                    hx(" rax=", s.rax, 64);
                    fl(s.f, F_ALL);
                    rom_puts(" mem=");
                    for (int i = 8; i < 56; i++)
                        rom_put_hex(dbuf[i], 2);
                    rom_puts("\n");
                }
}
