/*
 * ROM "isa64": the integer instruction set at 8/16/32/64-bit operand sizes on
 * edge operands. Each line prints results and RFLAGS & 0x8d5 with the flags
 * the Intel SDM (Vol. 2, "Flags Affected") leaves undefined masked out.
 * Input flags: "cf=0" runs with RFLAGS=0x002, "cf=1" with 0x8d7 (all set).
 */
#include "isa64.h"

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom isa64\n");
    run_alu();
    run_shift();
    run_muldiv();
    run_bits();
    run_misc();
    run_string();
    rom_done();
}
