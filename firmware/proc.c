/*
 * Processes. Each has a PML4 of its own (vm_new_space), a kernel stack, and
 * a memory map (regions.c) of this user address space:
 *   USER_IMAGE       a private copy of the user image: text R-X, rodata R--,
 *                    data RW- (W^X: nothing is both writable and executable)
 *   USER_HEAP        demand-zero up to the break (sbrk): not present until touched
 *   USER_MMAP        mmap's demand-zero regions
 *   USER_STACK_TOP   demand-zero stack growing down
 * The scheduler is round robin; the LAPIC timer preempts ring 3. Switching
 * to a process loads its CR3 (with its PCID when the CPU has them) and puts
 * its kernel stack in the TSS (RSP0) and in kernel_stack_top (SYSCALL).
 *
 * fork gives the child a copy of the parent's page tables over the same
 * frames (vm_fork_space), and wait lets the parent collect a child's exit
 * status. A child that exits stays a ZOMBIE, its memory already returned,
 * until its parent waits for it; the tour counts only the first process of
 * each demonstration (the one kmain spawned) as a pass or a failure.
 */
#include "kernel.h"
#include "user/syscall.h"

#define MAX_PROCS 8
#define KSTACK_SIZE 16384
#define CR3_NOFLUSH (1ull << 63)        /* keep this PCID's TLB entries (SDM 4.10.4.1) */

enum state { UNUSED, RUNNABLE, EXITED, ZOMBIE };

struct proc {
    enum state state;
    int pid;
    int parent_pid;                     /* 0 for the processes kmain spawns */
    const char *name;
    uint64_t pml4;
    struct memory_map map;              /* where a fault may be served, and with which rights */
    uint64_t saved_rsp;                 /* its kernel stack while it is not running */
    bool tlb_fresh;                     /* the TLB holds nothing stale for its PCID */
    bool waiting;                       /* in wait, for a child to exit */
    int exit_status;
    uint64_t page_faults, frames;
    uint64_t cow_faults, cow_copies, cow_reuses;
    uint8_t kstack[KSTACK_SIZE] __attribute__((aligned(16)));
};

extern uint64_t kernel_stack_top;
extern char __user_image[], __user_image_size[], __user_text_size[], __user_rodata_size[];
void trap_return(void);
void switch_stacks(uint64_t *save_rsp, uint64_t rsp);
void syscall_entry(void);

static struct proc procs[MAX_PROCS];
static struct proc *current;
static uint64_t scheduler_rsp;
static int next_pid = 1;
uint64_t stat_passes, stat_fails, stat_skips;

static bool give_frame(struct proc *p, uint64_t va, uint64_t flags)
{
    uint64_t pa = swap_frame_alloc();  /* may evict a page to the swap area */
    if (!pa)
        return false;
    vm_map(p->pml4, va & ~0xfffull, pa, flags | PTE_U);
    p->frames++;
    return true;
}

/* The screen's status line of a process (console_status): one per process slot. */
#define ATTR_RUNNING 0x2F               /* white on green */
#define ATTR_READY   0x07               /* grey on black */
#define ATTR_WAITING 0x0E               /* yellow on black */
#define ATTR_PASSED  0x0A               /* light green on black */
#define ATTR_FAILED  0x0C               /* light red on black */
#define ATTR_KILLED  0x4F               /* white on red */

/* Why a process was killed: in its one-line report, and shorter on its status line. */
static const struct {
    const char *report, *status;
} kill_reasons[] = {
    [KILL_NOT_PRESENT] = {"not present", "nothing mapped there"},
    [KILL_SUPERVISOR] = {"protection violation: user access to a supervisor page", "touched kernel memory"},
    [KILL_READ_ONLY] = {"protection violation: write to a read-only page", "wrote a read-only page"},
    [KILL_NO_EXECUTE] = {"protection violation: instruction fetch from a no-execute page", "ran a no-execute page"},
    [KILL_NO_FRAME] = {"no free frame", "no free frame"},
    [KILL_RESERVED] = {"reserved bit set in a paging entry", "reserved bit in a PTE"},
    [KILL_EXCEPTION] = {"exception", "an exception"},
};

static void show(const struct proc *p, const char *state, uint8_t attr, const char *note)
{
    console_status((unsigned)(p - procs), attr, "%5d  %-8s  %-10s  %6lu  %6lu  %6lu  %s", p->pid, p->name, state,
                   p->page_faults, p->frames, p->cow_copies, note);
}

