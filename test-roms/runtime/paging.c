/* Page tables, accessors and judging for the paging ROMs: see paging.h. */
#include "paging.h"

static uint64_t boot_cr3;
static uint64_t boot_pml4e;

struct pg_acc pg_acc;

void pg_init(void)
{
    boot_cr3 = read_cr3();
    boot_pml4e = ((volatile uint64_t *)(uintptr_t)(boot_cr3 & PTE_ADDR))[0];
}

uint64_t pg_boot_cr3(void) { return boot_cr3; }

void pg_boot(void) { write_cr3(boot_cr3); }

void pg_clear(pg_table_t t)
{
    for (unsigned i = 0; i < 512; i++)
        t[i] = 0;
}

void pg_build(struct pg_space *s)
{
    pg_clear(s->pml4);
    pg_clear(s->pdpt);
    pg_clear(s->pd);
    pg_clear(s->pt);
    s->pml4[0] = boot_pml4e;
    s->pml4[1] = pg_pa(s->pdpt) | PTE_FLAGS;
    s->pdpt[0] = pg_pa(s->pd) | PTE_FLAGS;
    s->pd[0] = pg_pa(s->pt) | PTE_FLAGS;
}

void pg_load(struct pg_space *s) { write_cr3(pg_pa(s->pml4)); }

static void do_read2(void *p) { struct pg_acc *a = p; uint16_t v; __asm__ volatile("movw (%1), %0" : "=r"(v) : "r"(a->va) : "memory"); a->value = v; }
static void do_read4(void *p) { struct pg_acc *a = p; uint32_t v; __asm__ volatile("movl (%1), %0" : "=r"(v) : "r"(a->va) : "memory"); a->value = v; }
void pg_do_read(void *p) { struct pg_acc *a = p; uint64_t v; __asm__ volatile("movq (%1), %0" : "=r"(v) : "r"(a->va) : "memory"); a->value = v; }
static void do_write2(void *p) { struct pg_acc *a = p; __asm__ volatile("movw %0, (%1)" : : "r"((uint16_t)a->value), "r"(a->va) : "memory"); }
static void do_write4(void *p) { struct pg_acc *a = p; __asm__ volatile("movl %0, (%1)" : : "r"((uint32_t)a->value), "r"(a->va) : "memory"); }
void pg_do_write(void *p) { struct pg_acc *a = p; __asm__ volatile("movq %0, (%1)" : : "r"(a->value), "r"(a->va) : "memory"); }
void pg_do_exec(void *p) { struct pg_acc *a = p; a->value = ((uint64_t (*)(void))(uintptr_t)a->va)(); }

int pg_access(int user, enum pg_op op, unsigned size, uint64_t va, uint64_t value, struct rom_fault *f)
{
    void (*fn)(void *);
    if (op == OP_X)
        fn = pg_do_exec;
    else if (op == OP_R)
        fn = size == 2 ? do_read2 : size == 4 ? do_read4 : pg_do_read;
    else
        fn = size == 2 ? do_write2 : size == 4 ? do_write4 : pg_do_write;
    pg_acc.va = va;
    pg_acc.value = value;
    return user ? rom_try_user(fn, &pg_acc, f) : rom_try(fn, &pg_acc, f);
}

void pg_expect(int ok, const char *what)
{
    if (!ok)
        rom_printf(" %s expected %s", rom_verdict(0), what);
}

void pg_judge_err(const struct rom_fault *f, uint64_t want)
{
    int rsvd_no_p = (want & 0x8) && f->error == (want & ~1ULL);
    pg_expect(f->vector == PG_VEC_PF && (f->error == want || rsvd_no_p), "another error code");
    if (f->vector == PG_VEC_PF && rsvd_no_p)
        rom_printf(" (SDM: err=0x%lx)", want);
}
