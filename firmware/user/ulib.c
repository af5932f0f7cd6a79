/* System calls through SYSCALL: number in RAX, arguments in RDI, RSI, RDX; RCX and R11 are lost. */
#include "ulib.h"

static long syscall3(long nr, long a, long b, long c)
{
    long ret;
    __asm__ volatile("syscall" : "=a"(ret) : "a"(nr), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return ret;
}

static long syscall2(long nr, long a, long b) { return syscall3(nr, a, b, 0); }

long sys_write(const char *buf, unsigned long len) { return syscall2(SYS_WRITE, (long)buf, (long)len); }
long sys_getpid(void) { return syscall2(SYS_GETPID, 0, 0); }
void sys_yield(void) { syscall2(SYS_YIELD, 0, 0); }
long sys_vmstat(struct vmstat *v) { return syscall2(SYS_VMSTAT, (long)v, 0); }
long sys_fork(void) { return syscall2(SYS_FORK, 0, 0); }
long sys_wait(int *status) { return syscall2(SYS_WAIT, (long)status, 0); }
long sys_frame_refs(const volatile void *va) { return syscall2(SYS_FRAME_REFS, (long)va, 0); }
long sys_shm_map(unsigned long key, volatile void *va) { return syscall2(SYS_SHM_MAP, (long)key, (long)va); }
long sys_map_vga(volatile void *va) { return syscall2(SYS_MAP_VGA, (long)va, 0); }
void *sys_sbrk(long delta) { return (void *)syscall2(SYS_SBRK, delta, 0); }
void *sys_mmap(void *addr, unsigned long len, int prot) { return (void *)syscall3(SYS_MMAP, (long)addr, (long)len, prot); }
long sys_munmap(void *addr, unsigned long len) { return syscall2(SYS_MUNMAP, (long)addr, (long)len); }
long sys_mprotect(void *addr, unsigned long len, int prot) { return syscall3(SYS_MPROTECT, (long)addr, (long)len, prot); }

_Noreturn void sys_exit(int status)
{
    syscall2(SYS_EXIT, status, 0);
    for (;;)
        ;
}

int child_status(void (*forbidden)(void))
{
    long child = sys_fork();
    if (child == 0) {
        forbidden();
        sys_exit(0);                    /* still alive: nothing stopped it */
    }
    int status = 0;
    return child > 0 && sys_wait(&status) == child ? status : -1;
}

static char line[256];
static unsigned line_len;

static void put(char c)
{
    if (line_len < sizeof line)
        line[line_len++] = c;
}

static void put_number(unsigned long v, unsigned base, int negative)
{
    char buf[24];
    int n = 0;
    do {
        buf[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (negative)
        put('-');
    while (n > 0)
        put(buf[--n]);
}

void uprintf(const char *fmt, ...)
{
    __builtin_va_list ap;
    __builtin_va_start(ap, fmt);
    line_len = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%') {
            put(*p);
            continue;
        }
        int is_long = 0;
        if (*++p == 'l')
            is_long = 1, p++;
        switch (*p) {
        case 's':
            for (const char *s = __builtin_va_arg(ap, const char *); *s; s++)
                put(*s);
            break;
        case 'd': {
            long v = is_long ? __builtin_va_arg(ap, long) : __builtin_va_arg(ap, int);
            put_number(v < 0 ? (unsigned long)-v : (unsigned long)v, 10, v < 0);
            break;
        }
        case 'u':
            put_number(is_long ? __builtin_va_arg(ap, unsigned long) : __builtin_va_arg(ap, unsigned), 10, 0);
            break;
        case 'x':
            put_number(is_long ? __builtin_va_arg(ap, unsigned long) : __builtin_va_arg(ap, unsigned), 16, 0);
            break;
        case 'p':
            put('0'), put('x');
            put_number(__builtin_va_arg(ap, unsigned long), 16, 0);
            break;
        default:
            put(*p);
            break;
        }
    }
    __builtin_va_end(ap);
    sys_write(line, line_len);
}
