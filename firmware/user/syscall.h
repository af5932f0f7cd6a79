/* The system call interface, shared by the kernel (proc.c) and the user programs. */
#ifndef CR3_TOUR_SYSCALL_H
#define CR3_TOUR_SYSCALL_H

#define SYS_WRITE   0                   /* write(buf, len) -> bytes written, or -1 */
#define SYS_EXIT    1                   /* exit(status): 0 means the demonstration passed */
#define SYS_GETPID  2                   /* getpid() -> pid */
#define SYS_YIELD   3                   /* yield(): let another process run */
#define SYS_VMSTAT  4                   /* vmstat(struct vmstat *) -> 0, or -1 */
#define SYS_FORK    5                   /* fork() -> the child's pid in the parent, 0 in the child, -1 */
#define SYS_WAIT    6                   /* wait(int *status) -> an exited child's pid, or -1: no children */
#define SYS_FRAME_REFS 7                /* frame_refs(va) -> address spaces mapping that page's frame */
#define SYS_SHM_MAP 8                   /* shm_map(key, va) -> page tables mapping key's frame now, or 0 */
#define SYS_MAP_VGA 9                   /* map_vga(va) -> 0, or -1: the VGA text buffer (0xB8000) at va */
#define SYS_SBRK    10                  /* sbrk(delta) -> the old break, or -1: the heap ends at the new one */
#define SYS_MMAP    11                  /* mmap(addr, len, prot) -> a demand-zero region's address (addr 0: the
                                           kernel picks one in USER_MMAP), or -1 */
#define SYS_MUNMAP  12                  /* munmap(addr, len) -> 0, or -1: those pages leave the address space */
#define SYS_MPROTECT 13                 /* mprotect(addr, len, prot) -> 0, or -1: new rights for mapped pages */

/* Rights of a region (mmap, mprotect). Readable always; never both writable and executable (W^X). */
#define PROT_READ   1
#define PROT_WRITE  2
#define PROT_EXEC   4

/* The process's own memory figures, as the kernel counts them. */
struct vmstat {
    unsigned long page_faults;          /* not-present faults the kernel resolved */
    unsigned long frames;               /* physical frames the process holds */
    unsigned long pool_free;            /* frames left in the user pool */
    unsigned long cow_faults;           /* writes to copy-on-write pages */
    unsigned long cow_copies;           /* ... that copied the frame (it was shared) */
    unsigned long cow_reuses;           /* ... that took the frame back (the last reference) */
    unsigned long pool_size;            /* frames in the user pool (frames=N) */
    unsigned long swap_slots;           /* 4 KiB slots in the swap area; 0: no disk */
    unsigned long swapped_out;          /* pages evicted to the disk, all processes */
    unsigned long swapped_in;           /* pages read back from it, all processes */
    unsigned long swap_clean_skips;     /* evictions that skipped the write: clean, valid on disk */
};

/* The exit status of a demonstration that could not run here (no disk, too small a pool): skipped, not failed. */
#define EXIT_SKIPPED 77

/*
 * The wait status of a process the kernel killed: why (from the page-fault
 * error code, SDM Vol. 3A 4.7) and which access did it.
 */
#define KILL_NOT_PRESENT  1             /* P = 0: nothing mapped at that address */
#define KILL_SUPERVISOR   2             /* P = 1: a user access to a supervisor page (U/S = 0) */
#define KILL_READ_ONLY    3             /* P = 1, W/R = 1: a write to a read-only page */
#define KILL_NO_EXECUTE   4             /* P = 1, I/D = 1: an instruction fetch from a no-execute page */
#define KILL_NO_FRAME     5             /* a fault the kernel would serve, but the pool and swap are full */
#define KILL_RESERVED     6             /* RSVD = 1: a reserved bit set in a paging entry */
#define KILL_EXCEPTION    7             /* another exception (#GP, #UD, ...) */
#define ACCESS_READ  0
#define ACCESS_WRITE 1
#define ACCESS_FETCH 2
#define KILLED_STATUS(reason, access) (-(0x100 + (reason) * 4 + (access)))

/* The user address space (proc.c lays it out). */
#define USER_IMAGE      0x400000ul      /* text, rodata, data: copied in at start */
#define USER_HEAP       0x10000000ul    /* demand-zero, up to the break (sbrk), at most USER_HEAP_SIZE bytes */
#define USER_HEAP_SIZE  0x1000000ul
#define USER_MMAP       0x40000000ul    /* mmap's regions go here */
#define USER_MMAP_SIZE  0x10000000ul
#define USER_SHM        0x20000000ul    /* shm_map's pages go here */
#define USER_SHM_SIZE   0x100000ul
#define USER_MMIO       0x30000000ul    /* map_vga's page goes here */
#define USER_MMIO_SIZE  0x100000ul
#define USER_STACK_TOP  0x7ffffffff000ul /* demand-zero, USER_STACK_SIZE bytes below */
#define USER_STACK_SIZE 0x10000ul

#endif
