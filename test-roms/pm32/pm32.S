/*
 * ROM "pm32": integer instructions in 32-bit protected mode, paging off.
 * Standalone, on runtime32 (rt32.S: multiboot header, flat GDT, stack, COM1
 * output); never enters long mode. Each case prints operands, the result (full EAX,
 * so 8/16-bit writes show the preserved upper bits) and EFLAGS & 0x8d5
 * with the flags the SDM leaves undefined for that instruction masked out.
 */
#include "rt32.h"
#define FALL        0x8D7               /* bit 1 + OF SF ZF AF PF CF all set */

        .text
        .code32
        .globl rom32_main
rom32_main:
        movl    $s_hello, %esi
        call    puts
        call    alu_cases
        call    unary_cases
        call    shift_cases
        call    muldiv_cases
        call    ext_cases
        call    lea_cases
        call    setcc_cases
        call    stack_cases
        call    string_cases
        ret

pv:                                     /* puts(ESI), hex(EAX, ECX) */
        call    puts
        jmp     hex

/* Prints a case from its descriptor (EBX) and r_eax, r_edx, r_fl. */
#define D_NAME  0
#define D_A     4
#define D_B     8
#define D_D     12
#define D_SZ    16
#define D_ASZ   20
#define D_MASK  24
#define D_KIND  28                      /* 1: show b, 2: show d in, 4: show d out */
#define D_FIN   32
report:
        cld
        movl    D_NAME(%ebx), %esi
        call    puts
        movl    D_ASZ(%ebx), %ecx
        addl    %ecx, %ecx
        movl    $s_a, %esi
        movl    D_A(%ebx), %eax
        call    pv
        movl    D_SZ(%ebx), %ecx
        addl    %ecx, %ecx
        testb   $1, D_KIND(%ebx)
        jz      1f
        movl    $s_b, %esi
        movl    D_B(%ebx), %eax
        call    pv
1:      testb   $2, D_KIND(%ebx)
        jz      1f
        movl    $s_d, %esi
        movl    D_D(%ebx), %eax
        call    pv
1:      movl    $4, %ecx
        movl    D_FIN(%ebx), %eax
        andl    $0x8D5, %eax
        jz      1f                      /* flags in shown only when not all clear */
        movl    $s_in, %esi
        call    pv
1:      movl    $8, %ecx
        movl    $s_r, %esi
        movl    r_eax, %eax
        call    pv
        testb   $4, D_KIND(%ebx)
        jz      1f
        movl    $s_d, %esi
        movl    r_edx, %eax
        call    pv
1:      movl    $4, %ecx
        movl    $s_f, %esi
        movl    r_fl, %eax
        andl    D_MASK(%ebx), %eax
        andl    $0x8D5, %eax
        call    pv
        jmp     newline

/*
 * One case: EAX = a, ECX = b, EDX = d, each above its operand size filled
 * with a pattern; EFLAGS = fin; run insn; report. asz: width of a if not sz.
 */
        .macro  CASE name, insn, sz, a, b=0, kind=1, fin=0x002, mask=0x8D5, d=0, asz=0
        .ifeq   \asz
        .set    .Lasz, \sz
        .else
        .set    .Lasz, \asz
        .endif
        .section .rodata
.Lname\@: .asciz "\name"
        .balign 4
.Ldesc\@: .long .Lname\@, \a, \b, \d, \sz, .Lasz, \mask, \kind, \fin
        .text
        movl    $(((0xA5A5A5A5 >> (8 * .Lasz)) << (8 * .Lasz)) | (\a)), %eax
        movl    $(((0x5A5A5A5A >> (8 * \sz)) << (8 * \sz)) | (\b)), %ecx
        movl    $(((0x3C3C3C3C >> (8 * \sz)) << (8 * \sz)) | (\d)), %edx
        pushl   $\fin
        popfl
        \insn
        pushfl
        popl    r_fl
        movl    %eax, r_eax
        movl    %edx, r_edx
        movl    $.Ldesc\@, %ebx
        call    report
        .endm

