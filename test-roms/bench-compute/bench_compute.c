/*
 * ROM "bench-compute": a guest-speed benchmark (npm run bench:roms). A
 * compute-bound loop of ordinary integer instructions, as gcc -O2 makes
 * them: a xorshift64 generator, loads and stores in a 1 KiB table,
 * data-dependent branches, a multiply and rotates. It prints the iteration
 * count and a checksum; the verdict compares the checksum with the value the
 * same loop gives when compiled natively on the host:
 *
 *   gcc -O2 -DBENCH_HOST -o /tmp/bc test-roms/bench-compute/bench_compute.c && /tmp/bc
 */
#ifdef BENCH_HOST
#include <stdint.h>
#include <stdio.h>
#else
#include "runtime.h"
#endif

#define ITERATIONS  20000000u
#define TABLE_SIZE  256
#define EXPECTED    0xf2d802e6cdc0d368ULL           /* from the native build (above) */

static uint32_t table[TABLE_SIZE];

static uint64_t run(uint32_t iterations)
{
    uint64_t x = 0x9e3779b97f4a7c15ULL;
    uint64_t sum = 0;
    uint32_t lcg = 12345;
    for (unsigned i = 0; i < TABLE_SIZE; i++) {
        lcg = lcg * 1103515245u + 12345u;
        table[i] = lcg;
    }
    for (uint32_t i = 0; i < iterations; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint32_t t = table[x & (TABLE_SIZE - 1)];
        if (x & 0x100)
            sum += t;
        else
            sum = (sum << 5 | sum >> 59) ^ t;
        if ((t & 7) == 0)
            sum *= 0x100000001b3ULL;
        table[(x >> 8) & (TABLE_SIZE - 1)] = t + (uint32_t)sum;
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
    rom_puts("cr3-rom bench-compute\n");
    uint64_t sum = run(ITERATIONS);
    rom_printf("iterations: %u\n", ITERATIONS);
    rom_printf("checksum: 0x%016lx %s\n", sum, rom_verdict(sum == EXPECTED));
    rom_done();
}
#endif
