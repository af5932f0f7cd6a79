/*
 * Demonstration: copy-on-write fork. The parent fills PAGES heap pages and
 * forks; the child starts with the same frames, shared read-only. The child
 * writes CHILD_WRITES of them: each first write faults and the kernel copies
 * that one frame, so the child sees its values and the parent keeps its
 * own. After wait (the child gone), the parent holds the last reference to
 * every page: its writes fault too, but the kernel just makes the page
 * writable again, copying nothing. Only one process prints at a time: the
 * child before it exits, the parent after wait.
 */
#include "ulib.h"

#define PAGES 8
#define CHILD_WRITES 3                  /* pages 0, 3, 6: every third */
#define PARENT_WRITES 4                 /* pages 0, 2, 4, 6: every second */
#define PARENT_VALUE 0xA0000000ul
#define CHILD_VALUE 0xC0000000ul

void cow_main(void);

static volatile unsigned long *page(int i) { return (volatile unsigned long *)(USER_HEAP + (unsigned long)i * 4096); }
static int child_writes_page(int i) { return i % 3 == 0; }
static int parent_writes_page(int i) { return i % 2 == 0; }

static _Noreturn void child(void)
{
    struct vmstat before, after;
    sys_vmstat(&after);                 /* both structures' stack page is now this child's own */
    long pid = sys_getpid();
    int shared = 0;
    for (int i = 0; i < PAGES; i++)
        shared += sys_frame_refs(page(i)) == 2;
    uprintf("cow[%ld]: child sees %d of %d heap pages shared with its parent (2 references each)\n", pid, shared, PAGES);

    sys_vmstat(&before);
    int written = 0;
    for (int i = 0; i < PAGES; i++)
        if (child_writes_page(i))
            page(i)[0] = CHILD_VALUE + (unsigned long)i, written++;
    sys_vmstat(&after);

    int sees = 0, still_shared = 0, own = 0;
    for (int i = 0; i < PAGES; i++) {
        unsigned long expected = (child_writes_page(i) ? CHILD_VALUE : PARENT_VALUE) + (unsigned long)i;
        sees += page(i)[0] == expected;
        long refs = sys_frame_refs(page(i));
        own += child_writes_page(i) && refs == 1;
        still_shared += !child_writes_page(i) && refs == 2;
    }
    unsigned long faults = after.cow_faults - before.cow_faults, copies = after.cow_copies - before.cow_copies;
    uprintf("cow[%ld]: child wrote %d pages -> %lu copy-on-write faults -> %lu frames copied\n", pid, written, faults,
            copies);
    uprintf("cow[%ld]: child sees its values in %d of %d pages; its own frames: %d; still shared: %d\n", pid, sees, PAGES,
            own, still_shared);
    int ok = shared == PAGES && written == CHILD_WRITES && faults == CHILD_WRITES && copies == CHILD_WRITES &&
             sees == PAGES && own == CHILD_WRITES && still_shared == PAGES - CHILD_WRITES;
    sys_exit(ok ? 0 : 1);
}

void cow_main(void)
{
    struct vmstat before, after;
    long pid = sys_getpid();
    if (sys_sbrk(PAGES * 4096) != (void *)USER_HEAP)
        sys_exit(1);                    /* the heap starts empty at USER_HEAP */
    for (int i = 0; i < PAGES; i++)
        page(i)[0] = PARENT_VALUE + (unsigned long)i;   /* demand paging maps each one */
    uprintf("cow[%ld]: parent filled %d heap pages; fork\n", pid, PAGES);
    sys_vmstat(&after);
    sys_vmstat(&before);
    unsigned long pool_before_fork = before.pool_free;

    long child_pid = sys_fork();
    if (child_pid == 0)
        child();
    int status = -1;
    long waited = sys_wait(&status);

    /* The child is gone: its copies went back to the pool, its references with them. */
    int untouched = 0, last_reference = 0;
    for (int i = 0; i < PAGES; i++) {
        untouched += page(i)[0] == PARENT_VALUE + (unsigned long)i;
        last_reference += sys_frame_refs(page(i)) == 1;
    }
    uprintf("cow[%ld]: child %ld exited with status %d; parent's pages untouched: %d of %d; it holds the last reference to %d\n", pid,
            waited, status, untouched, PAGES, last_reference);

    sys_vmstat(&after);
    sys_vmstat(&before);
    int written = 0;
    for (int i = 0; i < PAGES; i++)
        if (parent_writes_page(i))
            page(i)[0] = PARENT_VALUE + 0x100 + (unsigned long)i, written++;
    sys_vmstat(&after);
    unsigned long faults = after.cow_faults - before.cow_faults, copies = after.cow_copies - before.cow_copies;
    unsigned long reuses = after.cow_reuses - before.cow_reuses;
    uprintf("cow[%ld]: parent wrote %d pages -> %lu copy-on-write faults -> %lu frames copied, %lu taken back\n", pid,
            written, faults, copies, reuses);

    int ok = child_pid > 0 && waited == child_pid && status == 0 && untouched == PAGES && last_reference == PAGES &&
             written == PARENT_WRITES && faults == PARENT_WRITES && copies == 0 && reuses == PARENT_WRITES &&
             after.pool_free == pool_before_fork;
    uprintf("cow[%ld]: pool: %lu frames free before fork, %lu after the child exited; %s\n", pid, pool_before_fork,
            after.pool_free, ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