/* ---- two-operand ALU: add adc sub sbb and or xor cmp ---- */
        .macro  ALU op, mask
        CASE    \op\()8,  "\op\()b %cl, %al", 1, 0x7f, 0x01, mask=\mask
        CASE    \op\()8,  "\op\()b %cl, %al", 1, 0xff, 0x01, mask=\mask
        CASE    \op\()8,  "\op\()b %cl, %al", 1, 0x80, 0x80, mask=\mask
        CASE    \op\()8,  "\op\()b %cl, %al", 1, 0x0f, 0xf1, mask=\mask
        CASE    \op\()8,  "\op\()b %cl, %al", 1, 0x7f, 0x01, fin=FALL, mask=\mask
        CASE    \op\()8i, "\op\()b $0x90, %al", 1, 0x10, 0x90, mask=\mask
        CASE    \op\()16, "\op\()w %cx, %ax", 2, 0x7fff, 0x0001, mask=\mask
        CASE    \op\()16, "\op\()w %cx, %ax", 2, 0x8000, 0x0001, mask=\mask
        CASE    \op\()16, "\op\()w %cx, %ax", 2, 0xffff, 0xffff, mask=\mask
        CASE    \op\()16, "\op\()w %cx, %ax", 2, 0x0000, 0xffff, fin=FALL, mask=\mask
        CASE    \op\()16i, "\op\()w $-2, %ax", 2, 0x0001, 0xfffe, mask=\mask
        CASE    \op\()32, "\op\()l %ecx, %eax", 4, 0x7fffffff, 0x00000001, mask=\mask
        CASE    \op\()32, "\op\()l %ecx, %eax", 4, 0x00000000, 0x00000001, mask=\mask
        CASE    \op\()32, "\op\()l %ecx, %eax", 4, 0x80000000, 0x80000000, mask=\mask
        CASE    \op\()32, "\op\()l %ecx, %eax", 4, 0x12345678, 0x0fedcba9, fin=FALL, mask=\mask
        CASE    \op\()32i, "\op\()l $0x7f, %eax", 4, 0xffffff81, 0x7f, mask=\mask
        .endm

alu_cases:
        ALU     add, 0x8D5
        ALU     adc, 0x8D5
        ALU     sub, 0x8D5
        ALU     sbb, 0x8D5
        ALU     cmp, 0x8D5
        ALU     and, 0x8C5              /* AF undefined (SDM AND/OR/XOR "Flags Affected") */
        ALU     or,  0x8C5
        ALU     xor, 0x8C5
        ret

/* ---- inc dec neg not: CF kept by inc/dec, shown with CF in set and clear ---- */
        .macro  UN op
        .irp    v, 0x00, 0x7f, 0x80, 0xff
        CASE    \op\()8, "\op\()b %al", 1, \v, kind=0
        .endr
        CASE    \op\()8, "\op\()b %al", 1, 0x01, kind=0, fin=FALL
        .irp    v, 0x0000, 0x7fff, 0x8000, 0xffff
        CASE    \op\()16, "\op\()w %ax", 2, \v, kind=0
        .endr
        CASE    \op\()16, "\op\()w %ax", 2, 0x0001, kind=0, fin=FALL
        .irp    v, 0x00000000, 0x7fffffff, 0x80000000, 0xffffffff
        CASE    \op\()32, "\op\()l %eax", 4, \v, kind=0
        .endr
        CASE    \op\()32, "\op\()l %eax", 4, 0x00000001, kind=0, fin=FALL
        .endm

unary_cases:
        UN      inc
        UN      dec
        UN      neg
        UN      not
        ret

/*
 * Shifts and rotates by CL. SDM SAL/SAR/SHL/SHR: count 0 leaves the flags;
 * AF is undefined for a nonzero count, OF for a count other than 1, CF
 * for SHL/SHR counts >= the operand size. SDM RCL/RCR/ROL/ROR: only CF
 * and OF change, OF undefined unless the masked count is 1.
 */
        .macro  SH op, sz, sfx, reg, cnt, a, fin
        .set    .Lc, (\cnt) & 0x1F
        .ifc    \op, rol
        .set    .Lrot, 1
        .else
        .ifc    \op, ror
        .set    .Lrot, 1
        .else
        .set    .Lrot, 0
        .endif
        .endif
        .if     .Lc == 0 || (.Lrot && .Lc == 1)
        .set    .Lm, 0x8D5
        .elseif .Lrot
        .set    .Lm, 0x0D5
        .elseif .Lc == 1
        .set    .Lm, 0x8C5
        .elseif .Lc < 8 * \sz
        .set    .Lm, 0x0C5
        .else
        .ifc    \op, sar
        .set    .Lm, 0x0C5
        .else
        .set    .Lm, 0x0C4
        .endif
        .endif
        CASE    \op\()\sfx, "\op %cl, \reg", \sz, \a, \cnt, fin=\fin, mask=.Lm
        .endm

        .macro  SHS op
        .irp    c, 0, 1, 7, 8
        SH      \op, 1, 8, %al, \c, 0x81, FALL
        SH      \op, 1, 8, %al, \c, 0x40, 0x002
        .endr
        .irp    c, 0, 1, 15, 16
        SH      \op, 2, 16, %ax, \c, 0x8001, FALL
        SH      \op, 2, 16, %ax, \c, 0x4000, 0x002
        .endr
        .irp    c, 0, 1, 31, 32
        SH      \op, 4, 32, %eax, \c, 0x80000001, FALL
        SH      \op, 4, 32, %eax, \c, 0x40000000, 0x002
        .endr
        .endm

