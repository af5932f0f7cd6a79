/*
 * Demonstration: W^X, a page is writable or executable, never both. A
 * program that makes code at run time writes it into a writable page (NX),
 * then asks mprotect to make the page read-only and executable before it
 * calls it. The kernel refuses any request for both rights at once.
 */
#include "ulib.h"

#define PAGE 4096ul

void wx_main(void);

/* mov eax, 42; ret */
static const unsigned char code[] = {0xB8, 42, 0, 0, 0, 0xC3};

static volatile unsigned char *page;
static void call_page(void) { ((int (*)(void))(unsigned long)page)(); }
static void write_page(void) { page[0] = 0xC3; }

void wx_main(void)
{
    long pid = sys_getpid();
    page = sys_mmap(0, PAGE, PROT_READ | PROT_WRITE);
    if (page == MAP_FAILED)
        sys_exit(1);
    for (unsigned i = 0; i < sizeof code; i++)
        page[i] = code[i];
    int no_execute = child_status(call_page) == KILLED_STATUS(KILL_NO_EXECUTE, ACCESS_FETCH);
    uprintf("wx[%ld]: wrote %u bytes of code (mov eax, 42; ret) into an rw- page at 0x%lx; a child's call: %s\n", pid,
            (unsigned)sizeof code, (unsigned long)page,
            no_execute ? "killed as expected (instruction fetch from a no-execute page)" : "NOT KILLED");

    long protected = sys_mprotect((void *)page, PAGE, PROT_READ | PROT_EXEC);
    int result = protected == 0 ? ((int (*)(void))(unsigned long)page)() : -1;
    int read_only = child_status(write_page) == KILLED_STATUS(KILL_READ_ONLY, ACCESS_WRITE);
    uprintf("wx[%ld]: mprotect(r-x): the call returns %d; a child's write to the page: %s\n", pid, result,
            read_only ? "killed as expected (write to a read-only page)" : "NOT KILLED");

    int refused = sys_mmap(0, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == MAP_FAILED &&
                  sys_mprotect((void *)page, PAGE, PROT_READ | PROT_WRITE | PROT_EXEC) == -1;
    int ok = no_execute && result == 42 && read_only && refused;
    uprintf("wx[%ld]: mmap(rwx) and mprotect(rwx): %s; %s\n", pid,
            refused ? "both refused, no page is ever writable and executable" : "GRANTED", ok ? "PASS" : "FAIL");
    sys_exit(ok ? 0 : 1);
}
