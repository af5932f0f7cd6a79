/*
 * Physical memory in 4 KiB frames. The multiboot memory map (Multiboot spec
 * 3.3, flags bit 6) lists the usable RAM; we keep the part above 1 MiB that
 * the kernel image does not occupy, and hand frames out in address order.
 *
 * Two pools: the kernel takes frames (page tables, kernel stacks) as it
 * needs them, while user pages come from a deliberately small pool of
 * `frames=N` frames (kernel command line, default 64), set aside at boot, so
 * that running out of frames is something the tour can show.
 *
 * Every user frame has a reference count: the number of page-table entries
 * that map it. A copy-on-write fork shares a frame between two address
 * spaces (count 2); the frame goes back to the pool when the last mapping
 * lets go of it.
 */
#include "kernel.h"

#define MB_INFO_CMDLINE (1u << 2)
#define MB_INFO_MMAP    (1u << 6)
#define MAX_RAM_RANGES 16
#define MAX_USER_POOL 4096
#define MIN_USER_POOL 16                /* below this a fork's shared frames, which are never swapped, can fill the pool */
#define DEFAULT_USER_POOL 64

extern char __kernel_end[];

struct ram_range { uint64_t next, end; };  /* the frames [next, end) not yet handed out */
static struct ram_range ram_ranges[MAX_RAM_RANGES];
static unsigned ram_range_count;
static uint64_t usable_frames;
static uint64_t kernel_free_list;       /* frames given back, each holding the next one's address */
static bool direct_map_ready;

static uint64_t user_pool[MAX_USER_POOL];   /* the free frames: user_pool[0 .. user_pool_free) */
static uint64_t user_pool_size, user_pool_free;
static uint64_t pool_frame[MAX_USER_POOL];  /* every pool frame, in ascending address order */
static uint16_t pool_refs[MAX_USER_POOL];   /* pool_refs[i]: mappings of pool_frame[i] */
static uint32_t pool_slot[MAX_USER_POOL];   /* 1 + the swap slot with a valid copy of it (swap.c), or 0 */

void *frame_ptr(uint64_t pa)
{
    /* Before vm_init the boot tables map the first 1 GiB at KERNEL_BASE. */
    return (void *)((direct_map_ready ? DIRECT_MAP : KERNEL_BASE) + pa);
}

void frames_direct_map_ready(void) { direct_map_ready = true; }

static uint64_t parse_frames_option(const char *cmdline)
{
    /* QEMU passes "<kernel path> <-append text>"; look for a word frames=N. */
    for (const char *p = cmdline; *p; p++) {
        if ((p == cmdline || p[-1] == ' ') && starts_with(p, "frames=")) {
            uint64_t n = 0;
            for (p += 7; *p >= '0' && *p <= '9'; p++)
                n = n * 10 + (uint64_t)(*p - '0');
            return n;
        }
    }
    return DEFAULT_USER_POOL;
}

static uint64_t bump_alloc(void)
{
    for (unsigned i = 0; i < ram_range_count; i++) {
        if (ram_ranges[i].next < ram_ranges[i].end) {
            uint64_t pa = ram_ranges[i].next;
            ram_ranges[i].next += FRAME_SIZE;
            return pa;
        }
    }
    return 0;
}

