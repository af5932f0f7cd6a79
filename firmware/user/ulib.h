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

/* printf with %s %d %u %lu %x %lx %p; one write per call, so a line is never split. */
void uprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
