/*
 * The descriptor tables: a GDT laid out for SYSCALL/SYSRET, a 64-bit TSS
 * whose RSP0 is the stack the CPU switches to when an interrupt arrives in
 * ring 3 (SDM Vol. 3A 8.7), and an IDT of 256 interrupt gates into entry.S.
 * trap() is where every exception and interrupt lands.
 */
#include "kernel.h"

struct tss {
    uint32_t reserved0;
    uint64_t rsp0, rsp1, rsp2;
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
} __attribute__((packed));

struct descriptor_pointer {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

static struct tss tss;
static uint64_t gdt[7] = {
    0,
    0x00af9a000000ffff,                 /* 0x08 kernel code, 64-bit */
    0x00cf92000000ffff,                 /* 0x10 kernel data */
    0x00cff2000000ffff,                 /* 0x18 user data, DPL 3 */
    0x00affa000000ffff,                 /* 0x20 user code, 64-bit, DPL 3 */
    0, 0,                               /* 0x28 the TSS (a 16-byte system descriptor) */
};
static uint64_t idt[512];               /* 256 gates of 16 bytes */
extern const uint64_t trap_stubs[256];

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow", "#BR bound", "#UD invalid opcode",
    "#NM no FPU", "#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15", "#MF x87 error",
    "#AC alignment check", "#MC machine check", "#XM SIMD error", "#VE virtualization", "#CP control protection",
};

void tss_set_rsp0(uint64_t rsp0) { tss.rsp0 = rsp0; }

void trap_init(void)
{
    uint64_t base = (uint64_t)&tss, limit = sizeof tss - 1;
    tss.iomap_base = sizeof tss;        /* no I/O permission bitmap: ring 3 gets no ports */
    gdt[5] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 | (base >> 24 & 0xff) << 56;
    gdt[6] = base >> 32;
    struct descriptor_pointer gdtr = {sizeof gdt - 1, (uint64_t)gdt};
    __asm__ volatile("lgdt %0" : : "m"(gdtr));
    __asm__ volatile("ltr %w0" : : "r"(SEL_TSS));

    for (int v = 0; v < 256; v++) {
        uint64_t h = trap_stubs[v];
        idt[2 * v] = (h & 0xffff) | (uint64_t)SEL_KCODE << 16 | 0x8Eull << 40 | (h >> 16 & 0xffff) << 48;
        idt[2 * v + 1] = h >> 32;
    }
    struct descriptor_pointer idtr = {sizeof idt - 1, (uint64_t)idt};
    __asm__ volatile("lidt %0" : : "m"(idtr));
}

void trap(struct trap_frame *tf)
{
    bool from_user = (tf->cs & 3) == 3;
    if (tf->vector == VEC_TIMER) {
        lapic_eoi();
        if (from_user)
            proc_timer_tick(tf);
        return;
    }
    if (tf->vector == VEC_SPURIOUS)
        return;                         /* no EOI for a spurious interrupt (SDM 11.9) */
    if (tf->vector == 14) {
        uint64_t cr2 = read_cr2();
        if (from_user && proc_page_fault(tf, cr2))
            return;
        if (!from_user)
            panic("kernel page fault at 0x%lx, error %lx, rip 0x%lx", cr2, tf->error, tf->rip);
        return;                         /* proc_page_fault killed the process */
    }
    const char *name = tf->vector < 32 && exception_names[tf->vector] ? exception_names[tf->vector] : "interrupt";
    if (from_user) {
        proc_kill_current(name);
        return;
    }
    panic("%s (vector %lu) in the kernel, error %lx, rip 0x%lx", name, tf->vector, tf->error, tf->rip);
}