shift_cases:
        SHS     shl
        SHS     shr
        SHS     sar
        SHS     rol
        SHS     ror
        /* The D0/D1 (by 1) and C0/C1 (by imm8) encodings. */
        CASE    shl8by1, "shlb $1, %al", 1, 0xc0, 1, mask=0x8C5
        CASE    sar16by1, "sarw $1, %ax", 2, 0x8001, 1, mask=0x8C5
        CASE    ror32by1, "rorl $1, %eax", 4, 0x00000001, 1, mask=0x8D5
        CASE    shr32imm, "shrl $4, %eax", 4, 0x8000000f, 4, mask=0x0C5
        CASE    rol8imm, "rolb $12, %al", 1, 0x81, 12, mask=0x0D5
        CASE    shl32imm33, "shll $33, %eax", 4, 0x40000001, 33, mask=0x8C5
        ret

/* ---- mul imul div idiv: MUL/IMUL define only CF OF; DIV/IDIV none ---- */
muldiv_cases:
        CASE    mul8,  "mulb %cl", 1, 0x80, 0x02, kind=5, mask=0x801
        CASE    mul8,  "mulb %cl", 1, 0x0f, 0x0f, kind=5, mask=0x801
        CASE    mul16, "mulw %cx", 2, 0xffff, 0xffff, kind=5, mask=0x801
        CASE    mul16, "mulw %cx", 2, 0x0100, 0x00ff, kind=5, mask=0x801
        CASE    mul32, "mull %ecx", 4, 0xffffffff, 0x00000002, kind=5, mask=0x801
        CASE    mul32, "mull %ecx", 4, 0x00010000, 0x0000ffff, kind=5, mask=0x801
        CASE    imul8, "imulb %cl", 1, 0x80, 0xff, kind=5, mask=0x801
        CASE    imul8, "imulb %cl", 1, 0xfe, 0x03, kind=5, mask=0x801
        CASE    imul16, "imulw %cx", 2, 0x8000, 0x0002, kind=5, mask=0x801
        CASE    imul16, "imulw %cx", 2, 0xff00, 0x007f, kind=5, mask=0x801
        CASE    imul32, "imull %ecx", 4, 0x80000000, 0xffffffff, kind=5, mask=0x801
        CASE    imul32, "imull %ecx", 4, 0xfffffff9, 0x00000003, kind=5, mask=0x801
        CASE    imul16r, "imulw %cx, %ax", 2, 0x0100, 0x0100, mask=0x801
        CASE    imul16r, "imulw %cx, %ax", 2, 0xfff0, 0x0010, mask=0x801
        CASE    imul32r, "imull %ecx, %eax", 4, 0x00010000, 0x00008000, mask=0x801
        CASE    imul32r, "imull %ecx, %eax", 4, 0x00010000, 0x00010000, mask=0x801
        CASE    imul32i, "imull $-3, %ecx, %eax", 4, 0, 0x40000000, mask=0x801
        CASE    imul16i, "imulw $0x7fff, %cx, %ax", 2, 0, 0x0002, mask=0x801
        CASE    imul32i8, "imull $5, %ecx, %eax", 4, 0, 0x11111111, mask=0x801
        CASE    div8,  "divb %cl", 1, 0x1234, 0x56, kind=5, mask=0, asz=2
        CASE    div8,  "divb %cl", 1, 0x00ff, 0xff, kind=5, mask=0, asz=2
        CASE    div16, "divw %cx", 2, 0x3456, 0x1234, kind=7, mask=0, d=0x0012
        CASE    div32, "divl %ecx", 4, 0x00000002, 0x00000010, kind=7, mask=0, d=0x00000001
        CASE    div32, "divl %ecx", 4, 0xffffffff, 0xffffffff, kind=7, mask=0, d=0xfffffffe
        CASE    idiv8, "idivb %cl", 1, 0xff9c, 0x07, kind=5, mask=0, asz=2
        CASE    idiv8, "idivb %cl", 1, 0xff80, 0x01, kind=5, mask=0, asz=2
        CASE    idiv8, "idivb %cl", 1, 0x0064, 0xf9, kind=5, mask=0, asz=2
        CASE    idiv16, "idivw %cx", 2, 0xfc18, 0x0007, kind=7, mask=0, d=0xffff
        CASE    idiv32, "idivl %ecx", 4, 0xfffffff9, 0x00000002, kind=7, mask=0, d=0xffffffff
        CASE    idiv32, "idivl %ecx", 4, 0x80000000, 0xffffffff, kind=7, mask=0, d=0x00000000
        ret

