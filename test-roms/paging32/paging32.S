/*
 * ROM "paging32": 32-bit paging (CR4.PAE=0) and PAE paging (CR4.PAE=1,
 * EFER.LME=0) from 32-bit protected mode. Standalone, on runtime32 (rt32.S:
 * multiboot header, GDT with ring 0 and ring 3 flat segments, stack, COM1
 * output); its own TSS and IDT.
 *
 * Every case starts with paging off, rebuilds the paging structures (all A/D
 * clear), edits a few entries, turns paging on (CR0.PG set: the TLBs start
 * empty), makes one access at CPL0 or CPL3 to the test region at linear
 * TEST, turns paging off again and prints the result and the A/D flags of
 * the leaf entry and of its parent ("-" where there is none).
 *
 * Physical memory: the ROM (1 MiB..) and BIG = 8 MiB, the frame of the
 * 4 MiB / 2 MiB pages. Linear: 0..4 MiB identity-mapped with 4 KiB pages
 * (supervisor, but for the .user pages), so the ROM keeps running whatever
 * CR4.PSE says; TEST + 0 the data page, TEST + 0x1000 the code page,
 * TEST + 4 MiB (32-bit) or TEST + 2 MiB (PAE) the large page.
 */
#include "rt32.h"
        .equ    TEST, 0x40000000
        .equ    BIG, 0x00800000
        .equ    DATA_VAL, 0xda7a0010  /* at pg_data + 0x10 */
        .equ    BIG_VAL, 0x4d000800  /* at BIG + 0x800 */
        .equ    PSE0_VAL, 0x4b000800  /* at pg_pse0 + 0x800 */
        .equ    CODE_VAL, 0x600dc0de
        .equ    WRITE_VAL, 0x00c0ffee
        .equ    P, 0x001
        .equ    RW, 0x002
        .equ    US, 0x004
        .equ    A, 0x020
        .equ    D, 0x040
        .equ    PS, 0x080
        .equ    PRWU, (P | RW | US)
        .equ    CR0_WP, 0x00010000
        .equ    CR0_PG, 0x80000000
        .equ    CR4_PSE, 0x00000010
        .equ    CR4_PAE, 0x00000020
        .equ    CR4_SMEP, 0x00100000
        .equ    EFER, 0xC0000080
        .equ    EFER_NXE, 0x00000800
/* case flags */
        .equ    F_WP, 1  /* CR0.WP = 1 */
        .equ    F_NXE, 2  /* EFER.NXE = 1 */
        .equ    F_CR3, 4  /* print whether CR3 changed */
        .equ    F_SDM_GP, 8  /* the SDM gives #GP(0) with CR3 unchanged */
        .equ    F_SDM_OK, 16  /* the SDM gives ok value=DATA_VAL, leaf A=1, parent A=1 */

        .text
        .code32
        .globl rom32_main
rom32_main:
        movl    $s_hello, %esi
        call    puts
        call    setup_tss_idt
        call    cpu_line
        call    cases32
        call    cases_pae
        ret

hexmin:                                 /* "0x" and EAX without leading zeros */
        pushl   %ecx
        pushl   %edx
        movl    $8, %ecx
1:      cmpl    $1, %ecx
        je      2f
        leal    -4(,%ecx,4), %edx
        xchgl   %edx, %ecx
        pushl   %eax
        shrl    %cl, %eax
        xchgl   %edx, %ecx
        testl   $15, %eax
        popl    %eax
        jnz     2f
        decl    %ecx
        jmp     1b
2:      call    hex
        popl    %edx
        popl    %ecx
        ret

/* ---- GDT TSS descriptor, TSS, IDT ---- */
setup_tss_idt:
        movl    $tss, %eax              /* TSS descriptor at 0x28: base split 15:0 / 23:16 / 31:24 */
        movl    %eax, %edx
        shll    $16, %eax
        orl     $0x67, %eax
        movl    %eax, gdt + 0x28
        movl    %edx, %eax
        andl    $0xff000000, %eax
        shrl    $16, %edx
        andl    $0xff, %edx
        orl     %edx, %eax
        orl     $0x00008900, %eax       /* present, DPL 0, available 32-bit TSS */
        movl    %eax, gdt + 0x2c
        movl    $int_stack_top, tss + 4 /* ESP0 */
        movl    $0x10, tss + 8          /* SS0 */
        movw    $104, tss + 102         /* I/O map base beyond the limit: no bitmap */
        movw    $0x28, %ax
        ltr     %ax
        xorl    %ebx, %ebx              /* vectors 0..31: stubs, interrupt gates, DPL 0 */
