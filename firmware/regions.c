/*
 * A process's memory map: the regions of its address space where an access
 * may be served, each with its rights. The page tables say what is resident
 * now; the map says what may become resident. A not-present fault inside a
 * region gets a zeroed frame with the region's rights (demand paging, in
 * proc.c); one outside every region kills the process. The map at start:
 *   text   R-X   rodata R--   data RW-    the user image (resident from start)
 *   stack  RW-   USER_STACK_SIZE below USER_STACK_TOP
 *   heap   RW-   USER_HEAP up to the break, empty at start
 * and the system calls that change it:
 *   sbrk      moves the break: the heap grows, or shrinks and gives its pages back
 *   mmap      adds a demand-zero region (in the USER_MMAP window)
 *   munmap    removes pages: frames back to the pool, swap slots freed
 *   mprotect  new rights for mapped pages: the map's and each PTE already made
 * W^X: no region is ever writable and executable at once; mmap and mprotect
 * refuse (the image's text is R-X and its data RW-, proc_spawn).
 * Every change of a PTE of the running process is followed by INVLPG: the
 * TLB may still hold the old translation or rights (SDM Vol. 3A 4.10.4.1).
 */
#include "kernel.h"
#include "user/syscall.h"

#define PAGE_MASK 0xfffull
#define PAGE_UP(x) (((x) + PAGE_MASK) & ~PAGE_MASK)

void map_init(struct memory_map *m, uint64_t text_end, uint64_t rodata_end, uint64_t data_end)
{
    struct region image[] = {
        {USER_IMAGE, text_end, PROT_READ | PROT_EXEC},
        {text_end, rodata_end, PROT_READ},
        {rodata_end, data_end, PROT_READ | PROT_WRITE},
        {USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP, PROT_READ | PROT_WRITE},
    };
    m->count = 0;
    for (unsigned i = 0; i < sizeof image / sizeof image[0]; i++)
        if (image[i].end > image[i].start)
            m->regions[m->count++] = image[i];
    m->brk = USER_HEAP;
}

const struct region *map_find(const struct memory_map *m, uint64_t va)
{
    for (unsigned i = 0; i < m->count; i++)
        if (va >= m->regions[i].start && va < m->regions[i].end)
            return &m->regions[i];
    return NULL;
}

uint64_t map_pte_rights(unsigned prot)
{
    return (prot & PROT_WRITE ? PTE_W : 0) | (prot & PROT_EXEC ? 0 : PTE_NX);
}

static bool valid_prot(unsigned prot)
{
    /* x86 pages are readable whenever present: PROT_READ is required (no PROT_NONE, no write-only). */
    return (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC)) == 0 && (prot & PROT_READ) &&
           (prot & (PROT_WRITE | PROT_EXEC)) != (PROT_WRITE | PROT_EXEC);
}

/* [addr, addr + len) page-aligned, not empty, inside the user half. */
static bool valid_range(uint64_t addr, uint64_t len)
{
    return (addr & PAGE_MASK) == 0 && len != 0 && addr + PAGE_UP(len) > addr && addr + PAGE_UP(len) <= 0x0000800000000000ull;
}

static bool overlaps(const struct memory_map *m, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < m->count; i++)
        if (m->regions[i].start < hi && lo < m->regions[i].end)
            return true;
    return false;
}

static bool insert(struct memory_map *m, uint64_t lo, uint64_t hi, unsigned prot)
{
    if (m->count == MAX_REGIONS)
        return false;
    unsigned at = 0;
    while (at < m->count && m->regions[at].start < lo)
        at++;
    for (unsigned i = m->count; i > at; i--)
        m->regions[i] = m->regions[i - 1];
    m->regions[at] = (struct region){lo, hi, prot};
    m->count++;
    return true;
}

/* Neighbours that touch and have the same rights become one region again. */
static void coalesce(struct memory_map *m)
{
    unsigned out = 0;
    for (unsigned i = 0; i < m->count; i++) {
        struct region *r = &m->regions[i];
        if (out > 0 && m->regions[out - 1].end == r->start && m->regions[out - 1].prot == r->prot)
            m->regions[out - 1].end = r->end;
        else
            m->regions[out++] = *r;
    }
    m->count = out;
}

