/*
 * Instruction snippets for the exceptions ROM. Each snippet is a
 * void fn(void *arg) run under rom_try (CPL0) or rom_try_user (CPL3); the
 * *_insn labels mark the instruction expected to fault or trap, so the C side
 * prints RIPs relative to them. Also: spy stubs that record where the CPU put
 * the interrupt frame, the INT 0x81 handler that IRETQs back to ring 3, and
 * the SYSCALL entry.
 */
#include "runtime.h"

#define NONCANON 0x8000000000000000
#define UNMAPPED 0x100000000            /* PML4[0] -> PDPT[4]: not present */

        .macro SNIPPET name
        .globl \name, \name\()_insn
\name:
        .endm

        .text

/* ---- #DE ---- */
        SNIPPET exc_div0
        xorl    %edx, %edx
        movl    $1, %eax
        xorl    %ecx, %ecx
exc_div0_insn:
        divq    %rcx
        ret

        SNIPPET exc_idiv
        movabsq $NONCANON, %rax         /* INT64_MIN */
        cqto
        movq    $-1, %rcx
exc_idiv_insn:
        idivq   %rcx                    /* quotient 2^63 does not fit: #DE */
        ret

/* ---- #DB ---- */
        SNIPPET exc_icebp
exc_icebp_insn:
        .byte   0xf1                    /* INT1 (ICEBP): a trap, RIP after it */
        ret

        /* POPF setting TF traps after the instruction that follows it, not after POPF. */
        SNIPPET exc_tf
        pushfq
        orq     $0x100, (%rsp)
        popfq
exc_tf_insn:
        movl    $1, %eax                /* 5 bytes; #DB (BS) arrives with RIP after it */
        pushfq                          /* not reached when the trap fires */
        andq    $~0x100, (%rsp)
        popfq
        ret

/* ---- #BP ---- */
        SNIPPET exc_int3
exc_int3_insn:
        int3
        ret

        SNIPPET exc_int3_cd
exc_int3_cd_insn:
        .byte   0xcd, 0x03              /* INT 3 (CD 03): GAS would emit CC */
        ret

/* ---- #UD ---- */
        SNIPPET exc_ud2
exc_ud2_insn:
        ud2
        ret

        SNIPPET exc_badop
exc_badop_insn:
        .byte   0x06                    /* PUSH ES: invalid in 64-bit mode */
        ret

        SNIPPET exc_lock
exc_lock_insn:
        .byte   0xf0, 0x01, 0xc3        /* LOCK ADD %eax, %ebx: register destination */
        ret

/* ---- #GP ---- */
        SNIPPET exc_hlt
exc_hlt_insn:
        hlt
        ret

        SNIPPET exc_movcr
        movl    $CR4_PAE, %eax          /* CR4's value: harmless were it to run */
exc_movcr_insn:
        movq    %rax, %cr4
        ret

        SNIPPET exc_wrmsr
        movl    $0xc0000102, %ecx       /* IA32_KERNEL_GS_BASE := 0 */
        xorl    %eax, %eax
        xorl    %edx, %edx
exc_wrmsr_insn:
        wrmsr
        ret

        SNIPPET exc_noncanon
        movabsq $NONCANON, %rax
exc_noncanon_insn:
        movq    (%rax), %rax
        ret

        SNIPPET exc_int82
exc_int82_insn:
        int     $0x82
        ret

        SNIPPET exc_int84
exc_int84_insn:
        int     $0x84
        ret

        SNIPPET exc_int83
exc_int83_insn:
        int     $0x83
        ret

        /* arg (EDI) = the selector to load into DS */
        SNIPPET exc_lds
        movl    %edi, %eax
exc_lds_insn:
        movl    %eax, %ds
        movl    $SEL_KDATA, %eax
        movl    %eax, %ds
        ret

        /* arg (EDI) = the MSR to read */
        SNIPPET exc_rdmsr
        movl    %edi, %ecx
exc_rdmsr_insn:
        rdmsr
        ret

/* ---- #SS ---- */
        SNIPPET exc_ss_mov
        movabsq $NONCANON, %rax
exc_ss_mov_insn:
        movq    (%rsp,%rax), %rbx       /* RSP-based: SS segment */
        ret

        /* CPL3 only: the #SS is delivered on TSS.RSP0, not on the broken RSP */
        SNIPPET exc_ss_push
        movq    %rsp, %rbx
        movabsq $NONCANON, %rsp
exc_ss_push_insn:
        pushq   %rax
        movq    %rbx, %rsp
        ret