1:      movl    exc_stubs(,%ebx,4), %eax
        movl    $0x8e00, %ecx
        call    set_gate
        incl    %ebx
        cmpl    $32, %ebx
        jb      1b
        movl    $0x80, %ebx             /* INT 0x80: back from ring 3, DPL 3 */
        movl    $int80, %eax
        movl    $0xee00, %ecx
        call    set_gate
        lidtl   idt_desc
        ret

set_gate:                               /* EBX = vector, EAX = handler, ECX = attributes */
        movl    %eax, %edx
        andl    $0xffff, %eax
        orl     $0x00080000, %eax       /* selector 0x08 */
        movl    %eax, idt(,%ebx,8)
        andl    $0xffff0000, %edx
        orl     %ecx, %edx
        movl    %edx, idt + 4(,%ebx,8)
        ret

/* Exception stubs: push a zero error code where the CPU pushes none, then the vector. */
        .macro  STUB v
exc\v:
        .if     (\v == 8) || (\v >= 10 && \v <= 14) || (\v == 17) || (\v == 21) || (\v == 29) || (\v == 30)
        .else
        pushl   $0
        .endif
        pushl   $\v
        jmp     exc_common
        .endm
        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        STUB    \v
        .endr

exc_common:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        popl    %eax                    /* vector */
        popl    %edx                    /* error code */
        cmpl    $13, %eax
        je      1f
        cmpl    $14, %eax
        je      1f
        movl    $s_unexp, %esi          /* anything else ends the ROM with 1 */
        call    puts
        call    hexmin
        movl    $s_err, %esi
        call    puts
        movl    %edx, %eax
        call    hexmin
        movl    $s_eip, %esi
        call    puts
        movl    (%esp), %eax
        call    hexmin
        call    newline
        movb    $1, %al
        outb    %al, $EXIT_PORT
2:      hlt
        jmp     2b
1:      movl    %eax, f_vec
        movl    %edx, f_err
        movl    %cr2, %eax
        movl    %eax, f_cr2
        jmp     back

int80:                                  /* from ring 3: EAX = the access's value */
        movl    %eax, %ss:r_val
        jmp     back

/*
 * run: EBX = access function, ECX = CPL (0 or 3). Calls it, or IRETs to
 * ring 3 (u_entry) which calls it and comes back with INT 0x80. A #PF or
 * #GP resumes at "back" too, with f_vec/f_err/f_cr2 set.
 */
run:
        pushal
        movl    %esp, saved_esp
        movl    $-1, f_vec
        movl    $0, r_val
        testl   %ecx, %ecx
        jnz     1f
        call    *%ebx
        movl    %eax, r_val
        jmp     back
1:      movl    $0x23, %eax
        movl    %eax, %ds
        movl    %eax, %es
        pushl   $0x23                   /* SS */
        pushl   $ustack_top             /* ESP */
        pushl   $0x002                  /* EFLAGS: IF=0, IOPL=0 */
        pushl   $0x1b                   /* CS */
        pushl   $u_entry
        iretl
back:
        movl    $0x10, %eax
        movl    %eax, %ds
        movl    %eax, %es
        movl    %eax, %fs
        movl    %eax, %gs
        movl    %eax, %ss
        movl    saved_esp, %esp
        popal
        ret

/*
 * go: EBX, ECX as for run; c_cr3, c_cr4, c_flags. Turns paging on, runs the
 * access, records CR3, turns paging off and clears CR4 and EFER.NXE.
 */
go:
        testl   $F_NXE, c_flags
        jz      1f
        pushl   %ecx
        movl    $EFER, %ecx
        rdmsr
        orl     $EFER_NXE, %eax
        wrmsr
        popl    %ecx
1:      movl    c_cr4, %eax
        movl    %eax, %cr4
        movl    c_cr3, %eax
        movl    %eax, %cr3              /* PAE with PG=0: the PDPTEs load when PG is set (SDM 4.4.1) */
        movl    %cr0, %eax
        orl     $CR0_PG, %eax
        testl   $F_WP, c_flags
        jz      2f
        orl     $CR0_WP, %eax
2:      movl    %eax, %cr0
        jmp     3f
3:      call    run
        movl    %cr3, %eax
        movl    %eax, r_cr3
        movl    %cr0, %eax
        andl    $~(CR0_PG | CR0_WP), %eax
        movl    %eax, %cr0
        jmp     4f
