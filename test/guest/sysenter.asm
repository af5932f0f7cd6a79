; SYSENTER/SYSEXIT and their MSRs (SDM Vol. 2 SYSENTER, SYSEXIT, WRMSR),
; for test/sysenter.test.ts. A multiboot1 a.out-kludge image at 0x100000:
; nasm -f bin test/guest/sysenter.asm -o test/guest/sysenter.bin
;
; In legacy protected mode it goes to CPL3 by SYSEXIT and back by SYSENTER;
; then in 64-bit mode (first 2 MiB identity-mapped, user-accessible) it reads
; CPUID.1:EDX.SEP and the MSRs, goes to 64-bit CPL3 code by SYSEXIT with
; REX.W and to compatibility-mode code without, each returning by SYSENTER,
; and tries each #GP(0) condition. COM1 gets a line per case; the run ends
; with isa-debug-exit status 1. IA32_SYSENTER_CS is 0x08: 64-bit kernel code
; 0x08, data 0x10, user 32-bit code 0x18, data 0x20, user 64-bit code 0x28,
; data 0x30, the TSS at 0x40 (RSP0, for the fault at CPL3).

bits 32
org 0x100000
BASE equ 0x100000
%define A(x) (x - $$ + BASE)
hdr:    dd 0x1BADB002, 0x00010000, -(0x1BADB002 + 0x00010000)
        dd hdr, hdr, end, end, start
PML4 equ 0x20000
KSTACK equ 0x90000                      ; the kernel's own stack
SYSENTER_STACK equ 0x80000              ; IA32_SYSENTER_ESP
RSP0 equ 0x88000                        ; TSS.RSP0, for faults at CPL3
USTACK equ 0x70000
start:  mov esp, KSTACK
        mov al, 0xff                    ; mask the 8259s
        out 0x21, al
        out 0xa1, al
        mov edi, PML4                   ; PML4, PDPT, PD: the first 2 MiB identity-mapped, user RW
        mov ecx, 3 * 1024
        xor eax, eax
        rep stosd
        mov dword [PML4], PML4 + 0x1007
        mov dword [PML4 + 0x1000], PML4 + 0x2007
        mov dword [PML4 + 0x2000], 0x87
        mov eax, cr4
        or eax, 0x20                    ; PAE
        mov cr4, eax
        mov eax, PML4
        mov cr3, eax
        mov ecx, 0xc0000080
        rdmsr
        or eax, 0x100                   ; LME
        wrmsr
        lgdt [gdtr]
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
        mov esp, KSTACK
        mov eax, cr0
        or eax, 0x80000000
        mov cr0, eax
        jmp 0x08:long_entry
bits 64
long_entry:
        mov ax, 0x10
        mov ds, ax
        mov es, ax
        mov ss, ax
        mov rsp, KSTACK
        lidt [idtr]
        mov ax, 0x40
        ltr ax
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
        mov rsi, s_done
        call puts
        mov al, 0
        out 0xf4, al
        hlt

; rax = MSR ecx
rdmsr64: rdmsr
        shl rdx, 32
        or rax, rdx
        ret

; rsi: the case's name; rbx: where the case resumes, after a fault or after SYSENTER
begin_case:
        call puts
        mov byte [fault_vec], 0xff
        mov [recover], rbx
        mov [kcontinue], rbx
        ret
end_case:
        cmp byte [fault_vec], 0xff
        jne .fault
        mov rsi, s_nofault
        call puts
        ret
.fault: mov rsi, s_vec
        call puts
        movzx eax, byte [fault_vec]
        call puthex
        mov rsi, s_err
        call puts
        mov rax, [fault_err]
        call puthex
        mov rsi, s_cs
        call puts
        mov rax, [fault_cs]
        call puthex
        call newline
        ret

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

puts:   push rax
        push rdx
        mov dx, 0x3f8
.l:     lodsb
        test al, al
        jz .d
        out dx, al
        jmp .l
.d:     pop rdx
        pop rax
        ret
putc:   push rdx
        mov dx, 0x3f8
        out dx, al
        pop rdx
        ret
newline: push rax
        mov al, 10
        call putc
        pop rax
        ret
; rax in hex, "0x" and no leading zeros
puthex: push rax
        push rbx
        push rcx
        mov rbx, rax
        mov al, '0'
        call putc
        mov al, 'x'
        call putc
        mov ecx, 60
.skip:  test ecx, ecx
        jz .dig
        mov rax, rbx
        shr rax, cl
        test al, 0xf
        jnz .dig
        sub ecx, 4
        jmp .skip
.dig:   mov rax, rbx
        shr rax, cl
        and eax, 0xf
        cmp al, 10
        jb .num
        add al, 'a' - 10 - '0'
.num:   add al, '0'
        call putc
        sub ecx, 4
        jns .dig
        pop rcx
        pop rbx
        pop rax
        ret
; eax (< 100) in decimal
putdec2: push rax
        push rdx
        push rbx
        xor edx, edx
        mov ebx, 10
        div ebx
        add al, '0'
        call putc
        mov al, dl
        add al, '0'
        call putc
        pop rbx
        pop rdx
        pop rax
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

; #GP / #UD: record, then resume on the kernel stack where the case said
fault13: pop qword [fault_err]
        mov byte [fault_vec], 13
        jmp fault_common
fault6: mov qword [fault_err], 0
        mov byte [fault_vec], 6
fault_common:
        mov rax, [rsp + 8]
        mov [fault_cs], rax
        mov ax, 0x10
        mov ss, ax
        mov ds, ax
        mov es, ax
        mov rsp, KSTACK                 ; as the case had it
        jmp [recover]

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
kcontinue: dq 0
recover: dq 0
fault_err: dq 0
fault_cs: dq 0
fault_vec: db 0
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
s_nofault: db "no fault", 10, 0
s_vec:  db "vector=", 0
s_err:  db " err=", 0
s_cs:   db " in cs=", 0
s_cs_:  db "cs=", 0
s_ss:   db " ss=", 0
s_rsp:  db " rsp=", 0
s_mode: db " mode=", 0
s_if:   db " if=", 0
s_done: db "done", 10, 0

align 8
gdt:    dq 0
        dq 0x00af9a000000ffff           ; 0x08 kernel code, 64-bit (IA32_SYSENTER_CS)
        dq 0x00cf92000000ffff           ; 0x10 kernel data (+8)
        dq 0x00cffa000000ffff           ; 0x18 user code, 32-bit (+16)
        dq 0x00cff2000000ffff           ; 0x20 user data (+24)
        dq 0x00affa000000ffff           ; 0x28 user code, 64-bit (+32)
        dq 0x00cff2000000ffff           ; 0x30 user data (+40)
        dq 0
        dw 103, (A(tss) & 0xffff)       ; 0x40 64-bit TSS
        db (A(tss) >> 16) & 0xff, 0x89, 0, (A(tss) >> 24) & 0xff
        dq 0
gdt_end:
gdtr:   dw gdt_end - gdt - 1
        dq gdt
align 8
idt:    times 6 dq 0, 0
        dw (A(fault6) & 0xffff), 0x08, 0x8e00, (A(fault6) >> 16), 0, 0, 0, 0
        times 6 dq 0, 0
        dw (A(fault13) & 0xffff), 0x08, 0x8e00, (A(fault13) >> 16), 0, 0, 0, 0
idt_end:
idtr:   dw idt_end - idt - 1
        dq idt
align 8
tss:    dd 0
        dq RSP0
        times 104 - 12 db 0
end:
