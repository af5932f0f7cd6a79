; Canonicality of the registers that hold linear addresses, checked when they
; are loaded, for test/la57-canonical.test.ts: LGDT/LIDT in 64-bit mode,
; LLDT/LTR of 64-bit system descriptors, WRMSR to IA32_FS_BASE, GS_BASE,
; KERNEL_GS_BASE, LSTAR, CSTAR, SYSENTER_ESP and SYSENTER_EIP, WRFSBASE/
; WRGSBASE, and INVPCID type 0's address. A processor that supports 5-level
; paging checks them against 57 bits even while CR4.LA57 = 0; one that does
; not, against 48. Each is loaded with a 48-bit canonical value, a 57-bit
; canonical one (not 48-bit canonical) and a non-canonical one, in 64-bit
; mode with 4-level paging; a line per case gives the fault or "ok" and
; what reads back. nasm -f bin -i test/guest/ test/guest/la57-canonical.asm
; -o test/guest/la57-canonical.bin

%include "lib64.inc"
C48 equ 0xffffaaaaaaaaaaaa
C57 equ 0xffaaaaaaaaaaaaaa
NC  equ 0xaaaaaaaaaaaaaaaa
LDT_SEL equ 0x50                        ; + 16 per value: LDT descriptors with base C48, C57, NC
TSS_SEL equ 0x80                        ; + 16 per value: available 64-bit TSS descriptors

; a 16-byte system descriptor: base %1, type %2, limit 0xfff
%macro SYSDESC 2
        dw 0xfff, (%1) & 0xffff
        db ((%1) >> 16) & 0xff, %2, 0, ((%1) >> 24) & 0xff
        dd ((%1) >> 32) & 0xffffffff, 0
%endmacro
%macro EXTRA_GDT 0
        SYSDESC C48, 0x82
        SYSDESC C57, 0x82
        SYSDESC NC, 0x82
        SYSDESC C48, 0x89
        SYSDESC C57, 0x89
        SYSDESC NC, 0x89
%endmacro

start:  PREPARE_LONG_MODE
        ENTER_LONG_MODE
        mov rsi, s_la57
        call puts
        mov eax, 7
        xor ecx, ecx
        cpuid
        shr ecx, 16
        and ecx, 1
        mov eax, ecx
        call puthex
        mov rsi, s_cr4
        call puts
        mov rax, cr4
        shr eax, 12
        and eax, 1
        call puthex
        call newline
        mov rax, cr4
        or eax, 0x10000                 ; CR4.FSGSBASE
        mov cr4, rax
        xor r15d, r15d                  ; value index
.value: mov r12, [values + r15 * 8]
        mov r14, cases
.case:  mov rsi, [r14 + 8]
        call puts
        mov al, ' '
        call putc
        mov rax, r12
        call puthex
        mov rsi, s_colon
        call puts
        mov byte [fault_vec], 0xff
        mov qword [recover], .after
        call [r14]
.after: cmp byte [fault_vec], 0xff
        je .next
        call print_fault
.next:  add r14, 16
        cmp qword [r14], 0
        jne .case
        inc r15d
        cmp r15d, 3
        jne .value
        FINISH

; each case: load r12 (value index r15); on success print "ok" and what reads back
case_lgdt:
        mov ax, [gdtr]
        mov [pd], ax
        mov [pd + 2], r12
        lgdt [pd]
        sgdt [pd2]
        lgdt [gdtr]
        mov rax, [pd2 + 2]
        jmp ok_read
case_lidt:
        mov ax, [idtr]
        mov [pd], ax
        mov [pd + 2], r12
        lidt [pd]
        sidt [pd2]
        lidt [idtr]
        mov rax, [pd2 + 2]
        jmp ok_read
case_lldt:
        mov eax, r15d
        shl eax, 4
        add eax, LDT_SEL
        lldt ax
        xor eax, eax
        lldt ax
        jmp ok
case_ltr:
        mov eax, r15d
        shl eax, 4
        add eax, TSS_SEL
        ltr ax
        and byte [gdt + 0x40 + 5], ~2   ; the TSS at 0x40 is busy: make it available and load it again
        mov ax, 0x40
        ltr ax
        jmp ok
%macro MSR_CASE 2                       ; name, index
case_%1:
        mov ecx, %2
        mov rax, r12
        mov rdx, r12
        shr rdx, 32
        wrmsr
        call rdmsr64
        push rax
        xor eax, eax
        xor edx, edx
        wrmsr
        pop rax
        jmp ok_read
%endmacro
        MSR_CASE fs_base, 0xc0000100
        MSR_CASE gs_base, 0xc0000101
        MSR_CASE kernel_gs_base, 0xc0000102
        MSR_CASE lstar, 0xc0000082
        MSR_CASE cstar, 0xc0000083
        MSR_CASE sysenter_esp, 0x175
        MSR_CASE sysenter_eip, 0x176
case_wrfsbase:
        wrfsbase r12
        rdfsbase rax
        xor ecx, ecx
        wrfsbase rcx
        jmp ok_read
case_wrgsbase:
        wrgsbase r12
        rdgsbase rax
        xor ecx, ecx
        wrgsbase rcx
        jmp ok_read
case_invpcid:
        mov qword [invpcid_desc], 0     ; PCID 0
        mov [invpcid_desc + 8], r12
        xor eax, eax                    ; type 0: one address
        invpcid rax, [invpcid_desc]
        jmp ok
ok_read:
        mov rsi, s_okread
        call puts
        call puthex
        call newline
        ret
ok:     mov rsi, s_ok
        call puts
        ret

align 8
values: dq C48, C57, NC
cases:  dq case_lgdt, s_lgdt, case_lidt, s_lidt, case_lldt, s_lldt, case_ltr, s_ltr
        dq case_fs_base, s_fs_base, case_gs_base, s_gs_base, case_kernel_gs_base, s_kernel_gs_base
        dq case_lstar, s_lstar, case_cstar, s_cstar, case_sysenter_esp, s_sysenter_esp
        dq case_sysenter_eip, s_sysenter_eip, case_wrfsbase, s_wrfsbase, case_wrgsbase, s_wrgsbase
        dq case_invpcid, s_invpcid, 0, 0
invpcid_desc: dq 0, 0
pd:     times 10 db 0
pd2:    times 10 db 0
s_la57: db "cpuid.7.0:ecx.la57=", 0
s_cr4:  db " cr4.la57=", 0
s_colon: db ": ", 0
s_okread: db "ok read=", 0
s_ok:   db "ok", 10, 0
s_lgdt: db "lgdt base", 0
s_lidt: db "lidt base", 0
s_lldt: db "lldt base", 0
s_ltr:  db "ltr base", 0
s_fs_base: db "wrmsr fs_base", 0
s_gs_base: db "wrmsr gs_base", 0
s_kernel_gs_base: db "wrmsr kernel_gs_base", 0
s_lstar: db "wrmsr lstar", 0
s_cstar: db "wrmsr cstar", 0
s_sysenter_esp: db "wrmsr sysenter_esp", 0
s_sysenter_eip: db "wrmsr sysenter_eip", 0
s_wrfsbase: db "wrfsbase", 0
s_wrgsbase: db "wrgsbase", 0
s_invpcid: db "invpcid type 0, address", 0

LIB64
