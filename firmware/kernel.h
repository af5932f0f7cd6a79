/* cr3-tour: definitions shared by the kernel's C files and its assembly. */
#ifndef CR3_TOUR_KERNEL_H
#define CR3_TOUR_KERNEL_H

/* The kernel image runs at KERNEL_BASE + its physical address (the top 2 GiB). */
#define KERNEL_BASE     0xFFFFFFFF80000000
/* All physical memory below 4 GiB is also mapped at DIRECT_MAP + address. */
#define DIRECT_MAP      0xFFFF800000000000

#define SEL_KCODE   0x08
#define SEL_KDATA   0x10
#define SEL_UDATA   0x1b                /* 0x18 | RPL 3 */
#define SEL_UCODE   0x23                /* 0x20 | RPL 3 */
#define SEL_TSS     0x28

#define CR0_PE      0x00000001
#define CR0_WP      0x00010000
#define CR0_PG      0x80000000
#define CR4_PAE     0x00000020
#define CR4_PGE     0x00000080
#define CR4_PCIDE   0x00020000
#define MSR_EFER    0xC0000080
#define EFER_SCE    0x00000001
#define EFER_LME    0x00000100
#define EFER_NXE    0x00000800

#define VEC_TIMER   32
#define VEC_SPURIOUS 255

/* Trap frame offsets used by entry.S (struct trap_frame below). */
#define TF_SIZE     (22 * 8)

#ifndef __ASSEMBLER__

typedef __UINT8_TYPE__ uint8_t;
typedef __UINT16_TYPE__ uint16_t;
typedef __UINT32_TYPE__ uint32_t;
typedef __UINT64_TYPE__ uint64_t;
typedef __INT64_TYPE__ int64_t;
typedef __SIZE_TYPE__ size_t;
typedef _Bool bool;
#define true 1
#define false 0
#define NULL ((void *)0)

/* What entry.S pushes on a trap, an interrupt or a system call (lowest address first). */
struct trap_frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;          /* as the CPU pushes them (SDM Vol. 3A 6.14.2) */
};