void frames_init(uint64_t mbi_phys)
{
    const uint32_t *mbi = (const uint32_t *)(KERNEL_BASE + mbi_phys);
    if (!(mbi[0] & MB_INFO_MMAP))
        panic("the boot loader gave no memory map");
    /* Read the command line now: QEMU leaves it just past the kernel, where the frames start. */
    uint64_t wanted = (mbi[0] & MB_INFO_CMDLINE) ? parse_frames_option((const char *)(KERNEL_BASE + mbi[4])) : DEFAULT_USER_POOL;

    uint64_t kernel_end = (uint64_t)__kernel_end - KERNEL_BASE;
    uint64_t cmdline_end = (mbi[0] & MB_INFO_CMDLINE) ? mbi[4] + 4096 : 0;   /* keep clear of its page */
    const uint8_t *entry = (const uint8_t *)(KERNEL_BASE + mbi[12]);
    const uint8_t *end = entry + mbi[11];
    while (entry < end && ram_range_count < MAX_RAM_RANGES) {
        /* Each entry: size (not counting itself), base, length, type (1 = usable RAM). */
        uint32_t size = *(const uint32_t *)entry;
        uint64_t base = *(const uint64_t *)(entry + 4);
        uint64_t length = *(const uint64_t *)(entry + 12);
        uint32_t type = *(const uint32_t *)(entry + 20);
        entry += size + 4;
        if (type != 1)
            continue;
        uint64_t lo = (base + FRAME_SIZE - 1) & ~(uint64_t)(FRAME_SIZE - 1);
        uint64_t hi = (base + length) & ~(uint64_t)(FRAME_SIZE - 1);
        if (lo < kernel_end)
            lo = kernel_end;            /* below 1 MiB: BIOS data; then the kernel itself */
        if (lo < cmdline_end && hi > kernel_end)
            lo = (cmdline_end + FRAME_SIZE - 1) & ~(uint64_t)(FRAME_SIZE - 1);
        if (hi > 0x100000000ull)
            hi = 0x100000000ull;        /* the direct map covers 4 GiB */
        if (lo >= hi)
            continue;
        ram_ranges[ram_range_count++] = (struct ram_range){lo, hi};
        usable_frames += (hi - lo) / FRAME_SIZE;
    }

    if (wanted > MAX_USER_POOL)
        wanted = MAX_USER_POOL;
    if (wanted < MIN_USER_POOL)
        wanted = MIN_USER_POOL;
    for (uint64_t i = 0; i < wanted; i++) {
        uint64_t pa = bump_alloc();
        if (!pa)
            panic("frames=%lu is more than memory holds", wanted);
        if (user_pool_size > 0 && pa <= pool_frame[user_pool_size - 1])
            panic("the memory map is not in ascending order");
        pool_frame[user_pool_size] = pa;
        user_pool[user_pool_size++] = pa;
    }
    user_pool_free = user_pool_size;
}

uint64_t kframe_alloc(void)
{
    uint64_t pa = kernel_free_list;
    if (pa)
        kernel_free_list = *(uint64_t *)frame_ptr(pa);
    else
        pa = bump_alloc();
    if (!pa)
        panic("out of kernel frames");
    memset(frame_ptr(pa), 0, FRAME_SIZE);
    return pa;
}

void kframe_free(uint64_t pa)
{
    *(uint64_t *)frame_ptr(pa) = kernel_free_list;
    kernel_free_list = pa;
}

/* The index of a pool frame (binary search: pool_frame is sorted). */
static uint64_t pool_index(uint64_t pa)
{
    uint64_t lo = 0, hi = user_pool_size;
    while (lo < hi) {
        uint64_t mid = (lo + hi) / 2;
        if (pool_frame[mid] == pa)
            return mid;
        if (pool_frame[mid] < pa)
            lo = mid + 1;
        else
            hi = mid;
    }
    panic("0x%lx is not a user frame", pa);
}

static uint16_t *refs_of(uint64_t pa) { return &pool_refs[pool_index(pa)]; }
uint32_t *uframe_slot(uint64_t pa) { return &pool_slot[pool_index(pa)]; }

uint64_t uframe_alloc(void)
{
    if (user_pool_free == 0)
        return 0;
    uint64_t pa = user_pool[--user_pool_free];
    memset(frame_ptr(pa), 0, FRAME_SIZE);
    *refs_of(pa) = 1;
    return pa;
}

void uframe_ref(uint64_t pa)
{
    uint16_t *refs = refs_of(pa);
    if (*refs == 0)
        panic("user frame 0x%lx shared while free", pa);
    ++*refs;
}

uint64_t uframe_refs(uint64_t pa) { return *refs_of(pa); }

void uframe_free(uint64_t pa)
{
    uint16_t *refs = refs_of(pa);
    if (*refs == 0 || user_pool_free >= user_pool_size)
        panic("user frame 0x%lx freed twice", pa);
    if (--*refs != 0)
        return;
    uint32_t *slot = uframe_slot(pa);
    if (*slot)
        swap_slot_put(*slot - 1);       /* its copy on disk is no longer anyone's */
    *slot = 0;
    user_pool[user_pool_free++] = pa;
}

uint64_t frames_usable(void) { return usable_frames; }
uint64_t uframes_total(void) { return user_pool_size; }
uint64_t uframes_free(void) { return user_pool_free; }
