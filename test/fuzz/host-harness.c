// Runs fuzzer snippets on the host CPU. Usage: host-harness IN OUT
//
// IN:  "CR3FUZZ1", u32 count, u32 0, then per case: u32 codeLen, u32 0,
//      u64 regs[16] (rax..r15 in encoding order), u64 rflags,
//      code (codeLen bytes, padded to 8), data (DATA_SIZE bytes).
// OUT: per case: i32 vector (-1: ran to the end), u32 fault offset in the
//      code, u64 regs[16],
//      u64 rflags, u8 changed[DATA_SIZE / 64 / 8] (a bit per 64-byte block
//      of data that differs from IN), then each changed block in order.
//
// Each snippet runs at CODE_ADDR, followed by an absolute jump to
// snippet_exit, which saves every register and RFLAGS without touching
// them first. A fault becomes a result: the signal handler (on its own
// stack, as RSP points into the data area) records the vector and the
// registers at the fault and siglongjmps back.
#define _GNU_SOURCE
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#define CODE_ADDR 0x10000000UL
#define CODE_MAP 0x2000UL
#define MAX_CODE 4096
#define DATA_ADDR 0x20000000UL
#define DATA_SIZE 65536
#define BLOCK 64
#define NBLOCKS (DATA_SIZE / BLOCK)
#define ARITH_AND_DF 0xCD5UL /* CF PF AF ZF SF DF OF */

struct ctx {
  uint64_t regs[16];
  uint64_t rflags;
  uint64_t host_rsp;
};
static struct ctx g_ctx __attribute__((used));

void run_snippet(void);
void snippet_exit(void);

__asm__(
    ".intel_syntax noprefix\n"
    ".text\n"
    ".globl run_snippet\n"
    "run_snippet:\n"
    "  push rbx\n  push rbp\n  push r12\n  push r13\n  push r14\n  push r15\n"
    "  lea rax, [rip + g_ctx]\n"
    "  mov [rax + 136], rsp\n"
    "  push qword ptr [rax + 128]\n"
    "  popfq\n"
    "  mov rcx, [rax + 8]\n  mov rdx, [rax + 16]\n  mov rbx, [rax + 24]\n"
    "  mov rsp, [rax + 32]\n  mov rbp, [rax + 40]\n  mov rsi, [rax + 48]\n"
    "  mov rdi, [rax + 56]\n  mov r8, [rax + 64]\n  mov r9, [rax + 72]\n"
    "  mov r10, [rax + 80]\n  mov r11, [rax + 88]\n  mov r12, [rax + 96]\n"
    "  mov r13, [rax + 104]\n  mov r14, [rax + 112]\n  mov r15, [rax + 120]\n"
    "  mov rax, [rax]\n"
    "  jmp qword ptr [rip + snippet_entry]\n"
    "snippet_entry: .quad 0x10000000\n"
    ".globl snippet_exit\n"
    "snippet_exit:\n"
    "  mov [rip + g_ctx], rax\n  mov [rip + g_ctx + 8], rcx\n"
    "  mov [rip + g_ctx + 16], rdx\n  mov [rip + g_ctx + 24], rbx\n"
    "  mov [rip + g_ctx + 32], rsp\n  mov [rip + g_ctx + 40], rbp\n"
    "  mov [rip + g_ctx + 48], rsi\n  mov [rip + g_ctx + 56], rdi\n"
    "  mov [rip + g_ctx + 64], r8\n  mov [rip + g_ctx + 72], r9\n"
    "  mov [rip + g_ctx + 80], r10\n  mov [rip + g_ctx + 88], r11\n"
    "  mov [rip + g_ctx + 96], r12\n  mov [rip + g_ctx + 104], r13\n"
    "  mov [rip + g_ctx + 112], r14\n  mov [rip + g_ctx + 120], r15\n"
    "  mov rsp, [rip + g_ctx + 136]\n"
    "  pushfq\n"
    "  pop qword ptr [rip + g_ctx + 128]\n"
    "  cld\n"
    "  pop r15\n  pop r14\n  pop r13\n  pop r12\n  pop rbp\n  pop rbx\n"
    "  ret\n"
    ".att_syntax prefix\n");

static sigjmp_buf g_jmp;
static volatile int g_vector;
static volatile uint32_t g_fault_offset;

static int vector_of(int sig, const siginfo_t *si, const ucontext_t *uc) {
  long trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
  if (sig != SIGTRAP && si->si_code != SI_USER && trapno >= 0 && trapno < 32) return (int)trapno;
  switch (sig) {
    case SIGFPE: return 0;
    case SIGILL: return 6;
    case SIGTRAP: return si->si_code == TRAP_BRKPT ? 3 : 1;
    case SIGBUS: return si->si_code == BUS_ADRALN ? 17 : 13;
    default: return si->si_code == SI_KERNEL ? 13 : 14;
  }
}

