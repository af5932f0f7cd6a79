/*
 * The runtime of the standalone 32-bit ROMs (pm32, paging32): a multiboot
 * kernel at 1 MiB that never enters long mode. _start loads a flat GDT, a
 * stack and COM1, calls the ROM's rom32_main (which prints "cr3-rom <name>"
 * first), then prints "cr3-rom done" and exits through isa-debug-exit with 0.
 *
 * For the ROM (all registers preserved, DF must be 0):
 *   putc     AL = character
 *   puts     ESI = NUL-terminated string
 *   hex      "0x" then the low ECX nibbles of EAX
 *   newline
 *   gdt      0x08/0x10 ring-0 code/data, 0x18/0x20 ring-3 code/data (flat,
 *            4 GiB, 32-bit), 0x28 free for a TSS (in .data, writable);
 *            gdt_desc its descriptor
 */
#include "rt32.h"

        .section .multiboot, "a"
        .align 4
        .long MB_MAGIC, MB_FLAGS, -(MB_MAGIC + MB_FLAGS)

        .text
        .code32
        .globl _start, putc, puts, hex, newline, gdt, gdt_desc
_start:
        cli
        cld
        lgdtl   gdt_desc
        ljmpl   $SEL_CODE0, $1f
1:      movl    $SEL_DATA0, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %fs
        movl    %eax, %gs
        movl    %eax, %ss
        movl    $stack_top, %esp
        call    uart_init
        call    rom32_main
        movl    $s_done, %esi
        call    puts
        /* Let COM1 drain (LSR bit 6, TEMT) before the exit stops the machine. */
        movl    $1000000, %ecx
        movw    $COM1 + 5, %dx
1:      inb     %dx, %al
        testb   $0x40, %al
        jnz     3f
        pause
        loop    1b
3:      movb    $0, %al
        outb    %al, $EXIT_PORT         /* isa-debug-exit: QEMU exits with status 1 */
2:      hlt
        jmp     2b

/* ---- COM1 output (all registers preserved) ---- */
uart_init:
        movw    $COM1 + 1, %dx
        movb    $0x00, %al              /* IER: no interrupts */
        outb    %al, %dx
        movw    $COM1 + 3, %dx
        movb    $0x80, %al              /* DLAB */
        outb    %al, %dx
        movw    $COM1, %dx
        movb    $0x01, %al              /* divisor 1 */
        outb    %al, %dx
        incw    %dx
        movb    $0x00, %al
        outb    %al, %dx
        movw    $COM1 + 3, %dx
        movb    $0x03, %al              /* 8N1 */
        outb    %al, %dx
        ret

putc:                                   /* AL = character */
        pushl   %edx
        pushl   %eax
        movw    $COM1 + 5, %dx
1:      inb     %dx, %al
        testb   $0x20, %al              /* LSR bit 5: THR empty */
        jz      1b
        popl    %eax
        movw    $COM1, %dx
        outb    %al, %dx
        popl    %edx
        ret

puts:                                   /* ESI = NUL-terminated string; DF must be 0 */
        pushl   %esi
        pushl   %eax
1:      lodsb
        testb   %al, %al
        jz      2f
        call    putc
        jmp     1b
2:      popl    %eax
        popl    %esi
        ret

hex:                                    /* "0x" then the low ECX nibbles of EAX */
        pushal
        movl    %eax, %edx
        movb    $'0', %al
        call    putc
        movb    $'x', %al
        call    putc
1:      decl    %ecx
        movl    %edx, %eax
        pushl   %ecx
        shll    $2, %ecx
        shrl    %cl, %eax
        popl    %ecx
        andl    $15, %eax
        movb    hexdigits(%eax), %al
        call    putc
        testl   %ecx, %ecx
        jnz     1b
        popal
        ret

newline:
        pushl   %eax
        movb    $'\n', %al
        call    putc
        popl    %eax
        ret

        .section .rodata
hexdigits:      .ascii "0123456789abcdef"
s_done:         .asciz "cr3-rom done\n"

        .data
        .balign 8
gdt:    .quad   0
        .quad   0x00cf9a000000ffff      /* 0x08: code, DPL 0, base 0, 4 GiB, D=1 */
        .quad   0x00cf92000000ffff      /* 0x10: data, DPL 0 */
        .quad   0x00cffa000000ffff      /* 0x18: code, DPL 3 */
        .quad   0x00cff2000000ffff      /* 0x20: data, DPL 3 */
        .quad   0                       /* 0x28: free for a TSS */
gdt_desc:
        .word   gdt_desc - gdt - 1
        .long   gdt

        .bss
        .balign 16
                .skip   16384
stack_top:
