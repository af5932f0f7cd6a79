/*
 * Processes. Each has a PML4 of its own (vm_new_space), a kernel stack, and
 * this user address space:
 *   USER_IMAGE       a private copy of the user image: text R-X, rodata R--,
 *                    data RW- (W^X: nothing is both writable and executable)
 *   USER_HEAP        demand-zero: not present until touched
 *   USER_STACK_TOP   demand-zero stack growing down
 * The scheduler is round robin; the LAPIC timer preempts ring 3. Switching
 * to a process loads its CR3 (with its PCID when the CPU has them) and puts
 * its kernel stack in the TSS (RSP0) and in kernel_stack_top (SYSCALL).
 */
#include "kernel.h"
#include "user/syscall.h"

#define MAX_PROCS 8
#define KSTACK_SIZE 16384
#define CR3_NOFLUSH (1ull << 63)        /* keep this PCID's TLB entries (SDM 4.10.4.1) */

enum state { UNUSED, RUNNABLE, EXITED };

struct proc {
    enum state state;
    int pid;
    const char *name;
    uint64_t pml4;
    uint64_t saved_rsp;                 /* its kernel stack while it is not running */
    bool tlb_fresh;                     /* the TLB holds nothing stale for its PCID */
    int exit_status;
    uint64_t page_faults, frames;
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
uint64_t stat_passes, stat_fails;

static bool in_demand_region(uint64_t va)
{
    return (va >= USER_HEAP && va < USER_HEAP + USER_HEAP_SIZE) ||
           (va >= USER_STACK_TOP - USER_STACK_SIZE && va < USER_STACK_TOP);
}

static bool give_frame(struct proc *p, uint64_t va, uint64_t flags)
{
    uint64_t pa = uframe_alloc();
    if (!pa)
        return false;
    vm_map(p->pml4, va & ~0xfffull, pa, flags | PTE_U);
    p->frames++;
    return true;
}

int proc_spawn(const char *name, uint64_t entry)
{
    struct proc *p = NULL;
    for (int i = 0; i < MAX_PROCS && !p; i++)
        if (procs[i].state == UNUSED)
            p = &procs[i];
    if (!p)
        panic("no free process slot for %s", name);
    p->pid = next_pid++;
    p->name = name;
    p->pml4 = vm_new_space();
    p->tlb_fresh = false;
    p->page_faults = p->frames = 0;

    /* Copy the user image in, page by page, with W^X rights. */
    uint64_t size = (uint64_t)__user_image_size, text = (uint64_t)__user_text_size;
    uint64_t rodata_end = text + (uint64_t)__user_rodata_size;
    for (uint64_t off = 0; off < size; off += FRAME_SIZE) {
        uint64_t flags = off < text ? 0 : off < rodata_end ? PTE_NX : PTE_W | PTE_NX;
        if (!give_frame(p, USER_IMAGE + off, flags))
            panic("the user pool cannot hold %s's image", name);
        memcpy(frame_ptr(*vm_pte(p->pml4, USER_IMAGE + off, false) & PTE_ADDR), __user_image + off, FRAME_SIZE);
    }

    /* A kernel stack that "returns" through trap_return into ring 3 at entry. */
    struct trap_frame *tf = (struct trap_frame *)(p->kstack + KSTACK_SIZE) - 1;
    memset(tf, 0, sizeof *tf);
    tf->rip = entry;
    tf->cs = SEL_UCODE;
    tf->rflags = 0x202;                 /* IF: the timer may preempt it */
    tf->rsp = USER_STACK_TOP;
    tf->ss = SEL_UDATA;
    uint64_t *sp = (uint64_t *)tf;
    *--sp = (uint64_t)trap_return;
    for (int i = 0; i < 6; i++)
        *--sp = 0;                      /* rbp rbx r12-r15 for switch_stacks */
    p->saved_rsp = (uint64_t)sp;
    p->state = RUNNABLE;
    return p->pid;
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
    switch_stacks(&scheduler_rsp, p->saved_rsp);
    current = NULL;
}

static void reap(struct proc *p)
{
    write_cr3(vm_kernel_space());       /* never free the tables CR3 points at */
    uint64_t before = uframes_free();
    vm_free_space(p->pml4);
    kprintf("kernel: pid %d (%s) exited with status %d; %lu page faults, %lu frames returned\n", p->pid, p->name,
            p->exit_status, p->page_faults, uframes_free() - before);
    if (p->exit_status == 0)
        stat_passes++;
    else
        stat_fails++;
    p->state = UNUSED;
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
    exit_current(-1);
}

/* Demand paging: a not-present fault in a demand-zero region gets a fresh zeroed frame. */
static bool resolve_fault(uint64_t va, uint64_t error)
{
    bool present = error & 1, fetch = error & 16;
    if (present || fetch || !in_demand_region(va))
        return false;
    if (!give_frame(current, va, PTE_W | PTE_NX))
        return false;
    current->page_faults++;
    return true;
}

bool proc_page_fault(struct trap_frame *tf, uint64_t cr2)
{
    if (resolve_fault(cr2, tf->error))
        return true;
    /* SDM Vol. 3A 4.7: P = protection violation, W/R = write, I/D = instruction fetch. */
    const char *access = tf->error & 16 ? "execute" : tf->error & 2 ? "write" : "read";
    const char *reason = !(tf->error & 1) ? (in_demand_region(cr2) ? "no free frame" : "not mapped") : "protection";
    kprintf("kernel: pid %d (%s) segfault: %s at 0x%lx, %s (error %lx)\n", current->pid, current->name, access, cr2, reason,
            tf->error);
    exit_current(-1);
}

/* Make [va, va+len) usable by the kernel on the process's behalf, faulting demand pages in. */
static bool user_range(uint64_t va, uint64_t len, bool write)
{
    if (va + len < va || va + len > 0x0000800000000000ull)
        return false;
    for (uint64_t page = va & ~0xfffull; page < va + len; page += FRAME_SIZE) {
        uint64_t *pte = vm_pte(current->pml4, page, false);
        if (!pte || !(*pte & PTE_P)) {
            if (!resolve_fault(page, write ? 2 : 0))
                return false;
            pte = vm_pte(current->pml4, page, false);
        }
        if (!(*pte & PTE_U) || (write && !(*pte & PTE_W)))
            return false;
    }
    return true;
}

uint64_t syscall_dispatch(struct trap_frame *tf)
{
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
        return 0;
    }
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
