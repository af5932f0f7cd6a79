/* Freestanding runtime shared by the cr3 test ROMs. */
#ifndef CR3_ROM_RUNTIME_H
#define CR3_ROM_RUNTIME_H

/* Constants usable from C and from the .S files. */
#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UDATA   0x1b                /* 0x18 | RPL 3 */
#define SEL_UCODE   0x23                /* 0x20 | RPL 3 */
#define SEL_TSS     0x28

#define CR0_PE      0x00000001
#define CR0_WP      0x00010000
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define MSR_EFER    0xC0000080
#define EFER_LME    0x00000100
#define EFER_LMA    0x00000400
#define EFER_NXE    0x00000800

#define PTE_P       0x001
#define PTE_RW      0x002
#define PTE_US      0x004
#define PTE_A       0x020
#define PTE_D       0x040
#define PTE_PS      0x080
#define PTE_FLAGS   (PTE_P | PTE_RW | PTE_US)

#define VEC_USER_RETURN 0x80            /* int $0x80 from CPL3 ends rom_try_user */

#ifndef __ASSEMBLER__

typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT64_TYPE__ int64_t;
typedef __UINTPTR_TYPE__ uintptr_t;
typedef __SIZE_TYPE__ size_t;

#define PTE_NX      (1ULL << 63)
#define PTE_ADDR    0x000ffffffffff000ULL

/* What an exception inside rom_try / rom_try_user left behind. */
struct rom_fault {
    uint64_t vector;
    uint64_t error;                     /* 0 when the CPU pushes none */
    uint64_t cr2;                       /* #PF only, else 0 */
    uint64_t rip;                       /* RIP of the faulting instruction */
};

/* Saved by the trap stubs (traps.S), lowest address first. */
struct rom_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;  /* pushed by the CPU (SDM "64-Bit Mode Stack Frame") */
};

/* Serial console (COM1) and output. */
void rom_putc(char c);
void rom_puts(const char *s);
void rom_put_hex(uint64_t v, int width);
void rom_put_dec(uint64_t v);
/* Prints a stringized asm template readably: no quotes, %% as %, \n\t as "; ". */
void rom_puts_asm(const char *t);
/* %s %c %d %u %x %p %% with optional '0' flag, width and l/ll. */
void rom_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Exit through isa-debug-exit (QEMU status = code << 1 | 1); never returns. */
void rom_exit(int code) __attribute__((noreturn));

/* Verdicts: rom_verdict returns "ok", or "FAIL" (and counts it). */
extern int rom_failures;
const char *rom_verdict(int ok);
/* Prints "cr3-rom done" and exits with 1 if anything failed, else 0. */
void rom_done(void) __attribute__((noreturn));

/* Runs fn(arg) at CPL0. 0 if it returned; 1 if it raised an exception (*f says which). */
int rom_try(void (*fn)(void *), void *arg, struct rom_fault *f);
/* Runs fn(arg) at CPL3 on the user stack; same results as rom_try. */
int rom_try_user(void (*fn)(void *), void *arg, struct rom_fault *f);

void rom_runtime_init(void);
void rom_main(uint32_t magic, uint32_t mbi);

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }

static inline uint64_t read_cr0(void) { uint64_t v; __asm__ volatile("mov %%cr0, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr0(uint64_t v) { __asm__ volatile("mov %0, %%cr0" : : "r"(v) : "memory"); }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint16_t read_cs(void) { uint16_t v; __asm__ volatile("mov %%cs, %0" : "=r"(v)); return v; }

#endif /* __ASSEMBLER__ */
#endif
