/*
 * Demonstration: swapping. The heap working set is the whole user pool
 * plus EXTRA pages, so it cannot all be resident: once the pool is empty,
 * each new page costs an eviction (the clock algorithm, swap.c) to the ATA
 * disk. Every page is filled with a pattern derived from its index; then a
 * second pass reads every word of every page back, faulting the evicted
 * ones in from the disk. Pages read back and not written since are clean:
 * evicting them again skips the disk write. The figures are the kernel's
 * system-wide counters; they follow from the access order alone.
 */
#include "ulib.h"

#define EXTRA 32
#define WORDS (4096 / sizeof(unsigned long))

void swap_main(void);

static unsigned long pattern(unsigned long page, unsigned long word)
{
    return (page + 1) * 0x9E3779B97F4A7C15ul ^ word * 0x0101010101010101ul;
}

void swap_main(void)
{
    struct vmstat start, filled, end;
    long pid = sys_getpid();
    sys_vmstat(&start);
    if (start.swap_slots == 0) {
        uprintf("swap: no disk (run with -drive file=DISK.img,format=raw,index=0)\n");
        sys_exit(EXIT_SKIPPED);
    }
    unsigned long pages = start.pool_size + EXTRA;
    uprintf("swap[%ld]: pool of %lu frames, %lu swap slots on disk; touching %lu heap pages\n", pid, start.pool_size,
            start.swap_slots, pages);
    volatile unsigned long *heap = sys_sbrk((long)(pages * 4096));
    if (heap == MAP_FAILED)
        sys_exit(1);
    for (unsigned long p = 0; p < pages; p++)
        for (unsigned long w = 0; w < WORDS; w++)
            heap[p * WORDS + w] = pattern(p, w);
    sys_vmstat(&filled);
    unsigned long out1 = filled.swapped_out - start.swapped_out, in1 = filled.swapped_in - start.swapped_in;
    unsigned long clean1 = filled.swap_clean_skips - start.swap_clean_skips;
    uprintf("swap[%ld]: filled %lu pages: %lu swapped out, %lu swapped in, %lu clean pages not rewritten\n", pid, pages,
            out1, in1, clean1);

    unsigned long intact = 0;
    for (unsigned long p = 0; p < pages; p++) {
        unsigned long good = 0;
        for (unsigned long w = 0; w < WORDS; w++)
            good += heap[p * WORDS + w] == pattern(p, w);
        intact += good == WORDS;
    }
    sys_vmstat(&end);
    unsigned long out = end.swapped_out - start.swapped_out, in = end.swapped_in - start.swapped_in;
    unsigned long clean = end.swap_clean_skips - start.swap_clean_skips;
    uprintf("swap[%ld]: verified every byte of %lu pages: %lu intact\n", pid, pages, intact);
    int ok = intact == pages && out1 >= EXTRA && in > 0 && clean > 0;
    uprintf("swap[%ld]: pages touched %lu, swapped out %lu, swapped in %lu, clean pages not rewritten %lu; %s\n", pid,
            pages, out, in, clean, ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
