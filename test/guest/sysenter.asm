; SYSENTER/SYSEXIT and their MSRs (SDM Vol. 2 SYSENTER, SYSEXIT, WRMSR),
; for test/sysenter.test.ts. A multiboot1 a.out-kludge image at 0x100000:
; nasm -f bin -i test/guest/ test/guest/sysenter.asm -o test/guest/sysenter.bin
;
; In legacy protected mode it goes to CPL3 by SYSEXIT and back by SYSENTER;
; then in 64-bit mode (first 2 MiB identity-mapped, user-accessible) it reads
; CPUID.1:EDX.SEP and the MSRs, goes to 64-bit CPL3 code by SYSEXIT with
; REX.W and to compatibility-mode code without, each returning by SYSENTER,
; and tries each #GP(0) condition. COM1 gets a line per case; the run ends
; with isa-debug-exit status 1. IA32_SYSENTER_CS is 0x08, so lib64.inc's GDT
; has SYSENTER's CS and SS at 0x08/0x10, SYSEXIT's at 0x18/0x20 (0x28/0x30
; with REX.W).

%include "lib64.inc"
SYSENTER_STACK equ 0x80000              ; IA32_SYSENTER_ESP
start:  PREPARE_LONG_MODE
        ; legacy protected mode first: SYSEXIT to CPL3 and SYSENTER back (the
        ; descriptor caches get fixed values, so GDT entry 0x08 being 64-bit code does not matter)
        mov ecx, 0x174
        xor edx, edx
        mov eax, 0x08
        wrmsr
        mov ecx, 0x175
        mov edx, 1                      ; bits 63:32 set: legacy mode loads ESP[31:0]
        mov eax, SYSENTER_STACK
        wrmsr
        mov ecx, 0x176
        xor edx, edx
        mov eax, kentry_legacy
        wrmsr
        mov edx, user_legacy
        mov ecx, USTACK
        sysexit
user_legacy:
        mov [l_ucs], cs
        mov [l_uss], ss
        mov [l_uesp], esp
        sysenter
kentry_legacy:
        mov [l_kcs], cs
        mov [l_kss], ss
        mov [l_kesp], esp
        ENTER_LONG_MODE
        mov rsi, s_legacy_exit
        call puts
        movzx eax, word [l_ucs]
        call puthex
        mov rsi, s_ss
        call puts
        movzx eax, word [l_uss]
        call puthex
        mov rsi, s_rsp
        call puts
        mov eax, [l_uesp]
        call puthex
        call newline
        mov rsi, s_legacy_enter
        call puts
        movzx eax, word [l_kcs]
        call puthex
        mov rsi, s_ss
        call puts
        movzx eax, word [l_kss]
        call puthex
        mov rsi, s_rsp
        call puts
        mov eax, [l_kesp]
        call puthex
        call newline
        ; CPUID.1:EDX.SEP (bit 11)
        mov eax, 1
        cpuid
        shr edx, 11
        and edx, 1
        mov rsi, s_cpuid
        call puts
        mov eax, edx
        call puthex
        call newline
        ; the MSRs, read back
        mov ecx, 0x174
        xor edx, edx
        mov eax, 0x08
        wrmsr
        mov ecx, 0x175
        mov eax, SYSENTER_STACK
        wrmsr
        mov ecx, 0x176
        mov eax, kentry
        wrmsr
        mov rsi, s_msrs
        call puts
        mov ecx, 0x174
        call rdmsr64
        call puthex
        mov rsi, s_esp
        call puts
        mov ecx, 0x175
        call rdmsr64
        call puthex
        mov rsi, s_eip
        call puts
        mov ecx, 0x176
        call rdmsr64
        mov rbx, kentry
        sub rax, rbx                    ; print eip=kentry+0
        call puthex
        call newline
        ; SYSEXIT with REX.W to 64-bit user code, which comes back by SYSENTER
        pushfq
        or qword [rsp], 0x200           ; IF=1 (nothing can interrupt): SYSENTER must clear it
        popfq
        mov qword [kcontinue], .back64
        mov rdx, user64
        mov rcx, USTACK
        o64 sysexit
.back64: cli
        mov rsi, s_exit64
        call print_user
        mov rsi, s_enter64
        call print_kernel
        ; SYSEXIT without REX.W: to 32-bit (compatibility-mode) user code
        pushfq
        or qword [rsp], 0x200
        popfq
        mov qword [kcontinue], .back32
        mov rdx, user32
        mov rcx, USTACK
        sysexit
.back32: cli
        mov rsi, s_exit32
        call print_user
        mov rsi, s_enter32
        call print_kernel
        ; #GP(0) cases: each prints the fault (vector, error code, CS it was raised in) or "no fault"
        mov rsi, s_gp_cpl3              ; SYSEXIT at CPL3
        mov rbx, .gp1
        call begin_case
        mov rdx, user64_sysexit
        mov rcx, USTACK
        o64 sysexit
.gp1:   call end_case
        mov rsi, s_gp_rdx               ; SYSEXIT to 64-bit with a non-canonical RDX
        mov rbx, .gp2
        call begin_case
        mov rdx, 0x0000800000000000
        mov rcx, USTACK
        o64 sysexit
.gp2:   call end_case
        mov rsi, s_gp_rcx               ; and with a non-canonical RCX
        mov rbx, .gp3
        call begin_case
        mov rdx, user64
        mov rcx, 0xffff7fffffffff00
        o64 sysexit