4:      xorl    %eax, %eax
        movl    %eax, %cr4
        movl    $EFER, %ecx
        rdmsr
        andl    $~EFER_NXE, %eax
        wrmsr
        ret

/* ---- access functions: ring-0 copies here, ring-3 copies in .user ---- */
        .macro  ACCESS p, cpl
        .equ    CPL_\p\()read, \cpl
        .equ    CPL_\p\()write, \cpl
        .equ    CPL_\p\()fetch, \cpl
\p\()read:                              /* read the dword at addr */
        movl    addr, %ecx
        movl    (%ecx), %eax
        ret
\p\()write:                             /* write WRITE_VAL, read it back */
        movl    addr, %ecx
        movl    $WRITE_VAL, (%ecx)
        movl    (%ecx), %eax
        ret
\p\()fetch:                             /* call the code at addr (mov $CODE_VAL, %eax; ret) */
        movl    addr, %ecx
        call    *%ecx
        ret
        .endm
        ACCESS  k_, 0
        .equ    CPL_k_stale, 0
        .equ    CPL_k_reload, 0
        .equ    CPL_k_badcr3, 0

/* PDPTEs are loaded by MOV to CR3 (SDM 4.4.1): clear PDPTE 1 in memory, then read through it. */
k_stale:
        movl    $0, pdpt + 8
        movl    addr, %ecx
        movl    (%ecx), %eax
        ret
/* The same, then MOV to CR3 with the same value: now the not-present PDPTE is in force. */
k_reload:
        movl    $0, pdpt + 8
        movl    %cr3, %eax
        movl    %eax, %cr3
        movl    addr, %ecx
        movl    (%ecx), %eax
        ret
/* MOV to CR3 of a PDPT whose PDPTE 1 has a reserved bit: #GP(0) (SDM 4.4.1), CR3 unchanged. */
k_badcr3:
        movl    $pdpt_bad, %eax
        movl    %eax, %cr3
        movl    addr, %ecx
        movl    (%ecx), %eax
        ret

        .section .user, "awx"
        ACCESS  u_, 3
u_entry:
        call    *%ebx
        int     $0x80
        .balign 4
addr:   .long   0
        .balign 16
        .skip   1024
ustack_top:
        .text

/* ---- paging structures ---- */
fill_common:                            /* identity PT for 32-bit paging, frames' contents */
        movl    $DATA_VAL, pg_data + 0x10
        movl    $(pg_pse0 + PRWU), BIG  /* with CR4.PSE=0, BIG is the page table of the 4 MiB PDE */
        movl    $BIG_VAL, BIG + 0x800
        movl    $PSE0_VAL, pg_pse0 + 0x800
        ret

zero_page:                              /* EDI = page */
        pushl   %ecx
        pushl   %eax
        xorl    %eax, %eax
        movl    $1024, %ecx
        rep stosl
        popl    %eax
        popl    %ecx
        ret

setup32:
        call    fill_common
        movl    $pd32, %edi
        call    zero_page
        movl    $pt_test, %edi
        call    zero_page
        xorl    %ebx, %ebx              /* pt_id: 0..4 MiB, U/S only on the .user pages */
1:      movl    %ebx, %eax
        shll    $12, %eax
        movl    %eax, %edx
        orl     $(P | RW), %eax
        cmpl    $__user_start, %edx
        jb      2f
        cmpl    $__user_end, %edx
        jae     2f
        orl     $US, %eax
2:      movl    %eax, pt_id(,%ebx,4)
        incl    %ebx
        cmpl    $1024, %ebx
        jb      1b
        movl    $(pt_id + PRWU), pd32
        movl    $(pt_test + PRWU), pd32 + 256 * 4
        movl    $(BIG + PS + PRWU), pd32 + 257 * 4
        movl    $(pg_data + PRWU), pt_test
        movl    $(pg_code + PRWU), pt_test + 4
        movl    $pd32, c_cr3
        ret

