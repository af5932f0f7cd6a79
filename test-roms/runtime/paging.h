/*
 * Shared by the ROMs that build their own 4-level page tables (paging,
 * paging-rights, paging-misc): an address space that copies the boot
 * identity map (PML4[0]) and adds a test region at PG_REGION (PML4[1]),
 * accessors run through rom_try / rom_try_user, and the SDM judging helpers.
 *
 *   static struct pg_space a;      // in .bss, page-aligned
 *   pg_init();                     // once: records the boot CR3 and PML4[0]
 *   pg_boot();                     // back to the boot tables before editing
 *   pg_build(&a);                  // tables cleared (A/D clear) and linked:
 *                                  //   PML4[1] -> pdpt, pdpt[0] -> pd, pd[0] -> pt
 *   a.pt[n] = pa | flags;          // PG_VA(n) = PG_REGION + n * 4 KiB
 *   pg_load(&a);                   // CR3 = a.pml4
 *   pg_access(user, OP_R, 8, va, 0, &f);  // 1 if it faulted; pg_acc.value
 */
#ifndef CR3_ROM_PAGING_H
#define CR3_ROM_PAGING_H

#include "runtime.h"

#define PG_REGION   ((uint64_t)0x0000008000000000ULL)
#define PG_PAGE     ((uint64_t)0x1000)
#define PG_VA(n)    (PG_REGION + (n) * PG_PAGE)
#define PG_VEC_PF   14

typedef volatile uint64_t pg_table_t[512];

/* The four tables of one address space's test region. */
struct pg_space {
    pg_table_t pml4, pdpt, pd, pt;
} __attribute__((aligned(4096)));

/* The physical (= identity-mapped) address of a table or buffer. */
static inline uint64_t pg_pa(const volatile void *p) { return (uint64_t)(uintptr_t)p; }

/* 1 if any bit of m is set in e (an entry's flag, a CPUID bit). */
static inline unsigned pg_bit(uint64_t e, uint64_t m) { return (e & m) ? 1 : 0; }

void pg_init(void);                     /* records the boot CR3 and its PML4[0] */
uint64_t pg_boot_cr3(void);
void pg_boot(void);                     /* CR3 = the boot tables (identity map only) */
void pg_clear(pg_table_t t);
/* Clears s's four tables and links them (PTE_FLAGS at every level), PML4[0] =
   the boot PML4[0]. Does not touch CR3: never build the live tables. */
void pg_build(struct pg_space *s);
void pg_load(struct pg_space *s);       /* CR3 = s->pml4 */

/* ---- accessors, run through rom_try (CPL0) or rom_try_user (CPL3) ---- */

struct pg_acc {
    uint64_t va;
    uint64_t value;                     /* in: what a write stores; out: what a read or call gave */
};
extern struct pg_acc pg_acc;

enum pg_op { OP_R, OP_W, OP_X };

/* rom_try / rom_try_user callbacks on a struct pg_acc (8-byte read, write, call). */
void pg_do_read(void *p);
void pg_do_write(void *p);
void pg_do_exec(void *p);

/* A read or write of size 2, 4 or 8 bytes, or a call, at va through pg_acc;
   at CPL3 if user. Returns 1 (f filled in) if it faulted. */
int pg_access(int user, enum pg_op op, unsigned size, uint64_t va, uint64_t value, struct rom_fault *f);

/* ---- judging ---- */

/* Prints " FAIL expected <what>" unless ok (and fails the ROM); nothing otherwise. */
void pg_expect(int ok, const char *what);

/*
 * Judges a #PF error code against want. SDM "Page-Fault Exceptions": RSVD=1
 * comes with P=1 ("bit 3 of the error code can be set only if bit 0 is also
 * set"). QEMU 7.2's TCG reports RSVD without P; accept both, and print
 * " (SDM: err=..)" when it differs.
 */
void pg_judge_err(const struct rom_fault *f, uint64_t want);

#endif
