/*
 * ROM "triplefault": an exception that cannot be delivered. With an empty IDT
 * (limit 0) the #UD from UD2 finds no gate: #GP(6*8+2+1), whose gate is out of
 * limits too, so #DF; #DF's delivery fails as well, and the processor enters
 * shutdown (Intel SDM Vol. 3A, "Interrupt 8—Double Fault Exception (#DF)":
 * "If any other exception occurs while attempting to call the double-fault
 * handler, the processor enters shutdown mode"). Under -no-reboot QEMU exits
 * instead of resetting; nothing after this line is printed, and no
 * "cr3-rom done".
 */
#include "runtime.h"

struct dtr {
    uint16_t limit;
    uint64_t base;
} __attribute__((packed));

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom triplefault\n");
    rom_puts("loading an empty IDT (limit 0) and executing ud2: #UD -> #GP -> #DF -> shutdown\n");

    static const struct dtr empty = { 0, 0 };
    __asm__ volatile("lidt %0\n\t"
                     "ud2" : : "m"(empty) : "memory");
    rom_puts("still running after the triple fault\n");
    rom_exit(1);
}
