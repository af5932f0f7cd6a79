/*
 * Swapping to the ATA disk. The disk holds 4 KiB slots (8 sectors each,
 * from sector 0). When the user pool runs dry, the clock (second-chance)
 * algorithm picks a victim among the resident user pages of every process:
 * its hand walks the processes' page tables in address order; a page whose
 * Accessed bit is set loses it and is passed over (the hardware sets it
 * again on the next access, SDM Vol. 3A 4.8), and the first page found with
 * A clear is evicted:
 *   - its contents go to a swap slot, unless the page is clean (Dirty bit
 *     clear) and its frame still has a valid copy in a slot (it was swapped
 *     in and not written since): then the write is skipped;
 *   - its PTE becomes not present, with PTE_SWAPPED and the slot number in
 *     the address bits; the MMU ignores every other bit of a not-present
 *     entry (SDM 4.5, Table 4-19), so they keep its rights;
 *   - the stale translation goes: INVLPG for the running address space, a
 *     full flush at the next CR3 load for any other (its PCID's entries
 *     would otherwise survive: proc_invalidate);
 *   - the frame returns to the pool.
 * A fault on a swapped page reads the slot back into a fresh frame.
 * Frames shared by a copy-on-write fork (reference count > 1) are never
 * victims: evicting one would mean finding and rewriting every PTE that
 * maps it, which this small kernel keeps no reverse map for.
 *
 * Slots are reference counted: a swapped PTE holds one reference, a
 * resident frame whose contents equal its slot holds one (frame_slot in
 * frames.c), and fork's copy of a swapped PTE takes another.
 */
#include "kernel.h"

#define MAX_SLOTS 4096
#define SECTORS_PER_SLOT (FRAME_SIZE / 512)

static uint16_t slot_refs[MAX_SLOTS];
static uint64_t slot_count, slots_used;
static unsigned hand_proc;              /* the clock's hand: a process slot and a user address in it */
static uint64_t hand_va;
static uint64_t pin_pml4, pin_lo, pin_hi;
uint64_t stat_swapped_out, stat_swapped_in, stat_clean_skips;

void swap_init(void)
{
    ata_init();
    uint64_t slots = ata_sectors() / SECTORS_PER_SLOT;
    slot_count = slots > MAX_SLOTS ? MAX_SLOTS : slots;
}

uint64_t swap_slots(void) { return slot_count; }
uint64_t swap_slots_used(void) { return slots_used; }

static uint64_t slot_alloc(void)
{
    for (uint64_t s = 0; s < slot_count; s++) {
        if (slot_refs[s] == 0) {
            slot_refs[s] = 1;
            slots_used++;
            return s;
        }
    }
    return (uint64_t)-1;
}

void swap_slot_ref(uint64_t slot) { slot_refs[slot]++; }

void swap_slot_put(uint64_t slot)
{
    if (slot >= slot_count || slot_refs[slot] == 0)
        panic("swap slot %lu released twice", slot);
    if (--slot_refs[slot] == 0)
        slots_used--;
}

/* While the kernel works on [lo, hi) of this space for a system call, those pages stay. */
void swap_pin(uint64_t pml4, uint64_t lo, uint64_t hi)
{
    pin_pml4 = pml4;
    pin_lo = lo;
    pin_hi = hi;
}

/* The first present user leaf PTE at or above `from` in the subtree at `table_pa`. */
static uint64_t *next_resident(uint64_t table_pa, int level, uint64_t base, uint64_t from, uint64_t *va)
{
    int shift = 12 + 9 * (level - 1);
    uint64_t *t = frame_ptr(table_pa);
    uint64_t first = from > base ? (from - base) >> shift : 0;
    uint64_t end = level == 4 ? 256 : 512;  /* the lower half only: the kernel's is not ours to evict */
    for (uint64_t i = first; i < end; i++) {
        if (!(t[i] & PTE_P))
            continue;
        uint64_t at = base + (i << shift);
        if (level == 1) {
            *va = at;
            return &t[i];
        }
        uint64_t *pte = next_resident(t[i] & PTE_ADDR, level - 1, at, from, va);
        if (pte)
            return pte;
    }
    return NULL;
}

static bool evict(unsigned proc, uint64_t va, uint64_t *pte)
{
    uint64_t pa = *pte & PTE_ADDR;
    uint32_t *copy = uframe_slot(pa);
    uint64_t slot;
    if (*copy && !(*pte & PTE_D)) {
        slot = *copy - 1;               /* clean, and the disk has it already */
        stat_clean_skips++;
    } else {
        slot = *copy ? *copy - 1 : slot_alloc();
        if (slot == (uint64_t)-1)
            return false;               /* the swap area is full */
        if (!ata_write((uint32_t)(slot * SECTORS_PER_SLOT), frame_ptr(pa), SECTORS_PER_SLOT))
            panic("swap: writing slot %lu failed", slot);
    }
    *copy = 0;                          /* the slot's reference moves from the frame to the PTE */
    *pte = slot << 12 | PTE_SWAPPED | (*pte & (PTE_W | PTE_U | PTE_COW | PTE_NX));
    proc_invalidate(proc, va, true);
    uframe_free(pa);
    stat_swapped_out++;
    return true;
}

/* The clock: frees one user frame by evicting a page; false when none can go. */
bool swap_evict_one(void)
{
    if (slot_count == 0)
        return false;
    /* Two full turns clear every A bit and then find one clear; a third bounds the search. */
    for (unsigned wraps = 0; wraps <= 3;) {
        uint64_t pml4, va;
        uint64_t *pte = NULL;
        if (hand_proc < proc_slots() && proc_space(hand_proc, &pml4))
            pte = next_resident(pml4, 4, 0, hand_va, &va);
        if (!pte) {
            if (++hand_proc >= proc_slots())
                hand_proc = 0, wraps++;
            hand_va = 0;
            continue;
        }
        hand_va = va + FRAME_SIZE;
        if (*pte & (PTE_SHARED | PTE_MMIO))
            continue;                   /* shared memory and device pages are never victims */
        if (uframe_refs(*pte & PTE_ADDR) != 1)
            continue;                   /* shared copy-on-write: skipped (see above) */
        if (pml4 == pin_pml4 && va >= pin_lo && va < pin_hi)
            continue;
        if (*pte & PTE_A) {
            *pte &= ~PTE_A;             /* a second chance */
            proc_invalidate(hand_proc, va, false);
            continue;
        }
        return evict(hand_proc, va, pte);
    }
    return false;
}

/* A user frame, evicting a page when the pool is empty; 0 when nothing can be had. */
uint64_t swap_frame_alloc(void)
{
    uint64_t pa = uframe_alloc();
    if (!pa && swap_evict_one())
        pa = uframe_alloc();
    return pa;
}

/* A fault on a swapped-out page: read its slot into a fresh frame and map it again (clean). */
bool swap_in(uint64_t *pte)
{
    uint64_t slot = *pte >> 12 & 0xFFFFFFFF, flags = *pte & (PTE_W | PTE_U | PTE_COW | PTE_NX);
    uint64_t pa = swap_frame_alloc();
    if (!pa)
        return false;
    if (!ata_read((uint32_t)(slot * SECTORS_PER_SLOT), frame_ptr(pa), SECTORS_PER_SLOT))
        panic("swap: reading slot %lu failed", slot);
    if (slot_refs[slot] == 1)
        *uframe_slot(pa) = (uint32_t)slot + 1;  /* the frame keeps the PTE's reference: a valid copy */
    else
        swap_slot_put(slot);            /* another space's PTE still needs the slot */
    *pte = pa | flags | PTE_P;
    stat_swapped_in++;
    return true;
}