/* ---- movzx movsx cbw cwde cwd cdq and 16-bit moves: no flags change ---- */
ext_cases:
        CASE    movzx8to16, "movzbw %cl, %ax", 1, 0x00, 0x80, fin=FALL
        CASE    movsx8to16, "movsbw %cl, %ax", 1, 0x00, 0x80, fin=FALL
        CASE    movzx8to32, "movzbl %cl, %eax", 1, 0x00, 0x80
        CASE    movsx8to32, "movsbl %cl, %eax", 1, 0x00, 0x80
        CASE    movsx8to32, "movsbl %cl, %eax", 1, 0x00, 0x7f
        CASE    movzx16to32, "movzwl %cx, %eax", 2, 0x0000, 0x8001
        CASE    movsx16to32, "movswl %cx, %eax", 2, 0x0000, 0x8001
        CASE    movsx16to32, "movswl %cx, %eax", 2, 0x0000, 0x7fff, fin=FALL
        CASE    cbw, "cbtw", 1, 0x80, kind=0
        CASE    cbw, "cbtw", 1, 0x7f, kind=0, fin=FALL
        CASE    cwde, "cwtl", 2, 0x8000, kind=0
        CASE    cwde, "cwtl", 2, 0x7fff, kind=0
        CASE    cwd, "cwtd", 2, 0x8000, kind=4
        CASE    cwd, "cwtd", 2, 0x7fff, kind=4, fin=FALL
        CASE    cdq, "cltd", 4, 0x80000000, kind=4
        CASE    cdq, "cltd", 4, 0x7fffffff, kind=4
        CASE    mov16, "movw %cx, %ax", 2, 0x1111, 0x2222
        CASE    mov16i, "movw $0xbeef, %ax", 2, 0x1111, 0xbeef
        CASE    mov8hi, "movb %cl, %ah", 1, 0x11, 0x99
        CASE    xchg16, "xchgw %cx, %ax; movw %cx, %dx", 2, 0x1234, 0x5678, kind=5
        ret

/*
 * LEA: 32-bit SIB forms, a 16-bit operand (0x66: upper EAX kept), and
 * 16-bit address size (0x67: the sum wraps at 64 KiB, then zero-extends).
 */
lea_cases:
        CASE    lea32sib, "leal 0x10(%eax,%ecx,4), %eax", 4, 0x00001000, 0x00000003
        CASE    lea32sib, "leal -1(%eax,%ecx,8), %eax", 4, 0xfffffff0, 0x00000002
        CASE    lea32idx, "leal 0x12345678(,%ecx,2), %eax", 4, 0, 0x80000000
        CASE    lea32ebp, "movl %eax, %ebp; leal -0x80(%ebp,%ecx,1), %eax", 4, 0x00000100, 0x00000001
        CASE    lea32wrap, "leal 0x10(%eax,%ecx,1), %eax", 4, 0xfffffff8, 0x00000001, fin=FALL
        CASE    lea16op, "leaw 3(%eax,%ecx,8), %ax", 2, 0xfffe, 0x1000
        CASE    lea16addr, "movl %eax, %ebx; movl %ecx, %esi; leal 0x8000(%bx,%si), %eax", 4, 0x1234f000, 0x00002000
        CASE    lea16addr, "movl %eax, %ebp; movl %ecx, %edi; leal -2(%bp,%di), %eax", 4, 0x00000001, 0xabcd0000
        CASE    lea16addr, "movl %eax, %ebx; leal 0x7f(%bx), %eax", 4, 0xffffffa0, 0
        CASE    lea16disp, "addr16 leal 0xfffe, %eax", 4, 0x55555555, 0
        CASE    lea16both, "movl %ecx, %edi; leaw 0x10(%di), %ax", 2, 0x9999, 0xfff8
        ret