.gp3:   call end_case
        mov ecx, 0x174                  ; IA32_SYSENTER_CS = 0: SYSENTER and SYSEXIT fault
        xor eax, eax
        xor edx, edx
        wrmsr
        mov rsi, s_gp_enter0
        mov rbx, .gp4
        call begin_case
        sysenter
.gp4:   call end_case
        mov rsi, s_gp_exit0
        mov rbx, .gp5
        call begin_case
        mov rdx, user64
        mov rcx, USTACK
        o64 sysexit
.gp5:   call end_case
        mov ecx, 0x174                  ; IA32_SYSENTER_CS = 3: bits 15:2 are 0
        mov eax, 3
        xor edx, edx
        wrmsr
        mov rsi, s_gp_enter3
        mov rbx, .gp6
        call begin_case
        sysenter
.gp6:   call end_case
        mov ecx, 0x174
        mov eax, 0x08
        xor edx, edx
        wrmsr
        mov rsi, s_gp_wreip             ; WRMSR of a non-canonical address
        mov rbx, .gp7
        call begin_case
        mov ecx, 0x176
        xor eax, eax
        mov edx, 0x00008000
        wrmsr
.gp7:   call end_case
        mov rsi, s_gp_wresp
        mov rbx, .gp8
        call begin_case
        mov ecx, 0x175
        xor eax, eax
        mov edx, 0x00008000
        wrmsr
.gp8:   call end_case
        FINISH

; what the user code saw: "<rsi>cs=.. ss=.. rsp=.. mode=.."
print_user:
        call puts
        mov rsi, s_cs_
        call puts
        movzx eax, word [u_cs]
        call puthex
        mov rsi, s_ss
        call puts
        movzx eax, word [u_ss]
        call puthex
        mov rsi, s_rsp
        call puts
        mov rax, [u_rsp]
        call puthex
        mov rsi, s_mode
        call puts
        mov eax, 64
        cmp byte [u_mode], 0
        je .m
        mov eax, 32
.m:     call putdec2
        call newline
        ret
; what SYSENTER gave the kernel
print_kernel:
        call puts
        mov rsi, s_cs_
        call puts
        movzx eax, word [k_cs]
        call puthex
        mov rsi, s_ss
        call puts
        movzx eax, word [k_ss]
        call puthex
        mov rsi, s_rsp
        call puts
        mov rax, [k_rsp]
        call puthex
        mov rsi, s_if
        call puts
        mov rax, [k_flags]
        shr eax, 9
        and eax, 1
        call puthex
        call newline
        ret

; SYSENTER's target: record what it gave, go on where the kernel asked
kentry: mov [k_cs], cs
        mov [k_ss], ss
        mov [k_rsp], rsp
        pushfq
        pop qword [k_flags]
        mov rsp, KSTACK
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        jmp [kcontinue]

user64: mov [u_cs], cs
        mov [u_ss], ss
        mov [u_rsp], rsp
        xor eax, eax
        db 0x40                         ; 64-bit mode: a REX prefix; 32-bit: INC EAX
        nop
        mov [u_mode], al
        sysenter
user64_sysexit:
        o64 sysexit                     ; at CPL3: #GP(0)
bits 32
user32: mov [u_cs], cs
        mov [u_ss], ss
        mov [u_rsp], esp
        xor eax, eax
        db 0x40
        nop
        mov [u_mode], al
        sysenter
bits 64

align 8
u_rsp:  dq 0
u_cs:   dw 0
u_ss:   dw 0
u_mode: db 0
l_uesp: dd 0
l_kesp: dd 0
l_ucs:  dw 0
l_uss:  dw 0
l_kcs:  dw 0
l_kss:  dw 0
align 8
k_rsp:  dq 0
k_flags: dq 0
k_cs:   dw 0
k_ss:   dw 0

s_legacy_exit: db "legacy sysexit, at cpl3: cs=", 0
s_legacy_enter: db "legacy sysenter: cs=", 0
s_cpuid: db "cpuid.1:edx.sep=", 0
s_msrs: db "msrs: sysenter_cs=", 0
s_esp:  db " sysenter_esp=", 0
s_eip:  db " sysenter_eip=kentry+", 0
s_exit64: db "sysexit rex.w, at user64: ", 0
s_enter64: db "sysenter from 64-bit cpl3: ", 0
s_exit32: db "sysexit, at user32: ", 0
s_enter32: db "sysenter from compatibility-mode cpl3: ", 0
s_gp_cpl3: db "sysexit at cpl3: ", 0
s_gp_rdx: db "sysexit rex.w rdx=0x0000800000000000: ", 0
s_gp_rcx: db "sysexit rex.w rcx=0xffff7fffffffff00: ", 0
s_gp_enter0: db "sysenter with sysenter_cs=0: ", 0
s_gp_exit0: db "sysexit with sysenter_cs=0: ", 0
s_gp_enter3: db "sysenter with sysenter_cs=3: ", 0
s_gp_wreip: db "wrmsr sysenter_eip=0x0000800000000000: ", 0
s_gp_wresp: db "wrmsr sysenter_esp=0x0000800000000000: ", 0
s_cs_:  db "cs=", 0
s_ss:   db " ss=", 0
s_rsp:  db " rsp=", 0
s_mode: db " mode=", 0
s_if:   db " if=", 0

LIB64