/* ---- #PF ---- */
        SNIPPET exc_pf_read
        movabsq $UNMAPPED, %rax
exc_pf_read_insn:
        movq    (%rax), %rax
        ret

        SNIPPET exc_pf_write
        movabsq $UNMAPPED, %rax
exc_pf_write_insn:
        movq    $0, (%rax)
        ret

        SNIPPET exc_pf_fetch
        movabsq $UNMAPPED, %rax
exc_pf_fetch_insn:
        jmp     *%rax
        ret

/* ---- INT 0x81 through a DPL3 gate, IRETQ back to ring 3 ---- */
        SNIPPET exc_user_int81
        movq    %rsp, exc_u_rsp(%rip)
        xorl    %eax, %eax              /* RFLAGS = 0x46 (ZF PF, bit 1) */
exc_user_int81_insn:
        int     $0x81
        movq    %rax, exc_u_rax(%rip)
        pushfq
        popq    exc_u_flags(%rip)
        movw    %cs, exc_u_cs(%rip)
        ret

        /* Gate 0x81 (DPL3): record the frame, change RAX and RFLAGS, IRETQ. */
        .globl exc_int81_handler
exc_int81_handler:
        movq    %rsp, exc_spy_rsp(%rip)
        pushq   %rax
        movq    8(%rsp), %rax
        movq    %rax, exc_spy_frame+0(%rip)
        movq    16(%rsp), %rax
        movq    %rax, exc_spy_frame+8(%rip)
        movq    24(%rsp), %rax
        movq    %rax, exc_spy_frame+16(%rip)
        movq    32(%rsp), %rax
        movq    %rax, exc_spy_frame+24(%rip)
        movq    40(%rsp), %rax
        movq    %rax, exc_spy_frame+32(%rip)
        movw    %cs, exc_k_cs(%rip)
        popq    %rax
        movl    $0x5a5a1234, %eax
        orq     $0x801, 16(%rsp)        /* CF | OF in the RFLAGS image */
        iretq

/* ---- spies: record RSP and the frame, then go on to the runtime's stub ---- */
        .macro SPY vec
        .globl exc_spy_\vec
exc_spy_\vec:
        movq    %rsp, exc_spy_rsp(%rip)
        pushq   %rax
        .irp i, 0,1,2,3,4,5
        movq    8+8*\i(%rsp), %rax
        movq    %rax, exc_spy_frame+8*\i(%rip)
        .endr
        popq    %rax
        jmp     *rom_trap_stubs+8*\vec(%rip)
        .endm

        SPY 3
        SPY 8

/* ---- SYSCALL / SYSRET ---- */
        SNIPPET exc_user_syscall
        pushq   $0x40483                /* AC DF SF CF, bit 1 */
        popfq
exc_user_syscall_insn:
        syscall
        pushfq
        popq    exc_u_flags(%rip)
        pushq   $0x2
        popfq
        movw    %cs, exc_u_cs(%rip)
        movw    %ss, exc_u_ss(%rip)
        ret

        /* LSTAR: CPL0, still on the user's stack (SYSCALL switches no stack). */
        .globl exc_syscall_entry
exc_syscall_entry:
        movq    %rcx, exc_k_rcx(%rip)
        movq    %r11, exc_k_r11(%rip)
        pushfq
        popq    exc_k_flags(%rip)
        movw    %cs, exc_k_cs(%rip)
        movw    %ss, exc_k_ss(%rip)
        sysretq

/* ---- #DF: #GP while gate 13 is not present -> #NP; contributory twice ---- */
        SNIPPET exc_df
        movabsq $NONCANON, %rax
exc_df_insn:
        movq    (%rax), %rax
        ret

        .data
        .align 8
        .globl exc_spy_rsp, exc_spy_frame, exc_u_rsp, exc_u_rax, exc_u_flags
        .globl exc_u_cs, exc_u_ss, exc_k_cs, exc_k_ss, exc_k_rcx, exc_k_r11, exc_k_flags
exc_spy_rsp:    .quad 0
exc_spy_frame:  .quad 0, 0, 0, 0, 0, 0
exc_u_rsp:      .quad 0
exc_u_rax:      .quad 0
exc_u_flags:    .quad 0
exc_k_rcx:      .quad 0
exc_k_r11:      .quad 0
exc_k_flags:    .quad 0
exc_u_cs:       .word 0
exc_u_ss:       .word 0
exc_k_cs:       .word 0
exc_k_ss:       .word 0

        .section .note.GNU-stack, "", @progbits