/* Port I/O and control registers. */
static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline void outl(uint16_t port, uint32_t v) { __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint64_t read_cr2(void) { uint64_t v; __asm__ volatile("mov %%cr2, %0" : "=r"(v)); return v; }
static inline uint64_t read_cr3(void) { uint64_t v; __asm__ volatile("mov %%cr3, %0" : "=r"(v)); return v; }
static inline void write_cr3(uint64_t v) { __asm__ volatile("mov %0, %%cr3" : : "r"(v) : "memory"); }
static inline uint64_t read_cr4(void) { uint64_t v; __asm__ volatile("mov %%cr4, %0" : "=r"(v)); return v; }
static inline void write_cr4(uint64_t v) { __asm__ volatile("mov %0, %%cr4" : : "r"(v) : "memory"); }
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" : : "r"(va) : "memory"); }
static inline uint64_t rdmsr(uint32_t msr) { uint32_t lo, hi; __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr)); return (uint64_t)hi << 32 | lo; }
static inline void wrmsr(uint32_t msr, uint64_t v) { __asm__ volatile("wrmsr" : : "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32))); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4]) { __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub)); }
static inline void cli(void) { __asm__ volatile("cli" : : : "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt; cli" : : : "memory"); }

/* Physical <-> kernel virtual through the direct map. */
static inline void *phys_to_virt(uint64_t pa) { return (void *)(DIRECT_MAP + pa); }

/* util.c */
void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
size_t strlen(const char *s);
bool starts_with(const char *s, const char *prefix);

/* console.c: COM1 and the VGA text screen */
void console_init(void);
void console_enable_vga(void);
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void console_write(const char *s, size_t n);
#define STATUS_ROWS 8                   /* the screen's status lines under its title, one per process slot */
void console_status(unsigned line, uint8_t attr, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
_Noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void power_off(uint32_t code);

/* frames.c: physical memory */
#define FRAME_SIZE 4096
void frames_init(uint64_t mbi_phys);
void *frame_ptr(uint64_t pa);            /* a frame's kernel address */
void frames_direct_map_ready(void);
void kframe_free(uint64_t pa);
uint64_t kframe_alloc(void);            /* a zeroed frame for the kernel; panics when none is left */
uint64_t uframe_alloc(void);            /* a zeroed frame from the user pool (1 reference), 0 when it is empty */
void uframe_ref(uint64_t pa);           /* one more mapping of a user frame */
uint64_t uframe_refs(uint64_t pa);      /* how many mappings it has */
void uframe_free(uint64_t pa);          /* one mapping fewer; the frame returns to the pool at 0 */
uint32_t *uframe_slot(uint64_t pa);     /* 1 + the swap slot holding a valid copy of the frame, or 0 */
uint64_t frames_usable(void);
uint64_t uframes_total(void);
uint64_t uframes_free(void);

/* vm.c: page tables */
#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_PWT (1ull << 3)
#define PTE_PCD (1ull << 4)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_G   (1ull << 8)
#define PTE_COW (1ull << 9)             /* ignored by the MMU (SDM Table 4-19): ours, "copy on write" */
#define PTE_SWAPPED (1ull << 10)        /* in a not-present PTE: swapped out, the slot in bits 12-43 */
#define PTE_SHARED (1ull << 11)         /* ignored by the MMU: ours, a shared-memory frame (shm.c) */
#define PTE_MMIO (1ull << 52)           /* ignored by the MMU (SDM Table 4-19): device memory, not the pool's */
#define PTE_NX  (1ull << 63)
#define PTE_ADDR 0x000FFFFFFFFFF000ull
void vm_init(void);
uint64_t vm_new_space(void);            /* a PML4 sharing the kernel half */
void vm_free_space(uint64_t pml4);
uint64_t vm_fork_space(uint64_t pml4, uint64_t *cow_pages, uint64_t *shared_pages, uint64_t *shm_pages);
uint64_t *vm_pte(uint64_t pml4, uint64_t va, bool create);
void vm_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags);
bool vm_user_accessible(uint64_t pml4, uint64_t va);   /* U/S = 1 at every level of a present translation */
uint64_t vm_unmap_range(uint64_t pml4, uint64_t lo, uint64_t hi);  /* the pool frames the pages held */
void vm_protect(uint64_t pml4, uint64_t va, uint64_t rights);  /* rights: PTE_W and PTE_NX */
bool vm_pcid_enabled(void);
uint64_t vm_kernel_space(void);

/* trap.c: GDT, TSS, IDT, exceptions */
void trap_init(void);
void tss_set_rsp0(uint64_t rsp0);
void trap(struct trap_frame *tf);

/* lapic.c */
void lapic_init(void);
void lapic_eoi(void);

/* ata.c: the primary master disk, polled PIO, LBA28 */
void ata_init(void);
uint64_t ata_sectors(void);             /* 0: no disk */
bool ata_read(uint32_t lba, void *buf, unsigned sectors);
bool ata_write(uint32_t lba, const void *buf, unsigned sectors);

/* swap.c: the swap area and the clock algorithm */
void swap_init(void);
uint64_t swap_slots(void);              /* 0: no disk, no swapping */
uint64_t swap_slots_used(void);
void swap_slot_ref(uint64_t slot);
void swap_slot_put(uint64_t slot);
void swap_pin(uint64_t pml4, uint64_t lo, uint64_t hi);
bool swap_evict_one(void);
uint64_t swap_frame_alloc(void);
bool swap_in(uint64_t *pte);
extern uint64_t stat_swapped_out, stat_swapped_in, stat_clean_skips;

/* shm.c: shared memory and the VGA text buffer mapped into a process */
uint64_t shm_map(uint64_t pml4, uint64_t key, uint64_t va);
void shm_unmap_frame(uint64_t pa);
bool shm_map_vga(uint64_t pml4, uint64_t va);

/* regions.c: a process's memory map (the regions where an access may be served) */
#define MAX_REGIONS 16
struct region {
    uint64_t start, end;                /* page-aligned, end exclusive */
    unsigned prot;                      /* PROT_* of user/syscall.h */
};
struct memory_map {
    struct region regions[MAX_REGIONS]; /* sorted by address, never overlapping */
    unsigned count;
    uint64_t brk;                       /* the heap's end: USER_HEAP .. USER_HEAP + USER_HEAP_SIZE */
};
void map_init(struct memory_map *m, uint64_t text_end, uint64_t rodata_end, uint64_t data_end);
const struct region *map_find(const struct memory_map *m, uint64_t va);
uint64_t map_pte_rights(unsigned prot);  /* PTE_W and PTE_NX for these rights */
int64_t map_sbrk(struct memory_map *m, uint64_t pml4, int64_t delta, uint64_t *frames);
int64_t map_mmap(struct memory_map *m, uint64_t addr, uint64_t len, unsigned prot);
int64_t map_munmap(struct memory_map *m, uint64_t pml4, uint64_t addr, uint64_t len, uint64_t *frames);
int64_t map_mprotect(struct memory_map *m, uint64_t pml4, uint64_t addr, uint64_t len, unsigned prot);

/* proc.c: processes and the scheduler */
void proc_init(void);
int proc_spawn(const char *name, uint64_t entry);
void proc_run_all(void);
bool proc_page_fault(struct trap_frame *tf, uint64_t cr2);
void proc_timer_tick(struct trap_frame *tf);
void proc_kill_current(const char *why);
void syscall_init(void);
unsigned proc_slots(void);
bool proc_space(unsigned slot, uint64_t *pml4);        /* a live process's PML4 */
void proc_invalidate(unsigned slot, uint64_t va, bool evicted);  /* its TLB must forget va */
uint64_t syscall_dispatch(struct trap_frame *tf);

/* Counters the summary prints. */
extern uint64_t stat_passes, stat_fails, stat_skips;

#endif
#endif