setup_pae:
        call    fill_common
        movl    $pd_pae_id, %edi
        call    zero_page
        movl    $pd_pae_test, %edi
        call    zero_page
        movl    $pt_pae_test, %edi
        call    zero_page
        movl    $pdpt, %edi
        call    zero_page
        movl    $pdpt_bad, %edi
        call    zero_page
        /* PDPTEs have no R/W, U/S or A: bits 2:1 and 8:5 are reserved (SDM 4.4.1, Table 4-8). */
        movl    $(pd_pae_id + P), pdpt
        movl    $(pd_pae_test + P), pdpt + 8
        movl    $(pd_pae_id + P), pdpt_bad
        movl    $(pd_pae_test + P + RW), pdpt_bad + 8
        /* 0..4 MiB: two 2 MiB identity pages, U/S=1 (no SMEP in the PAE cases). */
        movl    $(0 + PS + PRWU), pd_pae_id
        movl    $(0x200000 + PS + PRWU), pd_pae_id + 8
        movl    $(pt_pae_test + PRWU), pd_pae_test
        movl    $(BIG + PS + PRWU), pd_pae_test + 8
        movl    $(pg_data + PRWU), pt_pae_test
        movl    $(pg_code + PRWU), pt_pae_test + 8
        movl    $pdpt, c_cr3
        ret

/* ---- reporting ---- */
ad_bits:                                /* EAX = entry address or 0; ECX = 2: A and D, 1: A */
        testl   %eax, %eax
        jnz     1f
        movb    $'-', %al
        jmp     putc
1:      movl    (%eax), %edx
        movl    %edx, %eax
        shrl    $5, %eax
        andb    $1, %al
        addb    $'0', %al
        call    putc
        cmpl    $1, %ecx
        je      2f
        movl    %edx, %eax
        shrl    $6, %eax
        andb    $1, %al
        addb    $'0', %al
        call    putc
2:      ret

result:                                 /* "ok value=..", "#PF err=.. cr2=..", "#GP err=.." */
        cmpl    $-1, f_vec
        jne     1f
        movl    $s_ok, %esi
        call    puts
        movl    r_val, %eax
        jmp     hexmin
1:      cmpl    $14, f_vec
        jne     2f
        movl    $s_pf, %esi
        call    puts
        movl    f_err, %eax
        call    hexmin
        movl    $s_cr2, %esi
        call    puts
        movl    f_cr2, %eax
        subl    $TEST, %eax
        jmp     hexmin
2:      movl    $s_gp, %esi
        call    puts
        movl    f_err, %eax
        jmp     hexmin

/* ESI = "case name: ", EAX = leaf entry, EDX = parent entry (0: none). */
report:
        pushl   %edx
        pushl   %eax
        call    puts
        call    result
        movl    $s_ad, %esi
        call    puts
        popl    %eax
        movl    $2, %ecx
        call    ad_bits
        movl    $s_parent, %esi
        call    puts
        popl    %eax
        movl    $1, %ecx
        call    ad_bits
        testl   $F_CR3, c_flags
        jz      1f
        movl    $s_cr3same, %esi
        movl    r_cr3, %eax
        cmpl    c_cr3, %eax
        je      2f
        movl    $s_cr3changed, %esi
2:      call    puts
1:      /* SDM 4.7: RSVD (bit 3) is set only with P (bit 0). */
        testl   $(F_SDM_GP|F_SDM_OK), c_flags
        jnz     3f
        cmpl    $14, f_vec
        jne     3f
        movl    f_err, %eax
        andl    $9, %eax
        cmpl    $8, %eax
        jne     3f
        movl    $s_sdm, %esi
        call    puts
        movl    f_err, %eax
        orl     $1, %eax
        call    hexmin
        movb    $')', %al
        call    putc
3:      testl   $F_SDM_GP, c_flags
        jz      4f
        cmpl    $13, f_vec
        je      4f
        movl    $s_sdm_gp, %esi
        call    puts
4:      testl   $F_SDM_OK, c_flags
        jz      5f
        cmpl    $-1, f_vec
        je      5f
        movl    $s_sdm_ok, %esi
        call    puts
5:      jmp     newline

/*
 * One case: setup, then "mods" (edits of the fresh structures), then one
 * access "fn" (k_ for CPL 0, u_ for CPL 3) at TEST + off.
 */
        .macro  CASE name, setup, fn, off, leaf, parent, cr4, flags=0, mods=
        .section .rodata
.Lname\@: .asciz "case \name: "
        .text
        call    \setup
        \mods
        movl    $\cr4, c_cr4
        movl    $\flags, c_flags
        movl    $(TEST + \off), addr
        movl    $\fn, %ebx
        movl    $CPL_\fn, %ecx
        call    go
        movl    $.Lname\@, %esi
        movl    $\leaf, %eax
        movl    $\parent, %edx
        call    report
        .endm

/* ---- 32-bit paging (SDM 4.3) ---- */
        .macro  C32 name, fn, off, leaf, parent, cr4, flags, mods=
        CASE    \name, setup32, \fn, \off, \leaf, \parent, (CR4_PSE|(\cr4)), \flags, "\mods"
        .endm
        .equ    PTE32, pt_test
        .equ    CPTE32, (pt_test + 4)
        .equ    PDE32, (pd32 + 256 * 4)
        .equ    BPDE32, (pd32 + 257 * 4)