/* ---- SETcc: for each EFLAGS value, the 16 conditions in opcode order ---- */
        .macro  SETCC fin
        pushl   $\fin
        popfl
        .set    .Li, 0
        .irp    cc, o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g
        set\cc  setbuf + .Li
        .set    .Li, .Li + 1
        .endr
        pushfl
        popl    r_fl
        movl    $\fin, %eax
        call    setcc_report
        .endm

setcc_report:                           /* EAX = flags in */
        movl    $s_setcc, %esi
        movl    $4, %ecx
        call    pv
        movl    $s_setcc2, %esi
        call    puts
        xorl    %ebx, %ebx
1:      movb    setbuf(%ebx), %al
        addb    $'0', %al
        call    putc
        incl    %ebx
        cmpl    $16, %ebx
        jb      1b
        movl    $s_f, %esi
        movl    r_fl, %eax
        andl    $0x8D5, %eax
        call    pv
        jmp     newline

setcc_cases:
        .irp    f, 0x002, 0x003, 0x006, 0x042, 0x043, 0x082, 0x802, 0x882, 0x842, 0x8C2, 0x0C2, FALL
        SETCC   \f
        .endr
        /* Register forms: SETcc writes only the low byte. */
        CASE    setc_reg, "setc %al", 1, 0x00, kind=0, fin=0x003
        CASE    setnz_reg, "setnz %ah", 1, 0x00, kind=0, fin=0x002
        ret

/* ---- stack: values and ESP deltas only (no absolute addresses) ---- */
        .macro  PV label, src
        .section .rodata
.Lpv\@: .asciz " \label="
        .text
        movl    \src, %eax
        movl    $.Lpv\@, %esi
        movl    $8, %ecx
        call    pv
        .endm

        .macro  NAME str
        .section .rodata
.Lnm\@: .asciz "\str"
        .text
        movl    $.Lnm\@, %esi
        call    puts
        .endm

ret8:   ret     $8
call_target:
        movl    (%esp), %eax            /* the return address */
        ret

stack_cases:
        /* PUSH imm32 / imm16 (0x66) / imm8 sign-extended, then POPs. */
        movl    %esp, %ebp
        movl    $0x11110000, %ecx
        pushl   $0x12345678
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t0
        pushw   $0xbeef
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t1
        pushl   $-2
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t2
        popl    t3
        popw    %cx
        popl    %edx
        movl    %ecx, t4
        movl    %edx, t5
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t6
        NAME    push/pop
        PV      d32, t0
        PV      d16, t1
        PV      d8, t2
        PV      pop32, t3
        PV      pop16, t4
        PV      pop32b, t5
        PV      dend, t6
        call    newline

        /* PUSH ESP stores the value before the push; PUSH (ESP) reads before; POP (ESP) addresses after. */
        pushl   %esp
        popl    %eax
        subl    %esp, %eax
        movl    %eax, t0
        pushw   %sp
        popw    %ax
        subw    %sp, %ax
        movzwl  %ax, %eax
        movl    %eax, t1
        subl    $8, %esp
        movl    $0x11111111, (%esp)
        movl    $0x22222222, 4(%esp)
        pushl   4(%esp)
        popl    t2
        popl    (%esp)                  /* SDM POP: address computed after ESP is incremented */
        movl    (%esp), %eax
        movl    %eax, t3
        addl    $4, %esp
        movl    %esp, %ebp
        leal    -64(%esp), %eax
        pushl   %eax
        popl    %esp                    /* ESP = the popped value */
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t4
        movl    %ebp, %esp
        NAME    push-esp
        PV      pushesp, t0
        PV      pushsp, t1
        PV      pushmem, t2
        PV      popmem, t3
        PV      popesp, t4
        call    newline

        /* CALL pushes the next EIP; RET imm16 releases the arguments. */
        call    1f
1:      popl    %eax
        subl    $1b, %eax
        movl    %eax, t0
        movl    $call_target, %eax
        call    *%eax
