/*
 * Demonstration: shared memory and device memory.
 *
 * Shared memory: the parent maps the page named SHM_KEY (shm_map) and
 * forks. The page stays shared, writable in both page tables over one frame
 * (not copy-on-write): the child sees 2 references, writes a message into
 * it and exits; after wait the parent reads the message through its own
 * mapping, and holds the last reference.
 *
 * MMIO: the parent maps the VGA text buffer (map_vga), writes a status line
 * into the screen's last row through it (a character and an attribute byte
 * per cell) and reads every cell back.
 */
#include "ulib.h"

#define SHM_KEY 42
#define VGA_COLS 80
#define VGA_ROWS 25
#define STATUS_ATTR 0x1F                /* white on blue */

void share_main(void);

static volatile char *const shared = (volatile char *)USER_SHM;
static volatile unsigned short *const vga = (volatile unsigned short *)USER_MMIO;

static const char message[] = "hello from the child through shared memory";
static const char status_line[] = " cr3-tour: share: this line was written by a ring 3 process through MMIO ";

static int same_text(const volatile char *a, const char *b)
{
    for (; *b; a++, b++)
        if (*a != *b)
            return 0;
    return *a == 0;
}

static _Noreturn void child(void)
{
    long pid = sys_getpid();
    long refs = sys_frame_refs(shared);
    uprintf("share[%ld]: child: the shared page's frame is mapped by %ld page tables\n", pid, refs);
    struct vmstat before, after;
    sys_vmstat(&after);                 /* both structures' stack page is now this child's own */
    sys_vmstat(&before);
    for (unsigned i = 0; i < sizeof message; i++)
        shared[i] = message[i];
    sys_vmstat(&after);
    unsigned long faults = after.cow_faults - before.cow_faults;
    uprintf("share[%ld]: child wrote %u bytes into the shared page -> %lu copy-on-write faults\n", pid,
            (unsigned)sizeof message - 1, faults);
    sys_exit(refs == 2 && faults == 0 ? 0 : 1);
}

static int vga_demonstration(long pid)
{
    if (sys_map_vga(vga) != 0) {
        uprintf("share[%ld]: map_vga failed\n", pid);
        return 0;
    }
    volatile unsigned short *row = vga + (VGA_ROWS - 1) * VGA_COLS;
    unsigned len = sizeof status_line - 1;
    for (unsigned i = 0; i < VGA_COLS; i++)
        row[i] = (unsigned short)(STATUS_ATTR << 8 | (unsigned char)(i < len ? status_line[i] : ' '));
    unsigned intact = 0;
    for (unsigned i = 0; i < VGA_COLS; i++)
        intact += row[i] == (unsigned short)(STATUS_ATTR << 8 | (unsigned char)(i < len ? status_line[i] : ' '));
    uprintf("share[%ld]: wrote a status line into the screen's last row through MMIO; read back %u of %u cells intact\n", pid,
            intact, VGA_COLS);
    return intact == VGA_COLS;
}

void share_main(void)
{
    long pid = sys_getpid();
    long mapped = sys_shm_map(SHM_KEY, shared);
    uprintf("share[%ld]: parent mapped shared memory key %d at 0x%lx (%ld page table); fork\n", pid, SHM_KEY,
            (unsigned long)shared, mapped);
    long child_pid = sys_fork();
    if (child_pid == 0)
        child();
    int status = -1;
    long waited = sys_wait(&status);
    int got = same_text(shared, message);
    long refs = sys_frame_refs(shared);
    uprintf("share[%ld]: child %ld exited with status %d; parent reads \"%s\" (%s); its frame now in %ld page table\n", pid,
            waited, status, got ? message : "?", got ? "the child's message" : "not the message", refs);
    int shm_ok = mapped == 1 && child_pid > 0 && waited == child_pid && status == 0 && got && refs == 1;
    int vga_ok = vga_demonstration(pid);
    uprintf("share[%ld]: shared memory: %s; MMIO: %s; %s\n", pid, shm_ok ? "ok" : "wrong", vga_ok ? "ok" : "wrong",
            shm_ok && vga_ok ? "PASS" : "FAIL");
    sys_exit(shm_ok && vga_ok ? 0 : 1);
}
