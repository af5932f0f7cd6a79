; Self-modifying code, and code whose bytes or mapping change under it, for
; test/jit-smc.test.ts: every case loops at least 300 times, so code a JIT
; compiles after 100 executions is compiled before it changes and runs
; compiled after. A line per case on COM1 gives what the guest observed
; (the last value and a checksum of every value) and PASS or FAIL, which
; the guest decides itself from what it wrote (the expected checksum is
; computed alongside, without running the changed code). Then "done" and
; isa-debug-exit (status 1 under QEMU).
;
;   p32 a1 (below) in 32-bit protected mode with paging off, before long mode
;   a1  a store rewrites the immediate of the very next instruction, in the
;       same basic block, every iteration
;   a2  a store rewrites the next instruction's opcode (ADD <-> SUB)
;   a3  the rewritten immediate straddles a 64-byte boundary
;   a4  the rewritten instruction straddles a 4 KiB page boundary
;   b1  a loop adds to the immediate of its own first instruction
;   b2  a loop ends by overwriting its own backward JMP with a 2-byte NOP
;       (a stale copy of the loop would never end)
;   b3  a hot function's immediate is rewritten between calls
;   b4  a loop counts down the immediate of its own first instruction with
;       SUB [mem], 1 / JNZ (the SUB's flags are read by the JNZ alone)
;   c   ATA PIO (READ SECTORS, rep insw) reads sectors 0-3 of the primary
;       master over a hot code page, which is called after each read; the
;       disk image (2 KiB) is made by the test, a sector each of:
;         0: b8 00 00 00 50  01 f8  c3            mov eax, 0x50000000; add eax, edi; ret
;         1: b8 11 11 11 51  29 f8  c3            mov eax, 0x51111111; sub eax, edi; ret
;         2: 8d 84 7f 22 22 22 52  c3             lea eax, [rdi+rdi*2+0x52222222]; ret
;         3: 89 f8  35 33 33 33 53  c3            mov eax, edi; xor eax, 0x53333333; ret
;       the rest of each sector 0xcc
;   d1  one linear page (0x200000) switched between two frames of
;       different code by rewriting its PTE, with INVLPG
;   d2  the same by switching CR3 between two page-table trees
;   e   one frame mapped at 0x201000 and 0x202000: executed through the
;       first, rewritten through the second (and through the identity map)
;
; nasm -f bin -i test/guest/ test/guest/smc.asm -o test/guest/smc.bin
; qemu-system-x86_64 -accel tcg -cpu max -m 256 -nodefaults -nographic -no-reboot -serial stdio
;   -device isa-debug-exit,iobase=0xf4,iosize=0x04 -drive file=DISK,format=raw,index=0 -kernel test/guest/smc.bin

%include "lib64.inc"
N       equ 300
PT1     equ 0x30000                     ; tree 1 (lib64's): PD[1] -> PT1, linear 0x200000-0x3fffff
TREE2   equ 0x50000                     ; tree 2: PML4, PDPT, PD, PT at +0, +0x1000, +0x2000, +0x3000
PT2     equ TREE2 + 0x3000
FRAME_A equ 0x40000                     ; d: two frames of code for one linear page
FRAME_B equ 0x41000
FRAME_C equ 0x42000                     ; e: one frame, two linear pages
FRAME_D equ 0x43000                     ; c: the page the disk reads code into (identity-mapped)
WIN     equ 0x200000                    ; d: PT1[0] -> FRAME_A or FRAME_B; PT2[0] -> FRAME_B
X_LIN   equ 0x201000                    ; e: PT1[1] -> FRAME_C, executed
W_LIN   equ 0x202000                    ; e: PT1[2] -> FRAME_C, written

; checksum r, value: r = r * 31 + value
%macro MIX 2
        imul %1, %1, 31
        add %1, %2
%endmacro

start:  mov esp, KSTACK
        call case_p32                   ; 32-bit protected mode, paging off: before long mode
        PREPARE_LONG_MODE
        ENTER_LONG_MODE
        mov rsi, s_hello
        call puts
        call print_p32
        call setup_tables
        call case_a1
        call case_a2
        call case_a3
        call case_a4
        call case_b1
        call case_b2
        call case_b3
        call case_b4
        call case_c
        call case_d1
        call case_d2
        call case_e
        FINISH

; p32: a1 in 32-bit protected mode with paging off (the multiboot state): the results go to p32_out
bits 32
case_p32:
        xor esi, esi                    ; observed checksum
        xor edi, edi                    ; expected
        xor ecx, ecx
.loop:  imul eax, ecx, 0x2545f491
        mov [.p + 1], eax
.p:     mov edx, 0
        MIX esi, edx
        MIX edi, eax
        mov [p32_out], edx
        inc ecx
        cmp ecx, N
        jb .loop
        mov [p32_out + 4], esi
        mov [p32_out + 8], edi
        ret
bits 64
print_p32:
        mov r10d, [p32_out]
        mov r8d, [p32_out + 4]
        mov r9d, [p32_out + 8]
        mov rsi, s_p32
        jmp report

; PT1 under lib64's tree, and the second tree, identity-mapping the first 2 MiB as lib64's does
setup_tables:
        mov edi, PT1
        mov ecx, 1024
        xor eax, eax
        rep stosd
        mov edi, TREE2
        mov ecx, 4 * 1024
        rep stosd
        mov dword [PML4 + 0x2000 + 8], PT1 + 3
        mov dword [PT1], FRAME_A + 3
        mov dword [PT1 + 8], FRAME_C + 3
        mov dword [PT1 + 16], FRAME_C + 3
        mov dword [TREE2], TREE2 + 0x1003
        mov dword [TREE2 + 0x1000], TREE2 + 0x2003
        mov dword [TREE2 + 0x2000], 0x87
        mov dword [TREE2 + 0x2008], PT2 + 3
        mov dword [PT2], FRAME_B + 3
        mov rax, cr3
        mov cr3, rax
        ret

; rsi = " key=", rax = value
putkv:  call puts
        call puthex
        ret

; rsi = the case's name; r10d = the last value observed, r8d its checksum,
; r9d the expected checksum. Prints "name: last=.. sum=.. PASS|FAIL".
report: call puts
        mov eax, r10d
        mov rsi, s_last
        call putkv
        mov eax, r8d
        mov rsi, s_sum
        call putkv
        mov rsi, s_pass
        cmp r8d, r9d
        je .p
        mov rsi, s_fail
.p:     call puts
        ret

; a1: the next instruction's immediate, written by the instruction before it
case_a1:
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
.loop:  imul eax, ecx, -0x61c8864f      ; 0x9e3779b1 * i
        mov [rel .p + 1], eax
.p:     mov edx, 0
        MIX r8d, edx
        MIX r9d, eax
        mov r10d, edx
        inc ecx
        cmp ecx, N
        jb .loop
        mov rsi, s_a1
        jmp report

; a2: the next instruction's opcode: 01 de (add esi, ebx) on even i, 29 de (sub esi, ebx) on odd
case_a2:
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
        mov esi, 0x12345678
        mov r11d, esi
.loop:  lea ebx, [rcx * 8 + 3]
        mov eax, ecx
        and eax, 1
        imul eax, eax, 0x28
        add eax, 0x01
        mov [rel .q], al
.q:     db 0x01, 0xde
        test ecx, 1
        jnz .sub
        add r11d, ebx
        jmp .mix
.sub:   sub r11d, ebx
.mix:   MIX r8d, esi
        MIX r9d, r11d
        inc ecx
        cmp ecx, N
        jb .loop
        mov r10d, esi
        mov rsi, s_a2
        jmp report

; a3: mov eax, imm32 at 62 mod 64: its immediate is bytes 63-66, in two 64-byte chunks
case_a3:
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
        xor edx, edx
        jmp near .loop
        times (62 - 6 - ($ - $$)) & 63 db 0xcc
.loop:  mov [rel .p + 1], edx           ; 6 bytes
.p:     mov eax, 0
        MIX r8d, eax
        MIX r9d, edx
        mov r10d, eax
        inc ecx
        imul edx, ecx, 0x01010101
        xor edx, 0x80402010
        cmp ecx, N
        jb .loop
        mov rsi, s_a3
        jmp report
        times ((.p - $$) & 63) - 62 db 0  ; assembles only if .p is at 62 mod 64
        times 62 - ((.p - $$) & 63) db 0

; a4: mov eax, imm32 at 4094 mod 4096: opcode and one immediate byte in one page, three in the next
case_a4:
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
        mov edx, 0x11223344
        jmp near .loop
        times (4094 - 6 - ($ - $$)) & 4095 db 0xcc
.loop:  mov [rel .p + 1], edx           ; 6 bytes
.p:     mov eax, 0
        MIX r8d, eax
        MIX r9d, edx
        mov r10d, eax
        inc ecx
        imul edx, ecx, 0x00fedcba
        cmp ecx, N
        jb .loop
        mov rsi, s_a4
        jmp report
        times ((.p - $$) & 4095) - 4094 db 0  ; assembles only if .p is at 4094 mod 4096
        times 4094 - ((.p - $$) & 4095) db 0

; b1: each iteration adds 0x01000193 to the immediate of the loop's first instruction
case_b1:
        mov dword [rel .p + 1], 0x1234
        mov edx, 0x1234
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
.loop:
.p:     mov eax, 0
        MIX r8d, eax
        MIX r9d, edx
        mov r10d, eax
        add dword [rel .p + 1], 0x01000193
        add edx, 0x01000193
        inc ecx
        cmp ecx, N
        jb .loop
        mov rsi, s_b1
        jmp report

; b2: the loop's closing JMP is overwritten with 66 90 once i reaches N; r10 = iterations
case_b2:
        xor r8d, r8d
        xor ecx, ecx
.loop:  MIX r8d, ecx
        inc ecx
        cmp ecx, N
        jne .br
        mov word [rel .br], 0x9066
.br:    jmp short .loop
        mov r10d, ecx
        xor r9d, r9d                    ; expected: the same checksum, without SMC
        xor ecx, ecx
.exp:   MIX r9d, ecx
        inc ecx
        cmp ecx, N
        jne .exp
        mov rsi, s_b2
        jmp report

; b3: hot_fn returns its immediate + edi; the caller rewrites the immediate after every call
case_b3:
        mov dword [rel hot_fn + 1], 0x0badf00d
        mov edx, 0x0badf00d
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
.loop:  mov edi, ecx
        call hot_fn
        mov r10d, eax
        MIX r8d, eax
        lea eax, [rdx + rcx]
        MIX r9d, eax
        imul edx, ecx, 0x00010001
        add edx, 7
        mov [rel hot_fn + 1], edx
        inc ecx
        cmp ecx, N
        jb .loop
        mov rsi, s_b3
        jmp report
hot_fn: mov eax, 0
        add eax, edi
        ret

; b4: the loop's counter is the immediate of its first instruction, counted down by a
; SUB that the JNZ after it tests; the loop's head writes the flags again, so nothing
; but that JNZ reads the SUB's, and the instruction before the SUB leaves ZF=1
case_b4:
        mov dword [rel .p + 1], N
        xor r8d, r8d
        xor r9d, r9d
        xor ecx, ecx
.loop:  xor eax, eax
.p:     mov edx, 0
        MIX r8d, edx
        mov r10d, edx
        inc ecx
        xor r11d, r11d
        sub dword [rel .p + 1], 1
        jnz .loop
        mov r12d, ecx
        mov edx, N                      ; expected: the counter from N down to 1
.exp:   MIX r9d, edx
        dec edx
        jnz .exp
        mov rsi, s_b4
        call puts
        mov eax, r12d
        mov rsi, s_iterations
        call putkv
        mov rsi, s_empty
        jmp report

; c: disk sectors read over hot code
case_c:
        mov dx, 0x3f6                   ; nIEN: polled
        mov al, 2
        out dx, al
        mov rsi, tmpl_c
        mov edi, FRAME_D
        mov ecx, tmpl_c_end - tmpl_c
        rep movsb
        xor r8d, r8d                    ; warm up: the code in place, N calls
        xor r9d, r9d
        xor ecx, ecx
.warm:  mov edi, ecx
        call FRAME_D
        MIX r8d, eax
        lea eax, [rcx + 0x11110000]
        MIX r9d, eax
        inc ecx
        cmp ecx, N
        jb .warm
        mov r12d, r8d                   ; the warm-up's checksum; the sums go on
        xor r15d, r15d                  ; i
.loop:  mov eax, r15d
        and eax, 3                      ; LBA i mod 4
        mov edi, FRAME_D
        call ata_read
        mov edi, r15d
        call FRAME_D
        mov r10d, eax
        MIX r8d, eax
        mov eax, r15d                   ; expected
        and eax, 3
        jz .s0
        cmp eax, 2
        jb .s1
        je .s2
        mov eax, r15d
        xor eax, 0x53333333
        jmp .mix
.s0:    lea eax, [r15 + 0x50000000]
        jmp .mix
.s1:    mov eax, 0x51111111
        sub eax, r15d
        jmp .mix
.s2:    lea eax, [r15 + r15 * 2 + 0x52222222]
.mix:   MIX r9d, eax
        inc r15d
        cmp r15d, N
        jb .loop
        mov rsi, s_c
        call puts
        mov eax, r12d
        mov rsi, s_warm
        call putkv
        mov rsi, s_empty
        jmp report
tmpl_c: mov eax, 0x11110000
        add eax, edi
        ret
tmpl_c_end:

; eax = LBA (< 256), rdi = destination: READ SECTORS, one sector, polled
ata_read:
        push rcx
        push rdx
        push rbx
        mov ebx, eax
        mov dx, 0x1f7
.busy:  in al, dx
        test al, 0x80
        jnz .busy
        mov dx, 0x1f6
        mov al, 0xe0                    ; LBA, master
        out dx, al
        mov dx, 0x1f2
        mov al, 1
        out dx, al
        mov dx, 0x1f3
        mov al, bl
        out dx, al
        mov dx, 0x1f4
        xor eax, eax
        out dx, al
        mov dx, 0x1f5
        out dx, al
        mov dx, 0x1f7
        mov al, 0x20                    ; READ SECTORS
        out dx, al
.wait:  in al, dx
        test al, 0x80
        jnz .wait
        test al, 0x01                   ; ERR: stop, the checksum will say so
        jnz .done
        test al, 0x08
        jz .wait
        mov dx, 0x1f0
        mov ecx, 256
        rep insw
.done:  pop rbx
        pop rdx
        pop rcx
        ret

; the two frames' code (position-independent): A returns MA + 3 * edi, B returns MB - edi
tmpl_a: mov eax, 0xa0000000
        mov edx, 3
.l:     add eax, edi
        dec edx
        jnz .l
        ret
tmpl_a_end:
tmpl_b: mov eax, 0xb0000000
        sub eax, edi
        ret
tmpl_b_end:

; ecx = i: eax = the code's result at WIN for frame A if ((i / 3) & 1) = 0, else B; edx = that bit
expect_d:
        push rcx
        mov eax, ecx
        xor edx, edx
        mov ecx, 3
        div ecx
        and eax, 1
        mov edx, eax
        pop rcx
        test edx, edx
        jnz .b
        lea eax, [rcx + rcx * 2 + 0x50000000]
        add eax, 0x50000000
        ret
.b:     mov eax, 0xb0000000
        sub eax, ecx
        ret

; d1: PT1[0] switched between FRAME_A and FRAME_B every 3 calls, with INVLPG; 2N calls
; prints the calls that returned A's and B's results
case_d1:
        mov rsi, tmpl_a
        mov edi, FRAME_A
        mov ecx, tmpl_a_end - tmpl_a
        rep movsb
        mov rsi, tmpl_b
        mov edi, FRAME_B
        mov ecx, tmpl_b_end - tmpl_b
        rep movsb
        xor r8d, r8d
        xor r9d, r9d
        xor r12d, r12d
        xor r13d, r13d
        xor ecx, ecx
.loop:  call expect_d
        mov r14d, eax
        MIX r9d, eax
        shl edx, 12
        add edx, FRAME_A + 3
        mov [PT1], edx
        invlpg [WIN]
        push rcx
        mov edi, ecx
        call WIN
        pop rcx
        call count_d
        inc ecx
        cmp ecx, 2 * N
        jb .loop
        mov dword [PT1], FRAME_A + 3
        invlpg [WIN]
        mov rsi, s_d1
        jmp report_d

; d2: CR3 switched between tree 1 (WIN -> FRAME_A) and tree 2 (WIN -> FRAME_B) every 3 calls; 2N calls
case_d2:
        xor r8d, r8d
        xor r9d, r9d
        xor r12d, r12d
        xor r13d, r13d
        xor ecx, ecx
.loop:  call expect_d
        mov r14d, eax
        MIX r9d, eax
        mov eax, PML4
        test edx, edx
        jz .t1
        mov eax, TREE2
.t1:    mov cr3, rax
        push rcx
        mov edi, ecx
        call WIN
        pop rcx
        call count_d
        inc ecx
        cmp ecx, 2 * N
        jb .loop
        mov eax, PML4
        mov cr3, rax
        mov rsi, s_d2
        jmp report_d

; eax = a result, ecx = i: checksum it, count it as A's or B's
count_d:
        mov r10d, eax
        MIX r8d, eax
        lea edx, [rcx + rcx * 2 + 0x50000000]
        add edx, 0x50000000
        cmp eax, edx
        jne .notA
        inc r12d
.notA:  mov edx, 0xb0000000
        sub edx, ecx
        cmp eax, edx
        jne .notB
        inc r13d
.notB:  ret

report_d:
        call puts
        mov eax, r12d
        mov rsi, s_froma
        call putkv
        mov eax, r13d
        mov rsi, s_fromb
        call putkv
        mov rsi, s_empty
        jmp report

; e: FRAME_C holds "mov eax, imm; add/sub eax, edi; ret", executed at X_LIN. 1024 calls with
; edi = i; at every i multiple of 128 (phase one), then of 4 (phase two, 256 more calls), the
; immediate and the ADD/SUB opcode are rewritten, through W_LIN or through the identity map
; (alternately); r14d/r15d: the immediate and opcode written
case_e:
        mov byte [FRAME_C], 0xb8
        mov word [FRAME_C + 5], 0xf801
        mov byte [FRAME_C + 7], 0xc3
        xor r8d, r8d
        xor r9d, r9d
        xor r12d, r12d                  ; rewrites
        xor ecx, ecx
        mov ebx, 127                    ; rewrite mask
.loop:  cmp ecx, 1024
        jne .same
        mov ebx, 3
.same:  test ecx, ebx
        jnz .call
        imul r14d, ecx, 0x00010001
        add r14d, 0x0e0e0000
        mov r15d, r12d
        and r15d, 1
        imul r15d, r15d, 0x28
        add r15d, 0x01                  ; 01 (add) or 29 (sub)
        mov edx, W_LIN
        test r12d, 2
        jz .w
        mov edx, FRAME_C
.w:     mov [rdx + 1], r14d
        mov [rdx + 5], r15b
        inc r12d
.call:  push rcx
        mov edi, ecx
        call X_LIN
        pop rcx
        mov r10d, eax
        MIX r8d, eax
        mov eax, r14d
        cmp r15d, 0x01
        jne .sub
        add eax, ecx
        jmp .mix
.sub:   sub eax, ecx
.mix:   MIX r9d, eax
        inc ecx
        cmp ecx, 1024 + 256
        jb .loop
        mov rsi, s_e
        call puts
        mov eax, r12d
        mov rsi, s_rewrites
        call putkv
        mov rsi, s_empty
        jmp report

align 4
p32_out: dd 0, 0, 0
s_hello: db "smc: self-modifying code", 10, 0
s_last: db " last=", 0
s_sum:  db " sum=", 0
s_pass: db " PASS", 10, 0
s_fail: db " FAIL", 10, 0
s_warm: db " warm=", 0
s_froma: db " from-a=", 0
s_fromb: db " from-b=", 0
s_rewrites: db " rewrites=", 0
s_empty: db 0
s_p32:  db "p32 next instruction's immediate, 32-bit, paging off:", 0
s_a1:   db "a1 next instruction's immediate:", 0
s_a2:   db "a2 next instruction's opcode:", 0
s_a3:   db "a3 immediate across a 64-byte boundary:", 0
s_a4:   db "a4 instruction across a page boundary:", 0
s_b1:   db "b1 loop rewrites its own immediate:", 0
s_b2:   db "b2 loop overwrites its own jmp:", 0
s_b3:   db "b3 hot function rewritten between calls:", 0
s_b4:   db "b4 loop counter in its own immediate:", 0
s_iterations: db " iterations=", 0
s_c:    db "c disk read over hot code:", 0
s_d1:   db "d1 pte switched with invlpg:", 0
s_d2:   db "d2 cr3 switched between two trees:", 0
s_e:    db "e one frame at two linear pages:", 0

LIB64