2:      subl    $2b, %eax
        movl    %eax, t1
        movl    %esp, %ebp
        pushl   $1
        pushl   $2
        call    ret8
        movl    %ebp, %eax
        subl    %esp, %eax
        movl    %eax, t2
        NAME    call/ret
        PV      rel, t0
        PV      ind, t1
        PV      ret8, t2
        call    newline

        /* PUSHAD stores EAX ECX EDX EBX ESP(original) EBP ESI EDI; POPAD skips ESP. */
        movl    %esp, t7
        movl    $0xa0a0a0a0, %eax
        movl    $0xc1c1c1c1, %ecx
        movl    $0xd2d2d2d2, %edx
        movl    $0xb3b3b3b3, %ebx
        movl    $0xb5b5b5b5, %ebp
        movl    $0x56565656, %esi
        movl    $0xd7d7d7d7, %edi
        pushal
        movl    t7, %eax
        subl    %esp, %eax
        movl    %eax, t0                /* 32 */
        movl    12(%esp), %eax
        subl    t7, %eax
        movl    %eax, t1                /* 0 */
        movl    (%esp), %eax
        xorl    28(%esp), %eax
        movl    %eax, t2                /* edi ^ eax */
        movl    16(%esp), %eax
        movl    %eax, t3                /* ebx */
        movl    $0xdeadbeef, 12(%esp)
        movl    $0x01010101, 28(%esp)
        popal
        movl    %eax, t4
        movl    %esp, %eax
        subl    t7, %eax
        movl    %eax, t5                /* 0: the ESP slot was skipped */
        movl    %edi, t6
        NAME    pushad/popad
        PV      d, t0
        PV      espslot, t1
        PV      edi^eax, t2
        PV      ebx, t3
        PV      eax, t4
        PV      dend, t5
        PV      edi, t6
        call    newline
        /* PUSHA/POPA with 0x66: eight words. */
        movl    %esp, t7
        movl    $0x12345678, %eax
        movl    $0x9abcdef0, %ecx
        pushaw
        movl    t7, %eax
        subl    %esp, %eax
        movl    %eax, t0                /* 16 */
        movzwl  14(%esp), %eax
        movl    %eax, t1                /* AX: 0x5678 */
        movw    $0x4242, 12(%esp)
        movl    $0x77770000, %eax
        popaw
        movl    %eax, t2                /* upper half kept */
        movl    %ecx, t3
        NAME    pushaw/popaw
        PV      d, t0
        PV      ax, t1
        PV      eax, t2
        PV      ecx, t3
        call    newline

        /* POPFD at CPL0: IOPL, NT, AC, ID, DF... writable; RF, VIP, VIF cleared; VM kept (SDM POPF). */
        movl    %esp, t7
        pushl   $0xfffffcff             /* all but TF and IF */
        popfl
        pushfl
        popl    t0
        pushl   $0
        popfl
        pushfl
        popl    t1
        pushl   $0x00000cd7              /* DF and the status flags; IF stays 0 */
        popfl
        pushfw
        movl    t7, %eax
        subl    %esp, %eax
        movl    %eax, t2                /* 2 */
        movzwl  (%esp), %eax
        movl    %eax, t3
        movw    $0x0001, (%esp)
        popfw
        pushfl
        popl    t4
        pushl   $0x002
        popfl
        NAME    pushfd/popfd
        PV      all, t0
        PV      none, t1
        PV      dw, t2
        PV      flags16, t3
        PV      popfw, t4
        call    newline
        ret

/* ---- string instructions ---- */
        .macro  SREP name, insn, esi_off, edi_off, count, eax_in, fin
        call    buf_init
        movl    $(src + \esi_off), %esi
        movl    $(dst + \edi_off), %edi
        movl    $\count, %ecx
        movl    $\eax_in, %eax
        pushl   $\fin
        popfl
        \insn
        pushfl
        popl    r_fl
        movl    %eax, r_eax
        cld
        subl    $(src + \esi_off), %esi
        subl    $(dst + \edi_off), %edi
        movl    %esi, t0
        movl    %edi, t1
        movl    %ecx, t2
        NAME    \name
        PV      dsi, t0
        PV      ddi, t1
        PV      ecx, t2
        PV      eax, r_eax
        movl    r_fl, %eax
        andl    $0x8D5, %eax
        movl    %eax, t3
        PV      f, t3
        call    dump_dst
        call    newline
        .endm