cases32:
        C32    p32-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, 0
        C32    p32-write-cpl0, k_write, 0x10, PTE32, PDE32, 0, 0
        C32    p32-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, 0
        C32    p32-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, 0
        C32    p32-exec-cpl0, k_fetch, 0x1000, CPTE32, PDE32, 0, 0
        C32    p32-exec-cpl3, u_fetch, 0x1000, CPTE32, PDE32, 0, 0
        C32    p32-np-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PTE32"
        C32    p32-np-write-cpl0, k_write, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PTE32"
        C32    p32-np-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PTE32"
        C32    p32-np-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PTE32"
        C32    p32-np-pde-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PDE32"
        C32    p32-np-pde-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, 0, "andl $~P, PDE32"
        C32    p32-ro-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PTE32"
        C32    p32-ro-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PTE32"
        C32    p32-ro-write-cpl0-wp0, k_write, 0x10, PTE32, PDE32, 0, 0, "andl $~RW, PTE32"
        C32    p32-ro-write-cpl0-wp1, k_write, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PTE32"
        C32    p32-ro-write-cpl3-wp0, u_write, 0x10, PTE32, PDE32, 0, 0, "andl $~RW, PTE32"
        C32    p32-ro-write-cpl3-wp1, u_write, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PTE32"
        C32    p32-sup-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PTE32"
        C32    p32-sup-write-cpl0, k_write, 0x10, PTE32, PDE32, 0, F_WP, "andl $~US, PTE32"
        C32    p32-sup-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PTE32"
        C32    p32-sup-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PTE32"
        C32    p32-sup-fetch-cpl3, u_fetch, 0x1000, CPTE32, PDE32, 0, 0, "andl $~US, CPTE32"
        /* SDM 4.6.1: rights combine across the PDE and the PTE (both must allow). */
        C32    p32-pde-ro-write-cpl0-wp1, k_write, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PDE32"
        C32    p32-pde-ro-write-cpl0-wp0, k_write, 0x10, PTE32, PDE32, 0, 0, "andl $~RW, PDE32"
        C32    p32-pde-ro-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PDE32"
        C32    p32-pde-ro-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, F_WP, "andl $~RW, PDE32"
        C32    p32-pde-sup-read-cpl3, u_read, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PDE32"
        C32    p32-pde-sup-read-cpl0, k_read, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PDE32"
        C32    p32-pde-sup-pte-ro-write-cpl3, u_write, 0x10, PTE32, PDE32, 0, 0, "andl $~US, PDE32; andl $~RW, PTE32"
        /* SDM 4.7: in 32-bit paging I/D is set only when CR4.SMEP=1 (NXE does not apply). */
        C32    p32-np-fetch-cpl0, k_fetch, 0x1000, CPTE32, PDE32, 0, 0, "andl $~P, CPTE32"
        C32    p32-np-fetch-cpl3, u_fetch, 0x1000, CPTE32, PDE32, 0, 0, "andl $~P, CPTE32"
        /* A 4 MiB page (CR4.PSE=1, PDE.PS=1). */
        C32    p32-4m-read-cpl0, k_read, 0x400800, BPDE32, 0, 0, 0
        C32    p32-4m-write-cpl3, u_write, 0x400800, BPDE32, 0, 0, 0
        C32    p32-4m-ro-write-cpl3, u_write, 0x400800, BPDE32, 0, 0, 0, "andl $~RW, BPDE32"
        C32    p32-4m-sup-read-cpl3, u_read, 0x400800, BPDE32, 0, 0, 0, "andl $~US, BPDE32"
        C32    p32-4m-np-read-cpl0, k_read, 0x400800, BPDE32, 0, 0, 0, "andl $~P, BPDE32"
        /* SDM 4.3, Table 4-4: bit 21 of a 4 MiB PDE is reserved. */
        C32    p32-4m-rsvd21-read-cpl0, k_read, 0x400800, BPDE32, 0, 0, 0, "orl $0x200000, BPDE32"
        /* SDM 4.3, Table 4-5: with CR4.PSE=0, PS is ignored and the PDE references a page table (at BIG). */
        CASE    p32-pse0-read-cpl0, setup32, k_read, 0x400800, BIG, BPDE32, 0
        CASE    p32-pse0-write-cpl3, setup32, u_write, 0x400800, BIG, BPDE32, 0
        CASE    p32-pse0-bit21-read-cpl0, setup32, k_read, 0x400800, (BIG+0x200000), BPDE32, 0, 0, "orl $0x200000, BPDE32; movl $0, BIG + 0x200000"
        CASE    p32-pse0-4k-read-cpl0, setup32, k_read, 0x10, PTE32, PDE32, 0

        /* SMEP (SDM 4.6.1): CPL0 fetches from user pages fault; I/D is reported (4.7). */
        testl   $0x80, cpuid7_ebx
        jnz     1f
        movl    $s_nosmep, %esi
        call    puts
        ret