static void show_exit(const struct proc *p)
{
    int status = p->exit_status, killed = -status - 0x100;   /* reason * 4 + access for KILLED_STATUS */
    if (killed >= 4 * KILL_NOT_PRESENT && killed / 4 <= KILL_EXCEPTION)
        show(p, "killed", ATTR_KILLED, kill_reasons[killed / 4].status);
    else if (status == EXIT_SKIPPED)
        show(p, "skipped", ATTR_READY, "");
    else
        show(p, status == 0 ? "exited 0" : "failed", status == 0 ? ATTR_PASSED : ATTR_FAILED, "");
}

static struct proc *new_proc(const char *name)
{
    struct proc *p = NULL;
    for (int i = 0; i < MAX_PROCS && !p; i++)
        if (procs[i].state == UNUSED)
            p = &procs[i];
    if (!p)
        return NULL;
    p->pid = next_pid++;
    p->parent_pid = 0;
    p->name = name;
    p->tlb_fresh = false;
    p->waiting = false;
    p->page_faults = p->frames = 0;
    p->cow_faults = p->cow_copies = p->cow_reuses = 0;
    return p;
}

/* A kernel stack that "returns" through trap_return into ring 3 with the registers of *tf. */
static void prepare_kernel_stack(struct proc *p, const struct trap_frame *user)
{
    struct trap_frame *tf = (struct trap_frame *)(p->kstack + KSTACK_SIZE) - 1;
    *tf = *user;
    uint64_t *sp = (uint64_t *)tf;
    *--sp = (uint64_t)trap_return;
    for (int i = 0; i < 6; i++)
        *--sp = 0;                      /* rbp rbx r12-r15 for switch_stacks */
    p->saved_rsp = (uint64_t)sp;
}

int proc_spawn(const char *name, uint64_t entry)
{
    struct proc *p = new_proc(name);
    if (!p)
        panic("no free process slot for %s", name);
    p->pml4 = vm_new_space();

    /* Copy the user image in, page by page, with its regions' rights (W^X). */
    uint64_t size = (uint64_t)__user_image_size, text = (uint64_t)__user_text_size;
    uint64_t rodata_end = text + (uint64_t)__user_rodata_size;
    map_init(&p->map, USER_IMAGE + text, USER_IMAGE + rodata_end, USER_IMAGE + size);
    for (uint64_t off = 0; off < size; off += FRAME_SIZE) {
        uint64_t flags = map_pte_rights(map_find(&p->map, USER_IMAGE + off)->prot);
        if (!give_frame(p, USER_IMAGE + off, flags))
            panic("the user pool cannot hold %s's image", name);
        memcpy(frame_ptr(*vm_pte(p->pml4, USER_IMAGE + off, false) & PTE_ADDR), __user_image + off, FRAME_SIZE);
    }

    /* Ring 3 at entry, on an empty stack. */
    struct trap_frame tf;
    memset(&tf, 0, sizeof tf);
    tf.rip = entry;
    tf.cs = SEL_UCODE;
    tf.rflags = 0x202;                  /* IF: the timer may preempt it */
    tf.rsp = USER_STACK_TOP;
    tf.ss = SEL_UDATA;
    prepare_kernel_stack(p, &tf);
    p->state = RUNNABLE;
    show(p, "ready", ATTR_READY, "");
    return p->pid;
}

/* fork: the child resumes from the same system call with 0 in RAX; the parent gets the child's pid. */
static int fork_current(const struct trap_frame *tf)
{
    struct proc *child = new_proc(current->name);
    if (!child)
        return -1;
    child->parent_pid = current->pid;
    uint64_t cow_pages, shared_pages, shm_pages;
    child->pml4 = vm_fork_space(current->pml4, &cow_pages, &shared_pages, &shm_pages);
    child->map = current->map;
    child->frames = cow_pages + shared_pages + shm_pages;
    if (shm_pages)
        kprintf("kernel: pid %d forked pid %d: %lu pages shared copy-on-write, %lu read-only pages shared, %lu shared-memory pages\n",
                current->pid, child->pid, cow_pages, shared_pages, shm_pages);
    else
        kprintf("kernel: pid %d forked pid %d: %lu pages shared copy-on-write, %lu read-only pages shared\n", current->pid,
                child->pid, cow_pages, shared_pages);
    struct trap_frame regs = *tf;
    regs.rax = 0;
    prepare_kernel_stack(child, &regs);
    child->state = RUNNABLE;
    show(child, "ready", ATTR_READY, "");
    return child->pid;
}

static bool user_range(uint64_t va, uint64_t len, bool write);
static void yield(void);

static struct proc *find_pid(int pid)
{
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].state != UNUSED && procs[i].pid == pid)
            return &procs[i];
    return NULL;
}

static void run(struct proc *p)
{
    current = p;
    kernel_stack_top = (uint64_t)(p->kstack + KSTACK_SIZE);
    tss_set_rsp0(kernel_stack_top);
    uint64_t cr3 = p->pml4;
    if (vm_pcid_enabled()) {
        cr3 |= (uint64_t)p->pid & 0xfff;
        if (p->tlb_fresh)
            cr3 |= CR3_NOFLUSH;
        p->tlb_fresh = true;
    }
    write_cr3(cr3);
    show(p, "running", ATTR_RUNNING, "");
    switch_stacks(&scheduler_rsp, p->saved_rsp);
    current = NULL;
    if (p->state == RUNNABLE)
        show(p, p->waiting ? "waiting" : "ready", p->waiting ? ATTR_WAITING : ATTR_READY, "");
}

unsigned proc_slots(void) { return MAX_PROCS; }

bool proc_space(unsigned slot, uint64_t *pml4)
{
    if (procs[slot].state != RUNNABLE)
        return false;                   /* unused, or exited and about to give everything back */
    *pml4 = procs[slot].pml4;
    return true;
}

/*
 * The swap code changed a PTE of this process (cleared A, or evicted the
 * page). The running address space drops the translation with INVLPG; any
 * other keeps its PCID-tagged entries across CR3 loads with the no-flush
 * bit, so it gets a full flush at its next load instead (SDM 4.10.4.1).
 */
void proc_invalidate(unsigned slot, uint64_t va, bool evicted)
{
    struct proc *p = &procs[slot];
    if (p == current)
        invlpg(va);
    else
        p->tlb_fresh = false;
    if (evicted)
        p->frames--;
}

static void reap(struct proc *p)
{
    write_cr3(vm_kernel_space());       /* never free the tables CR3 points at */
    uint64_t before = uframes_free();
    vm_free_space(p->pml4);
    kprintf("kernel: pid %d (%s) exited with status %d; %lu page faults, %lu frames returned\n", p->pid, p->name,
            p->exit_status, p->page_faults, uframes_free() - before);
    show_exit(p);
    for (int i = 0; i < MAX_PROCS; i++)
        if (procs[i].state == ZOMBIE && procs[i].parent_pid == p->pid)
            procs[i].state = UNUSED;    /* nobody will wait for these any more */
    if (p->parent_pid != 0) {
        /* A child: its parent judges it. Keep its status for wait while the parent lives. */
        struct proc *parent = find_pid(p->parent_pid);
        p->state = parent && parent->state == RUNNABLE ? ZOMBIE : UNUSED;
        return;
    }
    if (p->exit_status == 0)
        stat_passes++;
    else if (p->exit_status == EXIT_SKIPPED)
        stat_skips++;
    else
        stat_fails++;
    p->state = UNUSED;
}

/* wait: the pid of an exited child (its status in *status), or -1 when there is no child. */
static int64_t wait_child(uint64_t status_va)
{
    for (;;) {
        bool any_child = false;
        for (int i = 0; i < MAX_PROCS; i++) {
            struct proc *q = &procs[i];
            if (q->state == UNUSED || q->parent_pid != current->pid)
                continue;
            any_child = true;
            if (q->state != ZOMBIE)
                continue;
            if (status_va && !user_range(status_va, sizeof(int), true))
                return -1;
            if (status_va)
                *(int *)status_va = q->exit_status;
            q->state = UNUSED;
            return q->pid;
        }
        if (!any_child)
            return -1;
        current->waiting = true;
        yield();                        /* let the children run; look again when we are back */
        current->waiting = false;
    }
}

void proc_run_all(void)
{
    for (int i = 0;; i = (i + 1) % MAX_PROCS) {
        bool any = false;
        for (int j = 0; j < MAX_PROCS; j++)
            any |= procs[j].state == RUNNABLE;
        if (!any)
            return;
        if (procs[i].state != RUNNABLE)
            continue;
        run(&procs[i]);
        if (procs[i].state == EXITED)
            reap(&procs[i]);
    }
}

/* Back to the scheduler; returns when this process is chosen again. */
static void yield(void)
{
    switch_stacks(&current->saved_rsp, scheduler_rsp);
}

static _Noreturn void exit_current(int status)
{
    current->exit_status = status;
    current->state = EXITED;
    yield();
    panic("an exited process ran again");
}

void proc_timer_tick(struct trap_frame *tf)
{
    (void)tf;
    yield();
}

void proc_kill_current(const char *why)
{
    kprintf("kernel: pid %d (%s) killed: %s\n", current->pid, current->name, why);
    exit_current(KILLED_STATUS(KILL_EXCEPTION, ACCESS_READ));
}

