/*
 * Shared memory and device memory mapped into a process.
 *
 * Shared memory: shm_map(key, va) maps the one frame named by key at va.
 * The first map of a key takes a frame from the pool; every later one (and
 * fork, which keeps the mapping in the child) maps that same frame, one
 * reference per page table. The PTE carries PTE_SHARED: fork leaves it
 * writable instead of copy-on-write, and the clock never picks it as a
 * swap victim. When the last page table lets go, the frame returns to the
 * pool and the key is forgotten.
 *
 * MMIO: map_vga(va) maps the VGA text buffer (physical 0xB8000, 80x25 cells
 * of character + attribute) at va, uncached (PCD, PWT: SDM Vol. 3A 11.12.3).
 * The PTE carries PTE_MMIO: the frame is the device's, never the pool's, so
 * it is neither counted nor freed nor swapped.
 */
#include "kernel.h"
#include "user/syscall.h"

#define MAX_SHM 4
#define VGA_TEXT 0xB8000

static struct {
    uint64_t key;
    uint64_t pa;                        /* 0: unused */
} shm[MAX_SHM];

static bool free_user_page(uint64_t pml4, uint64_t va, uint64_t lo, uint64_t hi)
{
    if ((va & 0xfff) || va < lo || va >= hi)
        return false;
    uint64_t *pte = vm_pte(pml4, va, false);
    return !pte || !(*pte & (PTE_P | PTE_SWAPPED));
}

/* 1 + how many page tables map the frame (the caller's included), or 0: bad va, no frame, no slot. */
uint64_t shm_map(uint64_t pml4, uint64_t key, uint64_t va)
{
    if (!free_user_page(pml4, va, USER_SHM, USER_SHM + USER_SHM_SIZE))
        return 0;
    int found = -1, unused = -1;
    for (int i = 0; i < MAX_SHM; i++) {
        if (shm[i].pa && shm[i].key == key)
            found = i;
        if (!shm[i].pa && unused < 0)
            unused = i;
    }
    uint64_t pa;
    if (found >= 0) {
        pa = shm[found].pa;
        uframe_ref(pa);
    } else {
        if (unused < 0 || !(pa = swap_frame_alloc()))
            return 0;
        shm[unused].key = key;
        shm[unused].pa = pa;
    }
    vm_map(pml4, va, pa, PTE_U | PTE_W | PTE_NX | PTE_SHARED);
    return uframe_refs(pa);
}

/* A page table lets go of a shared frame (exit); the last one returns it to the pool. */
void shm_unmap_frame(uint64_t pa)
{
    uframe_free(pa);
    if (uframe_refs(pa) != 0)
        return;
    for (int i = 0; i < MAX_SHM; i++)
        if (shm[i].pa == pa)
            shm[i].pa = 0;
}

bool shm_map_vga(uint64_t pml4, uint64_t va)
{
    if (!free_user_page(pml4, va, USER_MMIO, USER_MMIO + USER_MMIO_SIZE))
        return false;
    vm_map(pml4, va, VGA_TEXT, PTE_U | PTE_W | PTE_NX | PTE_PCD | PTE_PWT | PTE_MMIO);
    return true;
}
