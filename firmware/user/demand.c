/*
 * Demonstration: demand paging. The heap, grown with sbrk, is not present
 * until touched; each first touch of a page faults, and the kernel maps a
 * zeroed frame there.
 * Touching N pages must cost exactly N faults and N frames, and every new
 * page must read as zeros.
 */
#include "ulib.h"

#define PAGES 16

void demand_main(void);

void demand_main(void)
{
    struct vmstat before, after;
    long pid = sys_getpid();
    sys_vmstat(&before);
    if (before.pool_free < PAGES) {     /* swapping would move pages and blur the figures */
        uprintf("demand[%ld]: %lu frames free in the pool, %d needed to count exactly without swapping; skipped\n", pid,
                before.pool_free, PAGES);
        sys_exit(EXIT_SKIPPED);
    }
    volatile unsigned long *heap = sys_sbrk(PAGES * 4096);    /* the heap grows; nothing is mapped yet */
    uprintf("demand[%ld]: touching %d heap pages at 0x%lx, none present yet\n", pid, PAGES, (unsigned long)heap);
    sys_vmstat(&before);
    int nonzero = 0;
    for (int i = 0; i < PAGES; i++) {
        volatile unsigned long *page = heap + i * 4096 / sizeof *heap;
        nonzero += page[0] != 0;        /* the first touch: a read, which faults */
        page[1] = 0xC0FFEE00ul + (unsigned long)i;
    }
    sys_vmstat(&after);
    int intact = 0;
    for (int i = 0; i < PAGES; i++)
        intact += heap[i * 4096 / sizeof *heap + 1] == 0xC0FFEE00ul + (unsigned long)i;
    unsigned long faults = after.page_faults - before.page_faults, frames = after.frames - before.frames;
    uprintf("demand[%ld]: %d pages touched -> %lu page faults -> %lu frames (pool: %lu -> %lu free)\n", pid, PAGES,
            faults, frames, before.pool_free, after.pool_free);
    int ok = faults == PAGES && frames == PAGES && nonzero == 0 && intact == PAGES &&
             before.pool_free - after.pool_free == PAGES;
    uprintf("demand[%ld]: new pages read as zero: %s; values kept: %d of %d; %s\n", pid, nonzero == 0 ? "yes" : "no",
            intact, PAGES, ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