/*
 * Copy on write: a write to a present, read-only page marked PTE_COW. While
 * another address space still maps the frame, copy it into a frame of our
 * own; when we hold the last reference, just make it writable again. Either
 * way our TLB may still hold the read-only translation: INVLPG it.
 */
static bool cow_fault(uint64_t va, uint64_t *pte)
{
    uint64_t old = *pte & PTE_ADDR, flags = (*pte & ~PTE_ADDR & ~PTE_COW) | PTE_W;
    if (uframe_refs(old) == 1) {
        *pte = old | flags;
        current->cow_reuses++;
    } else {
        uint64_t copy = swap_frame_alloc();   /* never evicts old: shared frames are not victims */
        if (!copy)
            return false;
        memcpy(frame_ptr(copy), frame_ptr(old), FRAME_SIZE);
        *pte = copy | flags;
        uframe_free(old);               /* one reference fewer; the other space keeps it */
        current->cow_copies++;
    }
    invlpg(va);
    current->cow_faults++;
    return true;
}

/*
 * Demand paging: a not-present fault inside a region of the memory map gets
 * a fresh zeroed frame with the region's rights; one on a swapped-out page
 * (any access, even a fetch from swapped-out text) gets its contents back
 * from the disk. An access the rights forbid (a write to a read-only
 * region, a fetch from a no-execute one) then faults again, now on a
 * present page, and the error code says which right it broke.
 */
static bool resolve_fault(uint64_t va, uint64_t error)
{
    bool present = error & 1, write = error & 2, fetch = error & 16;
    if (present && write && !fetch) {
        uint64_t *pte = vm_pte(current->pml4, va, false);
        return pte && (*pte & PTE_COW) && cow_fault(va & ~0xfffull, pte);
    }
    uint64_t *pte = present ? NULL : vm_pte(current->pml4, va, false);
    if (pte && !(*pte & PTE_P) && (*pte & PTE_SWAPPED)) {
        if (!swap_in(pte))
            return false;
        current->page_faults++;
        current->frames++;
        return true;
    }
    const struct region *region = present ? NULL : map_find(&current->map, va);
    if (!region)
        return false;
    if (!give_frame(current, va, map_pte_rights(region->prot)))
        return false;
    current->page_faults++;
    return true;
}

/*
 * Why a user page fault the kernel could not serve happened, from the error
 * code (SDM Vol. 3A 4.7: bit 0 P, 1 W/R, 2 U/S, 3 RSVD, 4 I/D). With P = 1
 * the access broke a right; which one follows from the access and the
 * entries: a user access to a supervisor page (U/S = 0 somewhere on the
 * walk), else a write to a read-only page, else a fetch from a no-execute one.
 */
static int fault_reason(uint64_t va, uint64_t error)
{
    bool write = error & 2, fetch = error & 16;
    uint64_t *pte = vm_pte(current->pml4, va, false);
    if (!(error & 1)) {
        bool swapped = pte && !(*pte & PTE_P) && (*pte & PTE_SWAPPED);
        return map_find(&current->map, va) || swapped ? KILL_NO_FRAME : KILL_NOT_PRESENT;
    }
    if (error & 8)
        return KILL_RESERVED;
    if (!vm_user_accessible(current->pml4, va))
        return KILL_SUPERVISOR;
    if (write && !fetch)
        return pte && (*pte & PTE_COW) ? KILL_NO_FRAME : KILL_READ_ONLY;
    return fetch ? KILL_NO_EXECUTE : KILL_SUPERVISOR;
}

bool proc_page_fault(struct trap_frame *tf, uint64_t cr2)
{
    swap_pin(0, 0, 0);                  /* no system call is using user memory now */
    if (resolve_fault(cr2, tf->error))
        return true;
    int access = tf->error & 16 ? ACCESS_FETCH : tf->error & 2 ? ACCESS_WRITE : ACCESS_READ;
    static const char *const access_names[] = {"read", "write", "fetch"};
    int reason = fault_reason(cr2, tf->error);
    kprintf("kernel: pid %d (%s) killed: %s at 0x%lx: %s (error 0x%lx)\n", current->pid, current->name,
            access_names[access], cr2, kill_reasons[reason].report, tf->error);
    exit_current(KILLED_STATUS(reason, access));
}

