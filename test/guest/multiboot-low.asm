; An ELF32 multiboot kernel linked low, for test/multiboot.test.ts: segment 0
; is its code at 0x8000, segment 1 0x100 bytes of data at 0x9000 ("KDAT"
; repeated) and 0x100 of bss after them, over the memory map and short of the
; 88-byte structure at 0x9500 that QEMU's option ROM writes first. QEMU then
; copies its buffer (the kernel, page padding, the command line at 0xA000)
; over both. The kernel prints what it finds at EBX and at 0x9000/0x9100.
; nasm -f bin test/guest/multiboot-low.asm -o test/guest/multiboot-low.elf
bits 32
        org 0
ehdr:   db 0x7f, "ELF", 1, 1, 1, 0
        times 8 db 0
        dw 2, 3                         ; ET_EXEC, EM_386
        dd 1
        dd entry
        dd phdrs - ehdr, 0, 0
        dw 52, 32, 2, 40, 0, 0
phdrs:  dd 1, 0x1000, 0x8000, 0x8000, seg0_end - 0x8000, seg0_end - 0x8000, 5, 0x1000
        dd 1, 0x2000, 0x9000, 0x9000, 0x100, 0x200, 6, 0x1000
        times 0x1000 - ($ - $$) db 0

section seg0 start=0x1000 vstart=0x8000
        dd 0x1BADB002, 0, -0x1BADB002   ; no flags: ELF
entry:  mov esp, 0x90000
        mov ebp, ebx
        mov esi, s_ebx
        call puts
        mov eax, ebp
        call puthex
        mov esi, s_flags
        call puts
        mov eax, [ebp]
        call puthex
        mov esi, s_mmap
        call puts
        mov eax, [ebp + 48]
        call puthex
        mov esi, s_mmaplen
        call puts
        mov eax, [ebp + 44]
        call puthex
        mov esi, s_at9000
        call puts
        mov eax, [0x9000]
        call puthex
        mov esi, s_at9100
        call puts
        mov eax, [0x9100]
        call puthex
        test byte [ebp], 4              ; a command line only if flags say so
        jz .nocmd
        mov esi, s_cmdline
        call puts
        mov eax, [ebp + 16]
        call puthex
        mov esi, s_eq
        call puts
        mov esi, [ebp + 16]
        call puts
        mov esi, s_loader
        call puts
        mov eax, [ebp + 64]
        call puthex
        mov esi, s_eq
        call puts
        mov esi, [ebp + 64]
        call puts
        mov esi, s_mods
        call puts
        mov eax, [ebp + 24]
        call puthex
.nocmd: mov esi, s_nl
        call puts
        mov al, 0
        out 0xf4, al
        hlt
puts:   mov dx, 0x3f8
.l:     lodsb
        test al, al
        jz .d
        out dx, al
        jmp .l
.d:     ret
puthex: mov ebx, eax
        mov dx, 0x3f8
        mov al, '0'
        out dx, al
        mov al, 'x'
        out dx, al
        mov ecx, 28
.skip:  test ecx, ecx
        jz .dig
        mov eax, ebx
        shr eax, cl
        test al, 0xf
        jnz .dig
        sub ecx, 4
        jmp .skip
.dig:   mov eax, ebx
        shr eax, cl
        and eax, 0xf
        cmp al, 10
        jb .num
        add al, 'a' - 10 - '0'
.num:   add al, '0'
        out dx, al
        sub ecx, 4
        jns .dig
        ret
s_ebx:  db "ebx=", 0
s_flags: db " flags=", 0
s_mmap: db " mmap_addr=", 0
s_mmaplen: db " mmap_length=", 0
s_at9000: db 10, "at 0x9000: ", 0
s_at9100: db " at 0x9100: ", 0
s_cmdline: db 10, "cmdline at ", 0
s_loader: db '"', 10, "boot loader name at ", 0
s_mods: db '"', 10, "mods_addr=", 0
s_eq:   db ' "', 0
s_nl:   db 10, 0
seg0_end:

section seg1 start=0x2000 vstart=0x9000
        times 64 db "KDAT"