1:
        C32    p32-smep-np-fetch-cpl0, k_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0, "andl $~P, CPTE32"
        C32    p32-smep-np-fetch-cpl3, u_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0, "andl $~P, CPTE32"
        C32    p32-smep-user-fetch-cpl0, k_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0
        C32    p32-smep-sup-fetch-cpl0, k_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0, "andl $~US, CPTE32"
        C32    p32-smep-pde-sup-fetch-cpl0, k_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0, "andl $~US, PDE32"
        C32    p32-smep-sup-fetch-cpl3, u_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0, "andl $~US, CPTE32"
        C32    p32-smep-user-read-cpl0, k_read, 0x10, PTE32, PDE32, CR4_SMEP, 0
        C32    p32-smep-user-exec-cpl3, u_fetch, 0x1000, CPTE32, PDE32, CR4_SMEP, 0
        C32    p32-smep-4m-user-fetch-cpl0, k_fetch, 0x400800, BPDE32, 0, CR4_SMEP, 0, "movl $0x00c3c031, BIG + 0x800"
        ret

/* ---- PAE paging (SDM 4.4): 64-bit entries, XD is bit 63, i.e. bit 31 of the high dword ---- */
        .macro  CPAE name, fn, off, leaf, parent, cr4, flags, mods=
        CASE    \name, setup_pae, \fn, \off, \leaf, \parent, (CR4_PAE|(\cr4)), \flags, "\mods"
        .endm
        .equ    PTE, pt_pae_test
        .equ    CPTE, (pt_pae_test + 8)
        .equ    PDE, pd_pae_test
        .equ    BPDE, (pd_pae_test + 8)
        .equ    XD, 0x80000000
        .equ    RSVD45, 0x00002000  /* bit 45: above MAXPHYADDR (40 under QEMU TCG) */

cases_pae:
        CPAE    pae-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0
        CPAE    pae-write-cpl0, k_write, 0x10, PTE, PDE, 0, 0
        CPAE    pae-read-cpl3, u_read, 0x10, PTE, PDE, 0, 0
        CPAE    pae-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0
        CPAE    pae-exec-cpl0, k_fetch, 0x1000, CPTE, PDE, 0, 0
        CPAE    pae-exec-cpl3, u_fetch, 0x1000, CPTE, PDE, 0, 0
        CPAE    pae-np-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "andl $~P, PTE"
        CPAE    pae-np-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0, "andl $~P, PTE"
        CPAE    pae-np-pde-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "andl $~P, PDE"
        /* SDM 4.4.1: a not-present PDPTE gives #PF on the access (no #GP at MOV to CR3 or at CR0.PG). */
        CPAE    pae-np-pdpte-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "andl $~P, pdpt + 8"
        CPAE    pae-np-pdpte-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0, "andl $~P, pdpt + 8"
        CPAE    pae-ro-read-cpl3, u_read, 0x10, PTE, PDE, 0, F_WP, "andl $~RW, PTE"
        CPAE    pae-ro-write-cpl0-wp0, k_write, 0x10, PTE, PDE, 0, 0, "andl $~RW, PTE"
        CPAE    pae-ro-write-cpl0-wp1, k_write, 0x10, PTE, PDE, 0, F_WP, "andl $~RW, PTE"
        CPAE    pae-ro-write-cpl3-wp0, u_write, 0x10, PTE, PDE, 0, 0, "andl $~RW, PTE"
        CPAE    pae-sup-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "andl $~US, PTE"
        CPAE    pae-sup-read-cpl3, u_read, 0x10, PTE, PDE, 0, 0, "andl $~US, PTE"
        CPAE    pae-sup-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0, "andl $~US, PTE"
        CPAE    pae-pde-ro-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0, "andl $~RW, PDE"
        CPAE    pae-pde-ro-write-cpl0-wp1, k_write, 0x10, PTE, PDE, 0, F_WP, "andl $~RW, PDE"
        CPAE    pae-pde-sup-read-cpl3, u_read, 0x10, PTE, PDE, 0, 0, "andl $~US, PDE"
        /* 2 MiB pages */
        CPAE    pae-2m-read-cpl0, k_read, 0x200800, BPDE, 0, 0, 0
        CPAE    pae-2m-write-cpl3, u_write, 0x200800, BPDE, 0, 0, 0
        CPAE    pae-2m-ro-write-cpl3, u_write, 0x200800, BPDE, 0, 0, 0, "andl $~RW, BPDE"
        CPAE    pae-2m-ro-write-cpl0-wp1, k_write, 0x200800, BPDE, 0, 0, F_WP, "andl $~RW, BPDE"
        CPAE    pae-2m-sup-read-cpl3, u_read, 0x200800, BPDE, 0, 0, 0, "andl $~US, BPDE"
        /* SDM 4.7: I/D is set for a fetch only when NXE=1 (PAE, no SMEP). */
        CPAE    pae-np-fetch-cpl0-nxe0, k_fetch, 0x1000, CPTE, PDE, 0, 0, "andl $~P, CPTE"
        CPAE    pae-np-fetch-cpl0-nxe1, k_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "andl $~P, CPTE"
        CPAE    pae-np-fetch-cpl3-nxe1, u_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "andl $~P, CPTE"

        testl   $0x00100000, cpuid81_edx
        jnz     1f
        movl    $s_nonx, %esi
        call    puts
        jmp     2f
