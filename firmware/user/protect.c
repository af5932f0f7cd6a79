/*
 * Demonstration: protection. The parent forks one child per case; each
 * child does one forbidden thing, and the kernel kills it with a one-line
 * report (pid, address, access, reason). The parent waits for that child
 * before forking the next (child_status, ulib.c), so only one thing happens
 * at a time, and checks from the wait status (KILLED_STATUS, user/syscall.h)
 * that the child died for the right reason. The system goes on: the parent, and the tour.
 */
#include "ulib.h"

#define KERNEL_ADDRESS   0xFFFFFFFF80100000ul   /* the kernel's text: mapped, but supervisor-only */
#define UNMAPPED_ADDRESS 0x700000000000ul       /* outside the image, the heap and the stack */
#define RET_INSTRUCTION  0xC3

void protect_main(void);

/* One byte of code in the data segment: writable, so NX (W^X). */
static volatile unsigned char code_in_data[16] = {RET_INSTRUCTION};

static void read_kernel(void) { (void)*(volatile unsigned char *)KERNEL_ADDRESS; }
static void write_text(void) { *(volatile unsigned char *)(unsigned long)protect_main = RET_INSTRUCTION; }
static void jump_into_data(void) { ((void (*)(void))(unsigned long)code_in_data)(); }
static void read_unmapped(void) { (void)*(volatile unsigned char *)UNMAPPED_ADDRESS; }

struct protection_case {
    const char *name;
    void (*forbidden)(void);
    int reason, access;
    const char *why;
};

static const struct protection_case cases[] = {
    {"kernel read", read_kernel, KILL_SUPERVISOR, ACCESS_READ, "user access to a supervisor page"},
    {"text write", write_text, KILL_READ_ONLY, ACCESS_WRITE, "write to a read-only page"},
    {"data jump", jump_into_data, KILL_NO_EXECUTE, ACCESS_FETCH, "instruction fetch from a no-execute page"},
    {"unmapped read", read_unmapped, KILL_NOT_PRESENT, ACCESS_READ, "not present"},
};
#define CASES (int)(sizeof cases / sizeof cases[0])

void protect_main(void)
{
    long pid = sys_getpid();
    int matched = 0;
    for (int i = 0; i < CASES; i++) {
        int status = child_status(cases[i].forbidden);
        int expected = KILLED_STATUS(cases[i].reason, cases[i].access);
        if (status == expected) {
            matched++;
            uprintf("protect[%ld]: %s: killed as expected (%s)\n", pid, cases[i].name, cases[i].why);
        } else {
            uprintf("protect[%ld]: %s: the child's status was %d, expected %d\n", pid, cases[i].name, status, expected);
        }
    }
    uprintf("protect[%ld]: %d of %d forbidden accesses killed just the child that made them; %s\n", pid, matched, CASES,
            matched == CASES ? "PASS" : "FAIL");
    sys_exit(matched == CASES ? 0 : 1);
}
