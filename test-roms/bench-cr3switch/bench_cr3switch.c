/*
 * ROM "bench-cr3switch": a guest-speed benchmark (npm run bench:roms) bound
 * by address-space switches. Four address spaces (four PML4 trees, built
 * with runtime/paging.h) each map the same six virtual pages at PG_REGION
 * to six frames of their own. Each iteration switches CR3 to the next space
 * (round-robin), then reads a qword from four of its pages, writes one to
 * each of the other two and reads one back from each of those, at offsets a
 * xorshift64 generator picks: 8 accesses (6 reads, 2 writes) to six
 * distinct 4 KiB pages right after each MOV CR3.
 * It runs twice over the same data:
 *
 *   nopcid: CR4.PCIDE=0, CR3 = the PML4 alone: each MOV CR3 flushes every
 *           non-global translation (the boot identity map's code and stack
 *           pages included; none is global);
 *   pcid:   CR4.PCIDE=1, space s has PCID s+1 and CR3 bit 63 set: no MOV
 *           CR3 flushes, each space's translations may stay in the TLB.
 *
 * The pcid phase needs CPUID.01H:ECX.PCID[bit 17]. QEMU 7.2's TCG has no
 * PCID under any -cpu model (-cpu max,+pcid only warns "TCG doesn't support
 * requested feature"), and flushes its whole soft TLB on every CR3 write
 * anyway; without PCID that phase runs as nopcid does, so QEMU does the same
 * work, and says so on its line (the golden's line; cr3 has PCID and prints
 * the other one, listed in test-roms/DEVIATIONS.md). It prints the
 * iteration count and a checksum per phase; both phases compute the same
 * thing, and each checksum is compared with the value the same loop gives
 * compiled natively on the host over a plain array of the 4 x 6 frames:
 *
 *   gcc -O2 -DBENCH_HOST -o /tmp/bs test-roms/bench-cr3switch/bench_cr3switch.c && /tmp/bs
 */
#ifdef BENCH_HOST
#include <stdint.h>
#include <stdio.h>
#else
#include "paging.h"
#endif

#define ITERATIONS  350000u             /* per phase */
#define SPACES      4u
#define PAGES       6u                  /* per space: 4 read, 2 written and read */
#define PAGE_STRIDE 73u                 /* page k sits at PG_VA(k * 73): distinct PTEs, apart */
#define EXPECTED    0x4ec013658be44c9eULL           /* from the native build (above) */

/* The frames: pool[s][k] is space s's page k. */
static volatile uint64_t pool[SPACES][PAGES][512] __attribute__((aligned(4096)));

#ifdef BENCH_HOST
/* The host build sees the frames directly: space s's page k is pool[s][k]. */
#define SWITCH(s)           ((void)0)
#define QWORD(s, k, index)  (&pool[(s)][(k)][(index)])
#else
/* The ROM reaches them through the current address space only. */
#define SWITCH(s)           write_cr3(cr3[(s)])
#define QWORD(s, k, index)  ((volatile uint64_t *)(uintptr_t)(PG_VA((uint64_t)(k) * PAGE_STRIDE) + (index) * 8))

static struct pg_space spaces[SPACES];

static void build_spaces(void)
{
    pg_init();
    for (unsigned s = 0; s < SPACES; s++) {
        pg_build(&spaces[s]);           /* PML4[0] = boot identity map, PML4[1] -> pdpt -> pd -> pt */
        for (unsigned k = 0; k < PAGES; k++)
            spaces[s].pt[k * PAGE_STRIDE] = pg_pa(pool[s][k]) | PTE_P | PTE_RW;
    }
}
#endif

#ifdef BENCH_HOST
static uint64_t run(uint32_t iterations)
#else
static uint64_t run(uint32_t iterations, const uint64_t cr3[SPACES])
#endif
{
    for (unsigned s = 0; s < SPACES; s++)
        for (unsigned k = 0; k < PAGES; k++)
            for (unsigned j = 0; j < 512; j++)
                pool[s][k][j] = (uint64_t)s << 48 | (uint64_t)k << 32 | j;
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < iterations; i++) {
        unsigned s = i % SPACES;
        SWITCH(s);
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* qword offsets: bits 0-8, 9-17, 18-26, 27-35 read; 36-44, 45-53 written */
        sum = (sum ^ *QWORD(s, 0, x & 511)) * 0x100000001b3ULL;
        sum = (sum ^ *QWORD(s, 1, (x >> 9) & 511)) * 0x100000001b3ULL;
        sum = (sum ^ *QWORD(s, 2, (x >> 18) & 511)) * 0x100000001b3ULL;
        sum = (sum ^ *QWORD(s, 3, (x >> 27) & 511)) * 0x100000001b3ULL;
        *QWORD(s, 4, (x >> 36) & 511) = sum + i;
        *QWORD(s, 5, (x >> 45) & 511) = sum ^ x;
        /* the written pages feed later reads of the same space */
        sum ^= *QWORD(s, 4, (x >> 54) & 511) + *QWORD(s, 5, (x >> 27) & 511);
    }
    return sum;
}

#ifdef BENCH_HOST
int main(void)
{
    printf("checksum 0x%016llx\n", (unsigned long long)run(ITERATIONS));
    return 0;
}
#else
#define CR4_PCIDE   (1ULL << 17)
#define CR3_NOFLUSH (1ULL << 63)

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom bench-cr3switch\n");
    uint32_t id[4];
    cpuid(1, 0, id);
    int have_pcid = pg_bit(id[2], 1u << 17);
    build_spaces();
    rom_printf("iterations: %u (2 phases of %u: a CR3 switch over %u address spaces, then 8 accesses to %u pages)\n",
               2 * ITERATIONS, ITERATIONS, SPACES, PAGES);

    uint64_t cr3[SPACES];
    for (unsigned s = 0; s < SPACES; s++)
        cr3[s] = pg_pa(spaces[s].pml4);
    uint64_t sum = run(ITERATIONS, cr3);
    pg_boot();
    rom_printf("phase nopcid: CR4.PCIDE=0, each MOV CR3 flushes: checksum 0x%016lx %s\n", sum, rom_verdict(sum == EXPECTED));

    if (have_pcid) {
        write_cr4(read_cr4() | CR4_PCIDE);      /* CR3 is the boot tables, PCID 0 */
        for (unsigned s = 0; s < SPACES; s++)
            cr3[s] = pg_pa(spaces[s].pml4) | (s + 1) | CR3_NOFLUSH;
    }
    sum = run(ITERATIONS, cr3);
    pg_boot();                                  /* PCID 0, bit 63 clear: flushes PCID 0 */
    if (have_pcid) {
        write_cr4(read_cr4() & ~CR4_PCIDE);     /* flushes every PCID */
        rom_printf("phase pcid: CR4.PCIDE=1, PCIDs 1-4, CR3 bit 63 set: checksum 0x%016lx %s\n", sum, rom_verdict(sum == EXPECTED));
    } else {
        rom_printf("phase pcid: CPUID.01H:ECX.PCID=0, run as nopcid: checksum 0x%016lx %s\n", sum, rom_verdict(sum == EXPECTED));
    }
    rom_done();
}
#endif