/* Make [va, va+len) usable by the kernel on the process's behalf, faulting demand pages in. */
static bool user_range(uint64_t va, uint64_t len, bool write)
{
    if (va + len < va || va + len > 0x0000800000000000ull)
        return false;
    swap_pin(current->pml4, va & ~0xfffull, va + len);  /* faulting one page in must not evict another */
    for (uint64_t page = va & ~0xfffull; page < va + len; page += FRAME_SIZE) {
        uint64_t *pte = vm_pte(current->pml4, page, false);
        if (!pte || !(*pte & PTE_P)) {
            if (!resolve_fault(page, write ? 2 : 0))
                return false;
            pte = vm_pte(current->pml4, page, false);
        }
        if (write && !(*pte & PTE_W) && (*pte & PTE_COW) && !resolve_fault(page, 3))
            return false;               /* the kernel's write would have been the process's: copy first */
        if (!(*pte & PTE_U) || (write && !(*pte & PTE_W)))
            return false;
    }
    return true;
}

uint64_t syscall_dispatch(struct trap_frame *tf)
{
    swap_pin(0, 0, 0);
    switch (tf->rax) {
    case SYS_WRITE:
        if (!user_range(tf->rdi, tf->rsi, false))
            return (uint64_t)-1;
        console_write((const char *)tf->rdi, tf->rsi);
        return tf->rsi;
    case SYS_EXIT:
        exit_current((int)tf->rdi);
    case SYS_GETPID:
        return (uint64_t)current->pid;
    case SYS_YIELD:
        yield();
        return 0;
    case SYS_VMSTAT: {
        if (!user_range(tf->rdi, sizeof(struct vmstat), true))
            return (uint64_t)-1;
        struct vmstat *v = (struct vmstat *)tf->rdi;
        v->page_faults = current->page_faults;
        v->frames = current->frames;
        v->pool_free = uframes_free();
        v->cow_faults = current->cow_faults;
        v->cow_copies = current->cow_copies;
        v->cow_reuses = current->cow_reuses;
        v->pool_size = uframes_total();
        v->swap_slots = swap_slots();
        v->swapped_out = stat_swapped_out;
        v->swapped_in = stat_swapped_in;
        v->swap_clean_skips = stat_clean_skips;
        return 0;
    }
    case SYS_FORK:
        return (uint64_t)(int64_t)fork_current(tf);
    case SYS_WAIT:
        return (uint64_t)wait_child(tf->rdi);
    case SYS_FRAME_REFS: {
        /* How many address spaces map the frame behind this user page (0: none mapped). */
        if (tf->rdi >= 0x0000800000000000ull)
            return 0;
        uint64_t *pte = vm_pte(current->pml4, tf->rdi, false);
        return pte && (*pte & PTE_P) && !(*pte & PTE_MMIO) ? uframe_refs(*pte & PTE_ADDR) : 0;
    }
    case SYS_SHM_MAP: {
        uint64_t refs = shm_map(current->pml4, tf->rdi, tf->rsi);
        if (refs) {
            current->frames++;
            kprintf("kernel: pid %d mapped shared memory key %lu at 0x%lx: its frame is in %lu page table%s\n", current->pid,
                    tf->rdi, tf->rsi, refs, refs == 1 ? "" : "s");
        }
        return refs;
    }
    case SYS_SBRK:
        return (uint64_t)map_sbrk(&current->map, current->pml4, (int64_t)tf->rdi, &current->frames);
    case SYS_MMAP:
        return (uint64_t)map_mmap(&current->map, tf->rdi, tf->rsi, (unsigned)tf->rdx);
    case SYS_MUNMAP:
        return (uint64_t)map_munmap(&current->map, current->pml4, tf->rdi, tf->rsi, &current->frames);
    case SYS_MPROTECT:
        return (uint64_t)map_mprotect(&current->map, current->pml4, tf->rdi, tf->rsi, (unsigned)tf->rdx);
    case SYS_MAP_VGA:
        if (!shm_map_vga(current->pml4, tf->rdi))
            return (uint64_t)-1;
        kprintf("kernel: pid %d mapped the VGA text buffer (physical 0xb8000, uncached) at 0x%lx\n", current->pid, tf->rdi);
        return 0;
    default:
        return (uint64_t)-1;
    }
}

#define MSR_STAR  0xC0000081
#define MSR_LSTAR 0xC0000082
#define MSR_FMASK 0xC0000084

void syscall_init(void)
{
    /* SDM Vol. 3A 5.8.8: SYSCALL loads CS = STAR[47:32] (SS = +8); SYSRET to 64-bit
     * loads CS = STAR[63:48] + 16 and SS = STAR[63:48] + 8, both with RPL 3. */
    wrmsr(MSR_STAR, (uint64_t)0x10 << 48 | (uint64_t)SEL_KCODE << 32);
    wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
    wrmsr(MSR_FMASK, 0x47700);          /* clear IF, DF, TF, AC, NT on entry */
}