1:
        /* SDM 4.6: with NXE=1, XD=1 in any entry of the walk forbids fetches. */
        CPAE    pae-xd-fetch-cpl0-nxe1, k_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "orl $XD, CPTE + 4"
        CPAE    pae-xd-fetch-cpl3-nxe1, u_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "orl $XD, CPTE + 4"
        CPAE    pae-xd-read-cpl3-nxe1, u_read, 0x10, PTE, PDE, 0, F_NXE, "orl $XD, PTE + 4"
        CPAE    pae-pde-xd-fetch-cpl0-nxe1, k_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "orl $XD, PDE + 4"
        CPAE    pae-2m-xd-fetch-cpl0-nxe1, k_fetch, 0x200800, BPDE, 0, 0, F_NXE, "orl $XD, BPDE + 4; movl $0x00c3c031, BIG + 0x800"
        CPAE    pae-2m-exec-cpl0-nxe1, k_fetch, 0x200800, BPDE, 0, 0, F_NXE, "movl $0x00c3c031, BIG + 0x800"
        /* SDM 4.4.2 / 4.5.4: with NXE=0, bit 63 is reserved. */
        CPAE    pae-xd-read-cpl0-nxe0, k_read, 0x10, PTE, PDE, 0, 0, "orl $XD, PTE + 4"
        CPAE    pae-xd-write-cpl3-nxe0, u_write, 0x10, PTE, PDE, 0, 0, "orl $XD, PTE + 4"
        CPAE    pae-xd-fetch-cpl0-nxe0, k_fetch, 0x1000, CPTE, PDE, 0, 0, "orl $XD, CPTE + 4"
        CPAE    pae-pde-xd-read-cpl0-nxe0, k_read, 0x10, PTE, PDE, 0, 0, "orl $XD, PDE + 4"
2:
        /* SDM 4.4.2: physical-address bits at or above MAXPHYADDR are reserved; not checked when P=0. */
        CPAE    pae-rsvd-pte-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "orl $RSVD45, PTE + 4"
        CPAE    pae-rsvd-pte-write-cpl3, u_write, 0x10, PTE, PDE, 0, 0, "orl $RSVD45, PTE + 4"
        CPAE    pae-rsvd-pte-fetch-cpl0-nxe1, k_fetch, 0x1000, CPTE, PDE, 0, F_NXE, "orl $RSVD45, CPTE + 4"
        CPAE    pae-rsvd-pde-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "orl $RSVD45, PDE + 4"
        CPAE    pae-rsvd-2m-read-cpl3, u_read, 0x200800, BPDE, 0, 0, 0, "orl $RSVD45, BPDE + 4"
        CPAE    pae-rsvd-np-pte-read-cpl0, k_read, 0x10, PTE, PDE, 0, 0, "orl $RSVD45, PTE + 4; andl $~P, PTE"
        /* SDM 4.4.1: PDPTEs are loaded at MOV to CR3; a later store to the PDPT changes nothing until the next one. */
        CPAE    pae-pdpte-stale-read-cpl0, k_stale, 0x10, PTE, PDE, 0, F_SDM_OK
        CPAE    pae-pdpte-reload-read-cpl0, k_reload, 0x10, PTE, PDE, 0, 0
        /* SDM 4.4.1: a reserved bit (R/W) in a present PDPTE: MOV to CR3 gives #GP(0) and leaves CR3 as it was. */
        CPAE    pae-pdpte-rsvd-mov-cr3, k_badcr3, 0x10, PTE, PDE, 0, F_CR3|F_SDM_GP
        CPAE    pae-pdpte-rsvd45-mov-cr3, k_badcr3, 0x10, PTE, PDE, 0, F_CR3|F_SDM_GP, "andl $~RW, pdpt_bad + 8; orl $RSVD45, pdpt_bad + 12"
        /* Reserved bits of a not-present PDPTE are not checked: MOV to CR3 loads it, the access gives #PF. */
        CPAE    pae-pdpte-np-rsvd-mov-cr3, k_badcr3, 0x10, PTE, PDE, 0, F_CR3, "andl $~P, pdpt_bad + 8"
        ret

