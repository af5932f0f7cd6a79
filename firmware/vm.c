/*
 * Page tables (SDM Vol. 3A 4.5, 4-level paging). Every address space has its
 * own PML4. Its lower half (entries 0-255) belongs to the process; its upper
 * half (256-511) points at the same kernel tables in every process, so the
 * kernel is mapped once for all:
 *   DIRECT_MAP + pa  all physical memory below 4 GiB, 2 MiB pages, RW, NX
 *   KERNEL_BASE + pa the kernel image, 4 KiB pages: text R-X, rodata R--,
 *                    data and bss RW-
 * Kernel pages are supervisor-only (U/S = 0), so ring 3 cannot touch them,
 * and global (G = 1, with CR4.PGE), so writing CR3 does not flush them.
 */
#include "kernel.h"

extern char __image_start[], __text_end[], __data_start[], __kernel_file_end[], __load_end[], __kernel_end[];

static uint64_t kernel_pml4;
static bool pcid_enabled;

bool vm_pcid_enabled(void) { return pcid_enabled; }
uint64_t vm_kernel_space(void) { return kernel_pml4; }

static uint64_t *table(uint64_t pa) { return frame_ptr(pa & PTE_ADDR); }

uint64_t *vm_pte(uint64_t pml4, uint64_t va, bool create)
{
    uint64_t *t = table(pml4);
    bool user = va < 0x0000800000000000ull;
    for (int shift = 39; shift > 12; shift -= 9) {
        uint64_t *e = &t[(va >> shift) & 511];
        if (!(*e & PTE_P)) {
            if (!create)
                return NULL;
            /* Intermediate entries allow everything; the leaf decides (SDM 4.6: rights combine). */
            *e = kframe_alloc() | PTE_P | PTE_W | (user ? PTE_U : 0);
        }
        if (*e & PTE_PS)
            return e;                   /* a 2 MiB page of the direct map */
        t = table(*e);
    }
    return &t[(va >> 12) & 511];
}

/* Whether ring 3 may touch va at all: U/S = 1 at every level of the walk (SDM 4.6.1). */
bool vm_user_accessible(uint64_t pml4, uint64_t va)
{
    uint64_t *t = table(pml4);
    for (int shift = 39; shift >= 12; shift -= 9) {
        uint64_t e = t[(va >> shift) & 511];
        if (!(e & PTE_P) || !(e & PTE_U))
            return false;
        if (shift == 12 || (e & PTE_PS))
            return true;
        t = table(e);
    }
    return true;
}

void vm_map(uint64_t pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
    *vm_pte(pml4, va, true) = pa | flags | PTE_P;
}

static void map_direct(void)
{
    uint64_t pdpt = kframe_alloc();
    table(kernel_pml4)[256] = pdpt | PTE_P | PTE_W;
    for (uint64_t gib = 0; gib < 4; gib++) {
        uint64_t pd = kframe_alloc();
        table(pdpt)[gib] = pd | PTE_P | PTE_W;
        /* The top GiB holds the local APIC and other devices: uncached. */
        uint64_t cache = gib == 3 ? PTE_PCD | PTE_PWT : 0;
        for (uint64_t i = 0; i < 512; i++)
            table(pd)[i] = (gib << 30 | i << 21) | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX | cache;
    }
}

static void map_kernel_image(void)
{
    for (uint64_t va = (uint64_t)__image_start; va < (uint64_t)__kernel_end; va += FRAME_SIZE) {
        uint64_t flags = PTE_G;
        if (va >= (uint64_t)__text_end)
            flags |= PTE_NX;
        if (va >= (uint64_t)__data_start && (va < (uint64_t)__kernel_file_end || va >= (uint64_t)__load_end))
            flags |= PTE_W;             /* data and bss; the stored user image stays read-only */
        vm_map(kernel_pml4, va, va - KERNEL_BASE, flags);
    }
}

void vm_init(void)
{
    kernel_pml4 = kframe_alloc();
    map_direct();
    map_kernel_image();
    uint32_t r[4];
    cpuid(1, 0, r);
    uint64_t cr4 = read_cr4() | CR4_PGE;
    write_cr4(cr4);
    write_cr3(kernel_pml4);             /* the boot tables (and the identity map) are gone */
    frames_direct_map_ready();
    if (r[2] & (1u << 17)) {            /* CPUID.01H:ECX.PCID; CR3[11:0] is 0 here (SDM 4.10.1) */
        write_cr4(cr4 | CR4_PCIDE);
        pcid_enabled = true;
    }
}

uint64_t vm_new_space(void)
{
    uint64_t pml4 = kframe_alloc();
    for (int i = 256; i < 512; i++)
        table(pml4)[i] = table(kernel_pml4)[i];
    return pml4;
}

/* What a leaf PTE held goes back: its frame to the pool, its swap slot; true when it held a pool frame. */
static bool release_leaf(uint64_t e)
{
    if (!(e & PTE_P)) {
        if (e & PTE_SWAPPED)
            swap_slot_put(e >> 12 & 0xFFFFFFFF);
        return false;
    }
    if (e & PTE_MMIO)
        return false;                   /* the device's memory, not the pool's */
    if (e & PTE_SHARED)
        shm_unmap_frame(e & PTE_ADDR);
    else
        uframe_free(e & PTE_ADDR);
    return true;
}

static void free_level(uint64_t t, int level)
{
    for (int i = 0; i < 512; i++) {
        uint64_t e = table(t)[i];
        if (level == 1)
            release_leaf(e);
        else if (e & PTE_P)
            free_level(e & PTE_ADDR, level - 1);
    }
    kframe_free(t);
}