/* Splits regions so that `at` is a boundary; false when the map is full. */
static bool split_at(struct memory_map *m, uint64_t at)
{
    for (unsigned i = 0; i < m->count; i++) {
        struct region *r = &m->regions[i];
        if (at > r->start && at < r->end) {
            uint64_t end = r->end;
            unsigned prot = r->prot;
            r->end = at;
            return insert(m, at, end, prot);
        }
    }
    return true;
}

static bool unmap(struct memory_map *m, uint64_t pml4, uint64_t lo, uint64_t hi, uint64_t *frames)
{
    if (!split_at(m, lo) || !split_at(m, hi))
        return false;
    unsigned out = 0;
    for (unsigned i = 0; i < m->count; i++)
        if (m->regions[i].start >= hi || m->regions[i].end <= lo)
            m->regions[out++] = m->regions[i];
    m->count = out;
    *frames -= vm_unmap_range(pml4, lo, hi);
    coalesce(m);
    return true;
}

/* sbrk: the heap ends at brk + delta; the old break, or -1. Pages above a lowered break are given back. */
int64_t map_sbrk(struct memory_map *m, uint64_t pml4, int64_t delta, uint64_t *frames)
{
    uint64_t old = m->brk, brk = old + (uint64_t)delta;
    if ((delta > 0 && brk < old) || (delta < 0 && brk > old) || brk < USER_HEAP || brk > USER_HEAP + USER_HEAP_SIZE)
        return -1;
    uint64_t old_end = PAGE_UP(old), new_end = PAGE_UP(brk);
    if (new_end > old_end && !insert(m, old_end, new_end, PROT_READ | PROT_WRITE))
        return -1;
    if (new_end < old_end && !unmap(m, pml4, new_end, old_end, frames))
        return -1;
    coalesce(m);
    m->brk = brk;
    return (int64_t)old;
}

/* mmap: a demand-zero region of len bytes (whole pages) at addr, or where it fits when addr is 0. */
int64_t map_mmap(struct memory_map *m, uint64_t addr, uint64_t len, unsigned prot)
{
    if (!valid_prot(prot) || len == 0 || len > USER_MMAP_SIZE)
        return -1;
    uint64_t size = PAGE_UP(len);
    if (addr == 0) {
        /* First fit: the lowest address in the window where size bytes are free. */
        for (addr = USER_MMAP; addr + size <= USER_MMAP + USER_MMAP_SIZE; addr += FRAME_SIZE) {
            const struct region *r = NULL;
            for (unsigned i = 0; i < m->count && !r; i++)
                if (m->regions[i].start < addr + size && addr < m->regions[i].end)
                    r = &m->regions[i];
            if (!r)
                break;
            addr = r->end - FRAME_SIZE;     /* go on after the region in the way */
        }
    }
    if (!valid_range(addr, size) || addr < USER_MMAP || addr + size > USER_MMAP + USER_MMAP_SIZE ||
        overlaps(m, addr, addr + size) || !insert(m, addr, addr + size, prot))
        return -1;
    coalesce(m);
    return (int64_t)addr;
}

/* munmap: pages of [addr, addr + len) leave the map and the page tables; unmapped pages in it are fine. */
int64_t map_munmap(struct memory_map *m, uint64_t pml4, uint64_t addr, uint64_t len, uint64_t *frames)
{
    if (!valid_range(addr, len))
        return -1;
    return unmap(m, pml4, addr, addr + PAGE_UP(len), frames) ? 0 : -1;
}

/* mprotect: every page of [addr, addr + len) must be mapped; they all get prot. */
int64_t map_mprotect(struct memory_map *m, uint64_t pml4, uint64_t addr, uint64_t len, unsigned prot)
{
    if (!valid_range(addr, len) || !valid_prot(prot))
        return -1;
    uint64_t lo = addr, hi = addr + PAGE_UP(len);
    for (uint64_t va = lo; va < hi;) {
        const struct region *r = map_find(m, va);
        if (!r)
            return -1;
        va = r->end;
    }
    if (!split_at(m, lo) || !split_at(m, hi))
        return -1;
    for (unsigned i = 0; i < m->count; i++)
        if (m->regions[i].start >= lo && m->regions[i].end <= hi)
            m->regions[i].prot = prot;
    for (uint64_t va = lo; va < hi; va += FRAME_SIZE) {
        vm_protect(pml4, va, map_pte_rights(prot));
        invlpg(va);
    }
    coalesce(m);
    return 0;
}
