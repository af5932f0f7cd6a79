/*
 * ROM "bench-tlbmiss": a guest-speed benchmark (npm run bench:roms) bound by
 * TLB misses. 1 GiB of linear address space at PG_REGION is mapped with
 * 4 KiB pages (262,144 PTEs in 512 page tables), aliasing a 4 MiB pool of
 * frames: page n maps frame n % 1024. Each iteration a xorshift64 generator
 * picks two pages anywhere in that 1 GiB: it reads a qword from one and
 * writes one to the other, so nearly every access misses the TLB and walks.
 * A/D flags start clear. It prints the iteration count and a checksum; the
 * verdict compares the checksum with the value the same loop gives when
 * compiled natively on the host over a plain array of frames:
 *
 *   gcc -O2 -DBENCH_HOST -o /tmp/bt test-roms/bench-tlbmiss/bench_tlbmiss.c && /tmp/bt
 */
#ifdef BENCH_HOST
#include <stdint.h>
#include <stdio.h>
#else
#include "paging.h"
#endif

#define ITERATIONS  3000000u
#define PAGES       262144u             /* 1 GiB / 4 KiB */
#define NFRAMES     1024u               /* 4 MiB pool */
#define EXPECTED    0x13dcd5445153170cULL           /* from the native build (above) */

static volatile uint64_t pool[NFRAMES][512] __attribute__((aligned(4096)));

#ifdef BENCH_HOST
/* The host build sees the frames directly: page n is frame n % NFRAMES. */
#define QWORD(page, index) (&pool[(page) % NFRAMES][index])
#else
#define QWORD(page, index) ((volatile uint64_t *)(uintptr_t)(PG_VA(page) + (index) * 8))

static struct pg_space space;           /* pml4, pdpt, pd and page table 0 */
static pg_table_t tables[511] __attribute__((aligned(4096)));   /* page tables 1..511 */

static void map_region(void)
{
    pg_init();
    pg_build(&space);                   /* PML4[1] -> pdpt, pdpt[0] -> pd, pd[0] -> space.pt */
    for (unsigned t = 1; t < 512; t++)
        space.pd[t] = pg_pa(tables[t - 1]) | PTE_P | PTE_RW;
    for (unsigned n = 0; n < PAGES; n++) {
        volatile uint64_t *pt = n < 512 ? space.pt : tables[n / 512 - 1];
        pt[n % 512] = pg_pa(pool[n % NFRAMES]) | PTE_P | PTE_RW;
    }
    pg_load(&space);
}
#endif

static uint64_t run(uint32_t iterations)
{
    for (unsigned k = 0; k < NFRAMES; k++)
        for (unsigned j = 0; j < 512; j++)
            pool[k][j] = (uint64_t)k << 32 | j;
    uint64_t x = 0x2545f4914f6cdd1dULL;
    uint64_t sum = 0;
    for (uint32_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        /* bits 0-17: page read, 18-26: qword; 32-49: page written, 50-58: qword */
        uint64_t v = *QWORD(x & (PAGES - 1), (x >> 18) & 511);
        sum = (sum ^ v) * 0x100000001b3ULL;
        *QWORD((x >> 32) & (PAGES - 1), (x >> 50) & 511) = sum + i;
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
void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom bench-tlbmiss\n");
    map_region();
    uint64_t sum = run(ITERATIONS);
    pg_boot();
    rom_printf("iterations: %u (2 accesses each, over %u pages of 4 KiB)\n", ITERATIONS, PAGES);
    rom_printf("checksum: 0x%016lx %s\n", sum, rom_verdict(sum == EXPECTED));
    rom_done();
}
#endif