buf_init:                               /* src[i] = 7i + 3, dst[i] = 0xEE */
        xorl    %ebx, %ebx
1:      leal    3(%ebx,%ebx,2), %eax
        leal    (%eax,%ebx,4), %eax
        movb    %al, src(%ebx)
        movb    $0xEE, dst(%ebx)
        incl    %ebx
        cmpl    $64, %ebx
        jb      1b
        ret

dump_dst:                               /* " dst:" and 12 dwords of dst */
        pushal
        movl    $s_dst, %esi
        call    puts
        xorl    %ebx, %ebx
1:      movb    $' ', %al
        call    putc
        movl    dst(,%ebx,4), %eax
        movl    $8, %ecx
        call    hex
        incl    %ebx
        cmpl    $12, %ebx
        jb      1b
        popal
        ret

string_cases:
        SREP    rep-movsb-df0, "rep movsb", 1, 2, 13, 0, 0x002
        SREP    rep-movsw-df0, "rep movsw", 0, 4, 5, 0, 0x002
        SREP    rep-movsd-df0, "rep movsl", 4, 8, 3, 0, FALL
        SREP    rep-movsb-df1, "rep movsb", 20, 30, 7, 0, 0x402
        SREP    rep-movsd-df1, "rep movsl", 32, 40, 4, 0, 0x402
        SREP    rep-stosb-df0, "rep stosb", 0, 3, 9, 0x11223377, 0x002
        SREP    rep-stosw-df1, "rep stosw", 0, 20, 3, 0x1122abcd, 0x402
        SREP    rep-stosd-df0, "rep stosl", 0, 8, 3, 0xcafef00d, 0x002
        SREP    rep-movsb-ecx0, "rep movsb", 0, 0, 0, 0, FALL
        SREP    movsw-df1, "movsw", 10, 10, 7, 0, 0x402
        SREP    lodsb-df0, "lodsb", 5, 0, 0, 0xaaaaaaaa, 0x002
        SREP    lodsw-df1, "lodsw", 6, 0, 0, 0xaaaaaaaa, 0x402
        SREP    lodsd-df0, "lodsl", 8, 0, 0, 0xaaaaaaaa, 0x002
        SREP    stosw-df0, "stosw", 0, 1, 0, 0x5555beef, 0x002
        /* CMPS/SCAS set flags like CMP; REPE/REPNE stop on ZF or ECX = 0. */
        SREP    repe-cmpsb, "movl $dst, %edi; rep movsb; movb $0x99, dst+5; movl $src, %esi; movl $dst, %edi; movl $16, %ecx; repe cmpsb", 0, 0, 16, 0, 0x002
        SREP    repe-cmpsd-all, "movl $src, %esi; movl $dst, %edi; movl $4, %ecx; rep movsl; movl $src, %esi; movl $dst, %edi; movl $4, %ecx; repe cmpsl", 0, 0, 0, 0, 0x002
        SREP    repne-scasb, "repne scasb", 0, 0, 64, 0xee, 0x002
        SREP    repne-scasb-hit, "movl $src, %edi; repne scasb; leal (dst - src)(%edi), %edi", 0, 0, 64, 0x18, 0x002
        SREP    repe-scasw-df1, "movl $dst+40, %edi; movl $8, %ecx; repe scasw", 0, 40, 8, 0xeeee, 0x402
        SREP    scasb-ne, "scasb", 0, 0, 0, 0x01, 0x002
        SREP    cmpsw-df1, "cmpsw", 2, 2, 0, 0, 0x402
        ret

/* ---- data ---- */
        .section .rodata
s_hello:        .asciz "cr3-rom pm32\n"
s_a:            .asciz " a="
s_b:            .asciz " b="
s_d:            .asciz " d="
s_in:           .asciz " in="
s_r:            .asciz " -> r="
s_f:            .asciz " f="
s_dst:          .asciz " dst:"
s_setcc:        .asciz "setcc in="
s_setcc2:       .asciz " o,no,b,ae,e,ne,be,a,s,ns,p,np,l,ge,le,g="

        .data
        .balign 4
r_eax:  .long   0
r_edx:  .long   0
r_fl:   .long   0
t0:     .long   0
t1:     .long   0
t2:     .long   0
t3:     .long   0
t4:     .long   0
t5:     .long   0
t6:     .long   0
t7:     .long   0
setbuf: .fill   16, 1, 0
src:    .fill   64, 1, 0
dst:    .fill   64, 1, 0

