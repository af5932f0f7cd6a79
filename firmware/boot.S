/*
 * Multiboot (v1) entry. The loader leaves us in 32-bit protected mode with
 * paging off; we build boot page tables that map the first 1 GiB twice
 * (identity, and at KERNEL_BASE where the kernel is linked), enter long mode
 * (SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode"), jump to the higher half
 * and call kmain(). vm_init() later replaces these tables.
 *
 * The kernel is an ELF64 linked at KERNEL_BASE + 1 MiB; QEMU's -kernel only
 * loads 32-bit ELFs, so the header uses the "a.out kludge" (flag bit 16,
 * Multiboot spec 3.1.3): the loader copies the file from the header on to
 * the physical addresses given here and ignores the ELF headers.
 */
#include "kernel.h"

#define PHYS(sym) ((sym) - KERNEL_BASE)
#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00010002             /* bit 1: memory map, bit 16: address fields below */

        .section .multiboot, "a"
        .align 4
multiboot_header:
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)
        .long PHYS(multiboot_header)    /* header_addr */
        .long PHYS(__image_start)       /* load_addr */
        .long PHYS(__load_end)          /* load_end_addr */
        .long PHYS(__bss_end)           /* bss_end_addr */
        .long PHYS(_start)              /* entry_addr */

        .section .boot, "ax"
        .code32
        .globl _start
_start:
        cli
        cld
        movl    %eax, PHYS(boot_magic)
        movl    %ebx, PHYS(boot_mbi)

        /* The loader zero-fills the bss; be sure anyway. */
        movl    $PHYS(__bss_start), %edi
        movl    $PHYS(__bss_end), %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl
        movl    $PHYS(boot_stack_top), %esp

        /* PML4[0] and PML4[511] -> PDPTs; PDPT0[0] and PDPT511[510] -> one PD of 2 MiB pages. */
        movl    $PHYS(boot_pdpt_low) + 3, PHYS(boot_pml4)
        movl    $PHYS(boot_pdpt_high) + 3, PHYS(boot_pml4) + 511 * 8
        movl    $PHYS(boot_pd) + 3, PHYS(boot_pdpt_low)
        movl    $PHYS(boot_pd) + 3, PHYS(boot_pdpt_high) + 510 * 8
        movl    $0x83, %eax                     /* present, writable, 2 MiB page */
        xorl    %ecx, %ecx
1:      movl    %eax, PHYS(boot_pd)(,%ecx,8)
        addl    $0x200000, %eax
        incl    %ecx
        cmpl    $512, %ecx
        jb      1b

        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4
        movl    $PHYS(boot_pml4), %eax
        movl    %eax, %cr3
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $(EFER_LME | EFER_NXE | EFER_SCE), %eax
        wrmsr
        lgdt    PHYS(boot_gdtr)
        movl    %cr0, %eax
        orl     $(CR0_PG | CR0_WP | CR0_PE), %eax
        movl    %eax, %cr0
        ljmp    $SEL_KCODE, $PHYS(long_mode_low)

        .code64
long_mode_low:
        /* Still running at the physical address: jump up to the linked one. */
        movabsq $long_mode_high, %rax
        jmp     *%rax

        .text
long_mode_high:
        movl    $SEL_KDATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        xorl    %eax, %eax
        movl    %eax, %fs
        movl    %eax, %gs
        movabsq $boot_stack_top, %rsp
        movl    boot_magic(%rip), %edi
        movl    boot_mbi(%rip), %esi
        call    kmain
2:      hlt
        jmp     2b

        .section .boot.data, "aw"
        .align 8
boot_magic:     .long 0
boot_mbi:       .long 0
        .align 8
boot_gdt:
        .quad 0
        .quad 0x00af9a000000ffff        /* 0x08: 64-bit kernel code */
        .quad 0x00cf92000000ffff        /* 0x10: kernel data */
boot_gdt_end:
boot_gdtr:
        .word boot_gdt_end - boot_gdt - 1
        .long PHYS(boot_gdt)

        .bss
        .align 4096
boot_pml4:      .skip 4096
boot_pdpt_low:  .skip 4096
boot_pdpt_high: .skip 4096
boot_pd:        .skip 4096
        .align 16
        .globl boot_stack_top
boot_stack:     .skip 16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
