/*
 * ROM "multiboot2": the multiboot2 header (GNU Multiboot2 Specification 2.0,
 * 3.1) asking for a 1024x768x32 linear framebuffer, and the entry. The
 * loader (GRUB 2 under QEMU, cr3 directly) enters _start in flat 32-bit
 * protected mode, paging off, with EAX = 0x36D76289 and EBX = the boot
 * information (3.3). _start switches to long mode with the first 4 GiB
 * identity-mapped by 2 MiB pages (the framebuffer at 0xFD000000 included)
 * and calls rom_main(magic, mbi) in multiboot2_rom.c.
 */
#define MB2_MAGIC       0xE85250D6
#define MB2_ARCH_I386   0
#define TAG_END         0
#define TAG_FRAMEBUFFER 5

#define CR0_PE      0x00000001
#define CR0_WP      0x00010000
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xC0000080
#define EFER_LME    0x00000100
#define PTE_FLAGS   0x003               /* present, writable */
#define PTE_PS      0x080
#define SEL_CODE    0x08
#define SEL_DATA    0x10

        .section .multiboot2, "a"
        .balign 8
mb2_header:
        .long   MB2_MAGIC
        .long   MB2_ARCH_I386
        .long   mb2_header_end - mb2_header
        .long   -(MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
        /* 3.1.11 framebuffer tag: required (flags 0), 1024x768, 32 bpp. */
        .balign 8
        .word   TAG_FRAMEBUFFER, 0
        .long   20
        .long   1024, 768, 32
        /* 3.1.3 end tag. */
        .balign 8
        .word   TAG_END, 0
        .long   8
mb2_header_end:

        .text
        .code32
        .globl _start
_start:
        cli
        cld
        movl    %eax, boot_magic
        movl    %ebx, boot_mbi

        /* Clear .bss (both loaders do; be sure), then use its stack. */
        movl    $__bss_start, %edi
        movl    $__bss_end, %ecx
        subl    %edi, %ecx
        shrl    $2, %ecx
        xorl    %eax, %eax
        rep stosl
        movl    $boot_stack_top, %esp

        /* PML4[0] -> PDPT; PDPT[0..3] -> four PDs of 2 MiB pages: 0-4 GiB. */
        movl    $boot_pdpt + PTE_FLAGS, boot_pml4
        movl    $boot_pd + PTE_FLAGS, %eax
        xorl    %ecx, %ecx
1:      movl    %eax, boot_pdpt(,%ecx,8)
        addl    $0x1000, %eax
        incl    %ecx
        cmpl    $4, %ecx
        jb      1b
        movl    $(PTE_FLAGS | PTE_PS), %eax
        xorl    %ecx, %ecx
2:      movl    %eax, boot_pd(,%ecx,8)
        addl    $0x200000, %eax
        incl    %ecx
        cmpl    $2048, %ecx
        jb      2b

        /* SDM Vol. 3A 10.8.5 "Initializing IA-32e Mode": PAE, CR3, EFER.LME, CR0.PG. */
        movl    %cr4, %eax
        orl     $CR4_PAE, %eax
        movl    %eax, %cr4
        movl    $boot_pml4, %eax
        movl    %eax, %cr3
        movl    $MSR_EFER, %ecx
        rdmsr
        orl     $EFER_LME, %eax
        wrmsr
        lgdt    boot_gdtr
        movl    %cr0, %eax
        orl     $(CR0_PG | CR0_WP | CR0_PE), %eax
        movl    %eax, %cr0
        ljmp    $SEL_CODE, $long_entry

        .code64
long_entry:
        movl    $SEL_DATA, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %ss
        movl    %eax, %fs
        movl    %eax, %gs
        movq    $boot_stack_top, %rsp
        movl    boot_magic(%rip), %edi
        movl    boot_mbi(%rip), %esi
        call    rom_main
3:      cli
        hlt
        jmp     3b

        .data
        .balign 4
boot_magic:     .long 0
boot_mbi:       .long 0
        .balign 16
boot_gdt:
        .quad   0
        .quad   0x00af9a000000ffff      /* 0x08: code, 64-bit (L=1, D=0) */
        .quad   0x00cf92000000ffff      /* 0x10: data */
boot_gdt_end:
        .balign 4
boot_gdtr:
        .word   boot_gdt_end - boot_gdt - 1
        .long   boot_gdt

        .bss
        .balign 4096
boot_pml4:      .skip 4096
boot_pdpt:      .skip 4096
boot_pd:        .skip 4 * 4096
        .balign 16
boot_stack:     .skip 16384
boot_stack_top:

        .section .note.GNU-stack, "", @progbits
