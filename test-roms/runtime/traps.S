/*
 * Exception entry stubs, rom_try / rom_try_user (a setjmp/longjmp built on the
 * interrupt frame), and memset/memcpy.
 */
#include "runtime.h"

/* struct rom_rec (runtime.c) field offsets */
#define REC_ACTIVE  0
#define REC_USER    8
#define REC_RSP     16
#define REC_FAULT   24

        .text

/* The CPU pushes an error code for 8, 10-14, 17, 21, 29, 30 (SDM "Exception and Interrupt Reference"). */
        .macro STUB vec
rom_stub_\vec:
        .if (\vec == 8) || (\vec >= 10 && \vec <= 14) || (\vec == 17) || (\vec == 21) || (\vec == 29) || (\vec == 30)
        .else
        pushq   $0                      /* dummy error code */
        .endif
        pushq   $\vec
        jmp     rom_trap_common
        .endm

        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
        STUB \v
        .endr

rom_trap_common:
        pushq   %rax
        pushq   %rbx
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %rbp
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        cld
        movq    %rsp, %rdi              /* struct rom_frame *; RSP is 16-byte aligned here */
        call    rom_trap
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rbp
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rbx
        popq    %rax
        addq    $16, %rsp               /* vector, error code */
        iretq

/* Common prologue of rom_try and rom_try_user: save callee-saved registers, arm rom_rec. */
        .macro TRY_ENTER user
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        subq    $8, %rsp                /* keep RSP 16-byte aligned at the call */
        movq    $0, 0(%rdx)             /* clear *f */
        movq    $0, 8(%rdx)
        movq    $0, 16(%rdx)
        movq    $0, 24(%rdx)
        movq    %rdx, rom_rec+REC_FAULT(%rip)
        movq    %rsp, rom_rec+REC_RSP(%rip)
        movq    $\user, rom_rec+REC_USER(%rip)
        movq    $1, rom_rec+REC_ACTIVE(%rip)
        .endm

/* int rom_try(void (*fn)(void *), void *arg, struct rom_fault *f) */
        .globl rom_try
rom_try:
        TRY_ENTER 0
        movq    %rdi, %rax
        movq    %rsi, %rdi
        call    *%rax
        xorl    %eax, %eax
        jmp     rom_try_finish

/* int rom_try_user(void (*fn)(void *), void *arg, struct rom_fault *f) */
        .globl rom_try_user
rom_try_user:
        TRY_ENTER 1
        leaq    rom_user_stack_top(%rip), %rax
        leaq    rom_user_return(%rip), %rcx
        subq    $8, %rax
        movq    %rcx, (%rax)            /* fn returns into the trampoline */
        pushq   $SEL_UDATA              /* SS */
        pushq   %rax                    /* RSP */
        pushq   $0x2                    /* RFLAGS: IF = 0, IOPL = 0 */
        pushq   $SEL_UCODE              /* CS */
        pushq   %rdi                    /* RIP = fn */
        movq    %rsi, %rdi              /* arg */
        xorl    %eax, %eax
        xorl    %ebx, %ebx
        xorl    %ecx, %ecx
        xorl    %edx, %edx
        xorl    %esi, %esi
        xorl    %ebp, %ebp
        xorl    %r8d, %r8d
        xorl    %r9d, %r9d
        xorl    %r10d, %r10d
        xorl    %r11d, %r11d
        xorl    %r12d, %r12d
        xorl    %r13d, %r13d
        xorl    %r14d, %r14d
        xorl    %r15d, %r15d
        iretq

        /* Runs at CPL3: back to ring 0 through the DPL-3 gate, on TSS.RSP0. */
        .globl rom_user_return
rom_user_return:
        int     $VEC_USER_RETURN
        ud2

/* rom_trap iretq's here with RAX = result and RSP = rom_rec.rsp. */
        .globl rom_try_resume
rom_try_resume:
        /* IRET to CPL3 nulled DS/ES/FS/GS (SDM Vol. 2A, IRET); reload them. */
        movl    $SEL_KDATA, %ecx
        movl    %ecx, %ds
        movl    %ecx, %es
        movl    %ecx, %fs
        movl    %ecx, %gs
rom_try_finish:
        movq    $0, rom_rec+REC_ACTIVE(%rip)
        addq    $8, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret

/* void *memset(void *d, int c, size_t n) */
        .globl memset
memset:
        movq    %rdi, %r8
        movl    %esi, %eax
        movq    %rdx, %rcx
        rep stosb
        movq    %r8, %rax
        ret

/* void *memcpy(void *d, const void *s, size_t n) */
        .globl memcpy
memcpy:
        movq    %rdi, %rax
        movq    %rdx, %rcx
        rep movsb
        ret

        .section .rodata
        .align 8
        .globl rom_trap_stubs
rom_trap_stubs:                         /* vectors 0..31, then VEC_USER_RETURN */
        .irp v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,128
        .quad rom_stub_\v
        .endr

        .bss
        .align 16
        .globl rom_rec
rom_rec:        .skip 32
        .align 16
rom_user_stack: .skip 16384
rom_user_stack_top:

        .section .note.GNU-stack, "", @progbits
