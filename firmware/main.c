/*
 * kmain: boot the machine, then run the tour's demonstrations, one process
 * each, and end with a summary. Exit status through isa-debug-exit: 0 when
 * every demonstration passed (or was skipped: swap without a disk), 1 when
 * one failed, 2 on a kernel panic.
 */
#include "kernel.h"

#define MULTIBOOT_MAGIC 0x2BADB002

/* The user programs' entry points (user/), linked at their user addresses. */
extern char demand_main[], cow_main[], swap_main[], protect_main[], share_main[], isolate_main[], mmap_main[], wx_main[];

struct demonstration {
    const char *name;
    const char *entry;
};

static const struct demonstration tour[] = {
    {"demand", demand_main},
    {"cow", cow_main},
    {"swap", swap_main},
    {"protect", protect_main},
    {"share", share_main},
    {"isolate", isolate_main},
    {"mmap", mmap_main},
    {"wx", wx_main},
};

void kmain(uint32_t magic, uint32_t mbi);

void kmain(uint32_t magic, uint32_t mbi)
{
    console_init();
    if (magic != MULTIBOOT_MAGIC)
        panic("not booted by a multiboot loader (eax %x)", magic);
    frames_init(mbi);
    vm_init();
    console_enable_vga();
    kprintf("cr3-tour: a kernel that shows virtual memory at work\n");
    kprintf("memory: %lu usable frames of 4 KiB; user pool of %lu frames\n", frames_usable(), uframes_total());
    kprintf("kernel: at 0x%lx (supervisor-only, global); a PML4 per process\n", (uint64_t)KERNEL_BASE);
    trap_init();
    syscall_init();
    lapic_init();
    swap_init();
    if (swap_slots())
        kprintf("swap: ATA disk of %lu sectors; %lu slots of 4 KiB\n", ata_sectors(), swap_slots());
    else
        kprintf("swap: no ATA disk; pages cannot be swapped out\n");

    for (unsigned i = 0; i < sizeof tour / sizeof tour[0]; i++) {
        int pid = proc_spawn(tour[i].name, (uint64_t)tour[i].entry);
        kprintf("kernel: pid %d runs %s\n", pid, tour[i].name);
        proc_run_all();                 /* one demonstration at a time: its output stays in order */
    }
    if (uframes_free() != uframes_total())
        panic("%lu user frames leaked", uframes_total() - uframes_free());
    if (swap_slots_used() != 0)
        panic("%lu swap slots leaked", swap_slots_used());
    if (swap_slots())
        kprintf("swap: %lu pages swapped out (%lu written to the disk, %lu clean ones not rewritten), %lu swapped in\n",
                stat_swapped_out, stat_swapped_out - stat_clean_skips, stat_clean_skips, stat_swapped_in);
    if (stat_skips)
        kprintf("summary: %lu passed, %lu failed, %lu skipped\n", stat_passes, stat_fails, stat_skips);
    else
        kprintf("summary: %lu passed, %lu failed\n", stat_passes, stat_fails);
    kprintf(stat_fails == 0 ? "all passed\n" : "some failed\n");
    power_off(stat_fails == 0 ? 0 : 1);
}
