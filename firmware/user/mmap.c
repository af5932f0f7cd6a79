/*
 * Demonstration: the memory system calls. sbrk grows and shrinks the heap,
 * mmap adds a demand-zero region, mprotect changes its rights, munmap gives
 * pages back. Each step is checked against the figures the kernel keeps
 * (vmstat: page faults, frames held, the pool), and each access the new
 * map forbids by a child that makes it and is killed for the right reason.
 */
#include "ulib.h"

#define PAGE 4096ul
#define HEAP_PAGES 8
#define SHRINK_PAGES 4
#define MAP_PAGES 16
#define NEEDS_FREE (HEAP_PAGES + MAP_PAGES / 2 + 8)  /* the pages touched, and room for the children's copies */

void mmap_main(void);

static volatile unsigned char *target;  /* what the next child touches */
static void read_target(void) { (void)*target; }
static void write_target(void) { *target = 1; }

static volatile unsigned long *page_at(volatile void *base, unsigned long i)
{
    return (volatile unsigned long *)((unsigned long)base + i * PAGE);
}

void mmap_main(void)
{
    long pid = sys_getpid();
    struct vmstat start, grown, shrunk, mapped, touched, unmapped, end;
    int ok = 1;

    /* sbrk: the heap grows by whole pages, each present only once touched; shrinking gives frames back. */
    sys_vmstat(&start);
    if (start.pool_free < NEEDS_FREE) {  /* swapping would move pages and blur the figures */
        uprintf("mmap[%ld]: %lu frames free in the pool, %d needed to count exactly without swapping; skipped\n", pid,
                start.pool_free, NEEDS_FREE);
        sys_exit(EXIT_SKIPPED);
    }
    volatile void *heap = sys_sbrk((long)(HEAP_PAGES * PAGE));
    for (unsigned long i = 0; i < HEAP_PAGES; i++)
        *page_at(heap, i) = i;
    sys_vmstat(&grown);
    uprintf("mmap[%ld]: sbrk(+%d pages) at 0x%lx; touched %d -> %lu page faults, %lu frames\n", pid, HEAP_PAGES,
            (unsigned long)heap, HEAP_PAGES, grown.page_faults - start.page_faults, grown.frames - start.frames);
    ok &= heap == (void *)USER_HEAP && grown.page_faults - start.page_faults == HEAP_PAGES &&
          grown.frames - start.frames == HEAP_PAGES;
    sys_sbrk(-(long)(SHRINK_PAGES * PAGE));
    sys_vmstat(&shrunk);
    target = (volatile unsigned char *)page_at(heap, HEAP_PAGES - SHRINK_PAGES);
    int above_break = child_status(read_target) == KILLED_STATUS(KILL_NOT_PRESENT, ACCESS_READ);
    uprintf("mmap[%ld]: sbrk(-%d pages): %lu frames back to the pool; a child's read above the break: %s\n", pid,
            SHRINK_PAGES, shrunk.pool_free - grown.pool_free, above_break ? "killed as expected (not present)" : "NOT KILLED");
    ok &= sys_sbrk(0) == (void *)target && grown.frames - shrunk.frames == SHRINK_PAGES &&
          shrunk.pool_free - grown.pool_free == SHRINK_PAGES && above_break;

    /* mmap: a demand-zero region; only the pages touched get frames. */
    volatile void *region = sys_mmap(0, MAP_PAGES * PAGE, PROT_READ | PROT_WRITE);
    sys_vmstat(&mapped);
    int zeros = 0;
    for (unsigned long i = 0; i < MAP_PAGES; i += 2) {
        zeros += *page_at(region, i) == 0;
        *page_at(region, i) = 0xAB00 + i;
    }
    sys_vmstat(&touched);
    uprintf("mmap[%ld]: mmap(%d pages, rw-) at 0x%lx: %lu frames until touched; touched %d -> %lu page faults, %lu frames, "
            "%d read as zero\n",
            pid, MAP_PAGES, (unsigned long)region, mapped.frames - shrunk.frames, MAP_PAGES / 2,
            touched.page_faults - mapped.page_faults, touched.frames - mapped.frames, zeros);
    ok &= region == (void *)USER_MMAP && mapped.frames == shrunk.frames && touched.frames - mapped.frames == MAP_PAGES / 2 &&
          touched.page_faults - mapped.page_faults == MAP_PAGES / 2 && zeros == MAP_PAGES / 2;

    /* mprotect read-only: reads go on; writes kill, to a touched page and to a first touch alike. */
    long protected = sys_mprotect((void *)region, MAP_PAGES * PAGE, PROT_READ);
    int intact = 0;
    for (unsigned long i = 0; i < MAP_PAGES; i += 2)
        intact += *page_at(region, i) == 0xAB00 + i;
    target = (volatile unsigned char *)page_at(region, 0);
    int touched_write = child_status(write_target) == KILLED_STATUS(KILL_READ_ONLY, ACCESS_WRITE);
    target = (volatile unsigned char *)page_at(region, 1);
    int untouched_write = child_status(write_target) == KILLED_STATUS(KILL_READ_ONLY, ACCESS_WRITE);
    uprintf("mmap[%ld]: mprotect(r--): %d of %d values still read; a child's write to a touched page and to an untouched "
            "one: %s\n",
            pid, intact, MAP_PAGES / 2,
            touched_write && untouched_write ? "both killed as expected (write to a read-only page)" : "NOT KILLED");
    ok &= protected == 0 && intact == MAP_PAGES / 2 && touched_write && untouched_write;

    /* mprotect read-write again: the first write to each page takes it back through the copy-on-write path. */
    struct vmstat before_write, after_write;
    protected = sys_mprotect((void *)region, MAP_PAGES * PAGE, PROT_READ | PROT_WRITE);
    sys_vmstat(&before_write);
    *page_at(region, 0) = 0xCD00;
    sys_vmstat(&after_write);
    uprintf("mmap[%ld]: mprotect(rw-): the first write -> %lu copy-on-write fault, %lu frames copied; it reads back: %s\n",
            pid, after_write.cow_faults - before_write.cow_faults, after_write.cow_copies - before_write.cow_copies,
            *page_at(region, 0) == 0xCD00 ? "yes" : "no");
    ok &= protected == 0 && after_write.cow_faults - before_write.cow_faults == 1 &&
          after_write.cow_copies == before_write.cow_copies && *page_at(region, 0) == 0xCD00;

    /* munmap the upper half: its touched pages' frames go back; the addresses are gone. */
    long unmapped_half = sys_munmap((void *)page_at(region, MAP_PAGES / 2), MAP_PAGES / 2 * PAGE);
    sys_vmstat(&unmapped);
    target = (volatile unsigned char *)page_at(region, MAP_PAGES / 2);
    int gone = child_status(read_target) == KILLED_STATUS(KILL_NOT_PRESENT, ACCESS_READ);
    uprintf("mmap[%ld]: munmap(upper %d pages): %lu frames back to the pool; a child's read there: %s\n", pid,
            MAP_PAGES / 2, after_write.frames - unmapped.frames, gone ? "killed as expected (not present)" : "NOT KILLED");
    ok &= unmapped_half == 0 && after_write.frames - unmapped.frames == MAP_PAGES / 4 && gone;

    /* Bad requests are refused, and a huge munmap over nothing is cheap (only existing tables are visited). */
    int refused = sys_sbrk((long)(USER_HEAP_SIZE + PAGE)) == MAP_FAILED && sys_mmap(0, 0, PROT_READ) == MAP_FAILED &&
                  sys_mmap((void *)(USER_MMAP + 1), PAGE, PROT_READ) == MAP_FAILED &&
                  sys_mprotect((void *)(USER_MMAP + MAP_PAGES * PAGE), PAGE, PROT_READ) == -1 &&
                  sys_munmap((void *)(USER_MMAP + 1), PAGE) == -1;
    long huge = sys_munmap((void *)0x100000000000ul, 0x100000000000ul);
    uprintf("mmap[%ld]: sbrk past the heap's end, mmap of 0 bytes or at an odd address, mprotect of unmapped pages, "
            "munmap at an odd address: %s; munmap of 16 TiB holding nothing: %ld\n",
            pid, refused ? "all refused" : "NOT ALL REFUSED", huge);
    ok &= refused && huge == 0;

    /* Give everything back: the process holds what it held at the start. */
    sys_munmap((void *)region, MAP_PAGES / 2 * PAGE);
    sys_sbrk(-(long)((HEAP_PAGES - SHRINK_PAGES) * PAGE));
    sys_vmstat(&end);
    ok &= end.frames == start.frames && end.pool_free == start.pool_free && sys_sbrk(0) == (void *)USER_HEAP;
    uprintf("mmap[%ld]: unmapped the rest: frames %lu, pool %lu free, as at the start (%lu, %lu); %s\n", pid, end.frames,
            end.pool_free, start.frames, start.pool_free, ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
