/*
 * Entry stubs for vectors 32-255 (hardware interrupts and self-IPIs): save
 * the caller-saved registers, call rom_irq_dispatch(vector), IRETQ. No
 * error code is pushed for these vectors.
 */
#include "runtime.h"

        .text

        .macro IRQ_STUB vec
rom_irq_stub_\vec:
        pushq   $\vec
        jmp     rom_irq_common
        .endm

        .altmacro
        .set    v, 32
        .rept   224
        IRQ_STUB %v
        .set    v, v + 1
        .endr

rom_irq_common:
        /* Entry RSP was 16-byte aligned before the CPU's 5-qword frame; +vector = 48 bytes. */
        pushq   %rax
        pushq   %rcx
        pushq   %rdx
        pushq   %rsi
        pushq   %rdi
        pushq   %r8
        pushq   %r9
        pushq   %r10
        pushq   %r11
        cld
        movq    72(%rsp), %rdi          /* the vector */
        subq    $8, %rsp                /* 48 + 72 + 8: 16-byte aligned at the call */
        call    rom_irq_dispatch
        addq    $8, %rsp
        popq    %r11
        popq    %r10
        popq    %r9
        popq    %r8
        popq    %rdi
        popq    %rsi
        popq    %rdx
        popq    %rcx
        popq    %rax
        addq    $8, %rsp                /* the vector */
        iretq

        .section .rodata
        .align 8
        .globl rom_irq_stubs
rom_irq_stubs:
        .macro IRQ_STUB_ADDR vec
        .quad   rom_irq_stub_\vec
        .endm
        .set    v, 32
        .rept   224
        IRQ_STUB_ADDR %v
        .set    v, v + 1
        .endr

        .section .note.GNU-stack, "", @progbits
