/*
 * Ways into the kernel and back out: the interrupt/exception stubs, the
 * SYSCALL entry, and the kernel-stack switch between processes. All of them
 * build the same struct trap_frame (kernel.h) on the current kernel stack.
 */
#include "kernel.h"

        .text

/* Exceptions 8, 10-14, 17, 21, 29, 30 push an error code (SDM Vol. 3A 6.13); the others get a 0. */
.macro stub vector
        .align 16
stub_\vector:
.if (\vector == 8) || (\vector >= 10 && \vector <= 14) || (\vector == 17) || (\vector == 21) || (\vector == 29) || (\vector == 30)
.else
        pushq   $0
.endif
        pushq   $\vector
        jmp     trap_common
.endm

.macro push_regs
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
.endm

.macro pop_regs
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
.endm

.altmacro
.set i, 0
.rept 256
        stub %i
        .set i, i + 1
.endr

        /* The stub addresses, for trap_init() to put in the IDT. */
        .section .rodata
        .align 8
        .globl trap_stubs
trap_stubs:
.macro stub_address vector
        .quad stub_\vector
.endm
.set i, 0
.rept 256
        stub_address %i
        .set i, i + 1
.endr
        .text

trap_common:
        push_regs
        movq    %rsp, %rdi
        call    trap
        .globl trap_return
trap_return:
        pop_regs
        addq    $16, %rsp                       /* vector and error code */
        iretq

/*
 * SYSCALL (SDM Vol. 3A 5.8.8): RCX = user RIP, R11 = user RFLAGS, still the
 * user RSP, IF cleared by IA32_FMASK. One CPU, so a plain variable holds the
 * current process's kernel stack top.
 */
        .globl syscall_entry
syscall_entry:
        movq    %rsp, syscall_user_rsp(%rip)
        movq    kernel_stack_top(%rip), %rsp
        pushq   $SEL_UDATA                      /* ss */
        pushq   syscall_user_rsp(%rip)          /* rsp */
        pushq   %r11                            /* rflags */
        pushq   $SEL_UCODE                      /* cs */
        pushq   %rcx                            /* rip */
        pushq   $0                              /* error */
        pushq   $-1                             /* vector: a system call */
        push_regs
        movq    %rsp, %rdi
        call    syscall_dispatch
        movq    %rax, 14 * 8(%rsp)              /* the result goes back in rax */
        pop_regs
        addq    $16, %rsp
        /* SYSRET takes RIP from RCX and RFLAGS from R11; a rebuilt frame may carry changed values. */
        movq    0(%rsp), %rcx
        movq    16(%rsp), %r11
        movq    24(%rsp), %rsp
        sysretq

/*
 * switch_stacks(&old_rsp, new_rsp): save the callee-saved registers on this
 * kernel stack, park its RSP in *old_rsp, and resume the stack new_rsp was
 * parked with (or a new process's prepared stack, which "returns" into
 * trap_return and from there into ring 3).
 */
        .globl switch_stacks
switch_stacks:
        pushq   %rbp
        pushq   %rbx
        pushq   %r12
        pushq   %r13
        pushq   %r14
        pushq   %r15
        movq    %rsp, (%rdi)
        movq    %rsi, %rsp
        popq    %r15
        popq    %r14
        popq    %r13
        popq    %r12
        popq    %rbx
        popq    %rbp
        ret

        .bss
        .align 8
        .globl kernel_stack_top
kernel_stack_top:   .quad 0
syscall_user_rsp:   .quad 0

        .section .note.GNU-stack, "", @progbits