static void on_fault(int sig, siginfo_t *si, void *ucv) {
  ucontext_t *uc = ucv;
  const greg_t *g = uc->uc_mcontext.gregs;
  uint64_t rip = (uint64_t)g[REG_RIP];
  if (rip < CODE_ADDR || rip >= CODE_ADDR + CODE_MAP) {
    // Not the snippet: a harness bug. Die loudly instead of looping.
    static const char msg[] = "host-harness: fault outside the snippet\n";
    write(2, msg, sizeof msg - 1);
    _exit(3);
  }
  static const int order[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
                                REG_R8,  REG_R9,  REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; i++) g_ctx.regs[i] = (uint64_t)g[order[i]];
  g_ctx.rflags = (uint64_t)g[REG_EFL];
  g_vector = vector_of(sig, si, uc);
  g_fault_offset = (uint32_t)(rip - CODE_ADDR);
  siglongjmp(g_jmp, 1);
}

static void *map_fixed(uint64_t addr, size_t size, int prot) {
  void *p = mmap((void *)addr, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p != (void *)addr) {
    fprintf(stderr, "host-harness: cannot map %#lx\n", (unsigned long)addr);
    exit(2);
  }
  return p;
}

static uint8_t *read_all(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); exit(2); }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *buf = malloc((size_t)n);
  if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) { perror(path); exit(2); }
  fclose(f);
  *size = (size_t)n;
  return buf;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: host-harness IN OUT\n"); return 2; }
  size_t insize;
  uint8_t *in = read_all(argv[1], &insize);
  if (insize < 16 || memcmp(in, "CR3FUZZ1", 8) != 0) { fprintf(stderr, "host-harness: bad input\n"); return 2; }
  uint32_t count;
  memcpy(&count, in + 8, 4);

  uint8_t *code = map_fixed(CODE_ADDR, CODE_MAP, PROT_READ | PROT_WRITE | PROT_EXEC);
  uint8_t *data = map_fixed(DATA_ADDR, DATA_SIZE, PROT_READ | PROT_WRITE);
  // Guard pages, so a stray access faults the same way every time.
  map_fixed(DATA_ADDR - 0x1000, 0x1000, PROT_NONE);
  map_fixed(DATA_ADDR + DATA_SIZE, 0x1000, PROT_NONE);

  stack_t ss = {.ss_sp = malloc(1 << 16), .ss_size = 1 << 16, .ss_flags = 0};
  if (!ss.ss_sp || sigaltstack(&ss, NULL) != 0) { perror("sigaltstack"); return 2; }
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fault;
  sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&sa.sa_mask);
  const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP};
  for (unsigned i = 0; i < sizeof sigs / sizeof sigs[0]; i++) sigaction(sigs[i], &sa, NULL);

  FILE *out = fopen(argv[2], "wb");
  if (!out) { perror(argv[2]); return 2; }
  static uint8_t before[DATA_SIZE];
  size_t off = 16;
  for (uint32_t c = 0; c < count; c++) {
    uint32_t len;
    if (off + 8 + 136 > insize) { fprintf(stderr, "host-harness: truncated input\n"); return 2; }
    memcpy(&len, in + off, 4);
    if (len > MAX_CODE) { fprintf(stderr, "host-harness: code too long\n"); return 2; }
    off += 8;
    memcpy(g_ctx.regs, in + off, 128);
    memcpy(&g_ctx.rflags, in + off + 128, 8);
    g_ctx.rflags = (g_ctx.rflags & ARITH_AND_DF) | 0x202;
    off += 136;
    size_t padded = (len + 7) & ~7u;
    if (off + padded + DATA_SIZE > insize) { fprintf(stderr, "host-harness: truncated input\n"); return 2; }
    memcpy(code, in + off, len);
    // jmp qword ptr [rip + 0]; .quad snippet_exit
    static const uint8_t jmp[6] = {0xFF, 0x25, 0, 0, 0, 0};
    uint64_t exit_addr = (uint64_t)&snippet_exit;
    memcpy(code + len, jmp, 6);
    memcpy(code + len + 6, &exit_addr, 8);
    off += padded;
    memcpy(before, in + off, DATA_SIZE);
    memcpy(data, before, DATA_SIZE);
    off += DATA_SIZE;

    int32_t vector = -1;
    g_vector = -1;
    if (sigsetjmp(g_jmp, 1) == 0) run_snippet();
    else vector = g_vector;

    uint32_t fault_offset = vector < 0 ? 0 : g_fault_offset;
    fwrite(&vector, 4, 1, out);
    fwrite(&fault_offset, 4, 1, out);
    fwrite(g_ctx.regs, 8, 16, out);
    fwrite(&g_ctx.rflags, 8, 1, out);
    uint8_t changed[NBLOCKS / 8] = {0};
    for (int b = 0; b < NBLOCKS; b++)
      if (memcmp(before + b * BLOCK, data + b * BLOCK, BLOCK) != 0) changed[b / 8] |= (uint8_t)(1 << (b % 8));
    fwrite(changed, 1, sizeof changed, out);
    for (int b = 0; b < NBLOCKS; b++)
      if (changed[b / 8] & (1 << (b % 8))) fwrite(data + b * BLOCK, 1, BLOCK, out);
  }
  if (fclose(out) != 0) { perror(argv[2]); return 2; }
  return 0;
}
