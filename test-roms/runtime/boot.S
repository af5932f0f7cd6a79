/*
 * Multiboot (v1) entry: 32-bit protected mode, paging off -> 64-bit long mode
 * with the first 4 GiB identity-mapped by 2 MiB pages, then rom_main().
 */
#include "runtime.h"

#define MB_MAGIC 0x1BADB002
#define MB_FLAGS 0x00000003             /* bit 0: page-align modules, bit 1: memory info */

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC
        .long MB_FLAGS
        .long -(MB_MAGIC + MB_FLAGS)

        .text
        .code32
        .globl _start
_start:
        /* Multiboot state: EAX = magic, EBX = info, flat 32-bit segments, IF = 0. */
        cli
        cld
        movl    %eax, boot_magic
        movl    %ebx, boot_mbi

        /* Clear .bss (the loader should have, but be sure), then use its stack. */
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl
        movl    $boot_stack_top, %esp

        /* PML4[0] -> PDPT; PDPT[0..3] -> four PDs; PD entries: 2 MiB pages. */
        movl    $boot_pdpt + PTE_FLAGS, boot_pml4
        movl    $boot_pd, %eax
        addl    $PTE_FLAGS, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, boot_pdpt(,%ecx,8)
        addl    $0x1000, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jb      1b

        movl    $(PTE_FLAGS | PTE_PS), %eax     /* frame 0, then +2 MiB each */
        xorl    %ecx, %ecx
2:      movl    %eax, boot_pd(,%ecx,8)          /* high dword stays 0 */
        addl    $0x200000, %eax
        incl    %ecx
        cmpl    $2048, %ecx
        jb      2b

        /* SDM Vol. 3A "Initializing IA-32e Mode": PAE, CR3, EFER.LME, then CR0.PG. */
        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $(EFER_LME | EFER_NXE), %eax
        wrmsr
        lgdt    boot_gdtr
        movl    %cr0, %eax
        orl     $(CR0_PG | CR0_WP | CR0_PE), %eax
        movl    %eax, %cr0
        /* Now in compatibility mode; a far jump to an L=1 code segment enters 64-bit mode. */
        ljmp    $SEL_KCODE, $long_entry

        .code64
long_entry:
        movl    $SEL_KDATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        movq    $boot_stack_top, %rsp
        call    rom_runtime_init
        movl    boot_magic(%rip), %edi
        movl    boot_mbi(%rip), %esi
        call    rom_main
        xorl    %edi, %edi
        call    rom_exit
3:      hlt
        jmp     3b

        .data
        .align 4
boot_magic:     .long 0
boot_mbi:       .long 0

        /* GDT ("Segment Descriptors"); the order suits SYSRET with STAR[63:48] = 0x10. */
        .align 16
        .globl rom_gdt
rom_gdt:
        .quad 0                         /* 0x00 null */
        .quad 0x00af9a000000ffff        /* 0x08 kernel code, 64-bit (L=1, D=0) */
        .quad 0x00cf92000000ffff        /* 0x10 kernel data */
        .quad 0x00cff2000000ffff        /* 0x18 user data, DPL 3 */
        .quad 0x00affa000000ffff        /* 0x20 user code, 64-bit, DPL 3 */
        .quad 0, 0                      /* 0x28 64-bit TSS, filled in by rom_runtime_init */
rom_gdt_end:

        .align 4
boot_gdtr:
        .word rom_gdt_end - rom_gdt - 1
        .long rom_gdt

        .bss
        .align 4096
        .globl boot_pml4
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pd:        .skip 4 * 4096
        .align 16
boot_stack:     .skip 16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
