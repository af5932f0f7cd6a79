/*
 * Demonstration: isolation. Two processes use the same virtual address and
 * each sees its own value there. After fork, parent and child both write
 * one heap page; copy on write gives the writer a frame of its own (cow.c).
 * Then they take turns (yield) many times, each checking its value after
 * the other ran: with PCIDs both translations of that address stay in the
 * TLB at once, tagged by address space (SDM Vol. 3A 4.10.1), and neither
 * may ever see the other's. Last, a page the child maps (mmap) does not
 * exist for the parent: another child of the parent that reads there is
 * killed, not present.
 */
#include "ulib.h"

#define TURNS 64
#define PARENT_VALUE 0x1111111111111111ul
#define CHILD_VALUE  0x2222222222222222ul

void isolate_main(void);

static volatile unsigned long *shared_address;
static void read_childs_page(void) { (void)*(volatile unsigned long *)USER_MMAP; }

static _Noreturn void child(void)
{
    long pid = sys_getpid();
    *shared_address = CHILD_VALUE;      /* copy on write: the child's own frame from here on */
    int own_frame = sys_frame_refs(shared_address) == 1;
    int seen = 0;
    for (int turn = 0; turn < TURNS; turn++) {
        sys_yield();
        seen += *shared_address == CHILD_VALUE;
    }
    uprintf("isolate[%ld]: child wrote 0x%lx at 0x%lx (a frame of its own: %s); saw its value after %d of %d turns\n",
            pid, CHILD_VALUE, (unsigned long)shared_address, own_frame ? "yes" : "no", seen, TURNS);
    volatile unsigned long *page = sys_mmap(0, 4096, PROT_READ | PROT_WRITE);
    int mapped = page == (void *)USER_MMAP;
    if (mapped)
        *page = CHILD_VALUE;
    uprintf("isolate[%ld]: child mapped a page at 0x%lx and wrote to it\n", pid, (unsigned long)page);
    sys_exit(own_frame && seen == TURNS && mapped ? 0 : 1);
}

void isolate_main(void)
{
    long pid = sys_getpid();
    shared_address = sys_sbrk(4096);
    *shared_address = PARENT_VALUE;
    uprintf("isolate[%ld]: parent wrote 0x%lx at 0x%lx; fork\n", pid, PARENT_VALUE, (unsigned long)shared_address);
    long child_pid = sys_fork();
    if (child_pid == 0)
        child();
    int seen = 0;
    for (int turn = 0; turn < TURNS; turn++) {
        sys_yield();
        seen += *shared_address == PARENT_VALUE;
    }
    int status = -1;
    long waited = sys_wait(&status);
    int kept = *shared_address == PARENT_VALUE;
    uprintf("isolate[%ld]: child %ld exited with status %d; the parent saw its own value after %d of %d turns, and "
            "still reads 0x%lx\n",
            pid, waited, status, seen, TURNS, *shared_address);
    int unmapped = sys_frame_refs((void *)USER_MMAP) == 0 &&
                   child_status(read_childs_page) == KILLED_STATUS(KILL_NOT_PRESENT, ACCESS_READ);
    int ok = child_pid > 0 && waited == child_pid && status == 0 && seen == TURNS && kept && unmapped;
    uprintf("isolate[%ld]: 0x%lx, where the child mapped a page, %s; %s\n", pid, USER_MMAP,
            unmapped ? "is not mapped here: a read there was killed (not present)" : "IS MAPPED HERE", ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