/* ---- CPUID ---- */
cpu_line:
        movl    $7, %eax
        xorl    %ecx, %ecx
        cpuid
        movl    %ebx, cpuid7_ebx
        movl    $0x80000001, %eax
        cpuid
        movl    %edx, cpuid81_edx
        movl    $0x80000008, %eax
        cpuid
        andl    $0xff, %eax
        movl    $s_cpu, %esi
        call    puts
        call    hexmin
        movl    $s_smep, %esi
        call    puts
        movl    cpuid7_ebx, %eax
        shrl    $7, %eax
        andl    $1, %eax
        call    hexmin
        movl    $s_nx, %esi
        call    puts
        movl    cpuid81_edx, %eax
        shrl    $20, %eax
        andl    $1, %eax
        call    hexmin
        jmp     newline

/* ---- data ---- */
        .section .rodata
s_hello:        .asciz "cr3-rom paging32\n"
s_cpu:          .asciz "cpu: maxphyaddr="
s_smep:         .asciz " smep="
s_nx:           .asciz " nx="
s_nosmep:       .asciz "smep: not reported by CPUID, cases skipped\n"
s_nonx:         .asciz "nx: not reported by CPUID, cases skipped\n"
s_unexp:        .asciz "unexpected exception vector="
s_err:          .asciz " err="
s_eip:          .asciz " eip="
s_ok:           .asciz "ok value="
s_pf:           .asciz "#PF err="
s_gp:           .asciz "#GP err="
s_cr2:          .asciz " cr2="
s_ad:           .asciz " A/D leaf="
s_parent:       .asciz " parent="
s_cr3same:      .asciz " cr3=unchanged"
s_cr3changed:   .asciz " cr3=changed"
s_sdm:          .asciz " (SDM: err="
s_sdm_gp:       .asciz " (SDM: #GP err=0x0 A/D leaf=00 parent=0 cr3=unchanged)"
s_sdm_ok:       .asciz " (SDM: ok value=0xda7a0010 A/D leaf=10 parent=1)"

        .balign 4
exc_stubs:
        .irp    v, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        .long   exc\v
        .endr

idt_desc:
        .word   0x81 * 8 - 1
        .long   idt

        .data
        .balign 4
saved_esp:      .long 0
f_vec:          .long 0
f_err:          .long 0
f_cr2:          .long 0
r_val:          .long 0
r_cr3:          .long 0
c_cr3:          .long 0
c_cr4:          .long 0
c_flags:        .long 0
cpuid7_ebx:     .long 0
cpuid81_edx:    .long 0
        .balign 0x1000
pg_code:                                /* mov $CODE_VAL, %eax; ret */
        movl    $CODE_VAL, %eax
        ret
        .balign 0x1000

        .bss
        .balign 0x1000
pd32:           .skip 0x1000
pt_id:          .skip 0x1000
pt_test:        .skip 0x1000
pdpt:           .skip 0x1000            /* PAE: 4 entries used, 32-byte aligned */
pdpt_bad:       .skip 0x1000
pd_pae_id:      .skip 0x1000
pd_pae_test:    .skip 0x1000
pt_pae_test:    .skip 0x1000
pg_data:        .skip 0x1000
pg_pse0:        .skip 0x1000
idt:            .skip 0x81 * 8
        .balign 16
tss:            .skip 104
        .balign 16
                .skip 4096
int_stack_top:
