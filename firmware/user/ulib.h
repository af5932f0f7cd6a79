/* The user programs' tiny library: system calls and printing. */
#ifndef CR3_TOUR_ULIB_H
#define CR3_TOUR_ULIB_H
#include "syscall.h"

long sys_write(const char *buf, unsigned long len);
_Noreturn void sys_exit(int status);
long sys_getpid(void);
void sys_yield(void);
long sys_vmstat(struct vmstat *v);
long sys_fork(void);
long sys_wait(int *status);
long sys_frame_refs(const volatile void *va);
long sys_shm_map(unsigned long key, volatile void *va);
long sys_map_vga(volatile void *va);
void *sys_sbrk(long delta);             /* (void *)-1 on failure */
void *sys_mmap(void *addr, unsigned long len, int prot);  /* (void *)-1 on failure */
long sys_munmap(void *addr, unsigned long len);
long sys_mprotect(void *addr, unsigned long len, int prot);
#define MAP_FAILED ((void *)-1)

/* forbidden() in a forked child that exits 0 if it survives; the parent waits: the child's wait status, or -1. */
int child_status(void (*forbidden)(void));

/* printf with %s %d %u %lu %x %lx %p; one write per call, so a line is never split. */
void uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