/* The leaves of [lo, hi) in the table at t (covering from base) are cleared and released; the pool frames they held. */
static uint64_t unmap_level(uint64_t t, int level, uint64_t base, uint64_t lo, uint64_t hi)
{
    int shift = 12 + 9 * (level - 1);
    uint64_t frames = 0;
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t start = base + (i << shift), end = start + (1ull << shift);
        uint64_t *e = &table(t)[i];
        if (end <= lo || start >= hi || !*e)
            continue;
        if (level > 1) {
            if (*e & PTE_P)
                frames += unmap_level(*e & PTE_ADDR, level - 1, start, lo, hi);
            continue;
        }
        uint64_t old = *e;
        *e = 0;
        frames += release_leaf(old);
        if (old & PTE_P)
            invlpg(start);              /* the running space's TLB may hold it */
    }
    return frames;
}

/*
 * munmap: every page of [lo, hi) in the running address space leaves it;
 * only tables that exist are visited, so a huge range costs little.
 */
uint64_t vm_unmap_range(uint64_t pml4, uint64_t lo, uint64_t hi)
{
    return unmap_level(pml4, 4, 0, lo, hi < 0x0000800000000000ull ? hi : 0x0000800000000000ull);
}

/*
 * mprotect of one page, present or swapped out (a swapped PTE keeps its
 * rights for swap-in). Taking W away also drops PTE_COW, so a write is then
 * a plain protection violation. Giving W back to a pool page goes through
 * copy on write: the page gets PTE_COW, and its first write faults into
 * proc.c's cow_fault, which copies the frame if a fork still shares it or
 * just makes it writable if not. Shared memory is never copy-on-write: it
 * gets W at once. The caller INVLPGs.
 */
void vm_protect(uint64_t pml4, uint64_t va, uint64_t rights)
{
    uint64_t *pte = vm_pte(pml4, va, false);
    if (!pte || !(*pte & (PTE_P | PTE_SWAPPED)) || (*pte & PTE_MMIO))
        return;
    uint64_t e = *pte & ~(PTE_W | PTE_COW | PTE_NX);
    if (rights & PTE_W)
        e |= *pte & PTE_SHARED ? PTE_W : (*pte & PTE_W ? PTE_W : PTE_COW);
    *pte = e | (rights & PTE_NX);
}

void vm_free_space(uint64_t pml4)
{
    for (int i = 0; i < 256; i++) {
        uint64_t e = table(pml4)[i];
        if (e & PTE_P)
            free_level(e & PTE_ADDR, 3);
    }
    kframe_free(pml4);
}

/*
 * fork's copy of an address space: new tables for the lower half, the same
 * frames behind them. A writable page becomes read-only with PTE_COW in both
 * trees (the first write to it faults, and proc.c copies it then); a page
 * that was already read-only (text, rodata), shared memory (PTE_SHARED) and
 * a device page (PTE_MMIO) are simply shared. Each shared
 * frame gains a reference. Runs in the parent's address space: the parent's
 * entries lose W, so their stale TLB entries go with INVLPG.
 */
static uint64_t fork_level(uint64_t t, int level, uint64_t va_base, uint64_t *cow_pages, uint64_t *shared_pages,
                           uint64_t *shm_pages)
{
    uint64_t copy = kframe_alloc();
    int shift = 12 + 9 * (level - 1);
    for (uint64_t i = 0; i < 512; i++) {
        uint64_t *e = &table(t)[i];
        uint64_t va = va_base + (i << shift);
        if (level == 1 && !(*e & PTE_P) && (*e & PTE_SWAPPED)) {
            /* Swapped out: both spaces share the slot; a writable page becomes copy-on-write. */
            if (*e & PTE_W)
                *e = (*e & ~PTE_W) | PTE_COW;
            if (*e & PTE_COW)
                ++*cow_pages;
            else
                ++*shared_pages;
            swap_slot_ref(*e >> 12 & 0xFFFFFFFF);
            table(copy)[i] = *e;
            continue;
        }
        if (!(*e & PTE_P))
            continue;
        if (level > 1) {
            table(copy)[i] = fork_level(*e & PTE_ADDR, level - 1, va, cow_pages, shared_pages, shm_pages) | (*e & ~PTE_ADDR);
            continue;
        }
        if (*e & PTE_MMIO) {
            table(copy)[i] = *e;        /* the child sees the same device; no frame to count */
            continue;
        }
        if (*e & PTE_SHARED) {
            ++*shm_pages;               /* shared memory stays writable and shared: never copy-on-write */
        } else if (*e & PTE_W) {
            *e = (*e & ~PTE_W) | PTE_COW;
            invlpg(va);
            ++*cow_pages;
        } else if (!(*e & PTE_COW)) {
            ++*shared_pages;
        } else {
            ++*cow_pages;               /* still copy-on-write from an earlier fork */
        }
        uframe_ref(*e & PTE_ADDR);
        table(copy)[i] = *e;
    }
    return copy;
}

uint64_t vm_fork_space(uint64_t pml4, uint64_t *cow_pages, uint64_t *shared_pages, uint64_t *shm_pages)
{
    uint64_t child = vm_new_space();
    *cow_pages = *shared_pages = *shm_pages = 0;
    for (uint64_t i = 0; i < 256; i++) {
        uint64_t e = table(pml4)[i];
        if (e & PTE_P)
            table(child)[i] = fork_level(e & PTE_ADDR, 3, i << 39, cow_pages, shared_pages, shm_pages) | (e & ~PTE_ADDR);
    }
    return child;
}
