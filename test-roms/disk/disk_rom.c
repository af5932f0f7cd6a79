/*
 * ROM "disk": the ATA PIO disk on the primary channel (0x1F0-0x1F7, 0x3F6),
 * a fresh zero-filled 8 MiB raw image (qemu-args: @DISK8M, 16384 sectors),
 * driven as a kernel's driver does: IDENTIFY, READ/WRITE SECTORS with 28-bit
 * LBA, READ/WRITE SECTORS EXT with 48-bit LBA, multi-sector transfers,
 * polled (nIEN) and IRQ14 through the PIC, an out-of-range LBA, and the
 * absent slave.
 */
#include "irq.h"

#define ATA_DATA    0x1F0
#define ATA_ERROR   0x1F1
#define ATA_COUNT   0x1F2
#define ATA_LBA0    0x1F3
#define ATA_LBA1    0x1F4
#define ATA_LBA2    0x1F5
#define ATA_DRIVE   0x1F6
#define ATA_STATUS  0x1F7
#define ATA_CMD     0x1F7
#define ATA_CTRL    0x3F6               /* write: device control; read: alternate status */
#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DF   0x20
#define ST_DRDY 0x40
#define ST_BSY  0x80
#define CTRL_NIEN 0x02
#define DISK_SECTORS 16384u
#define VEC_ATA     0x2E                /* slave PIC at 0x28, IRQ14 */
#define SPINS       10000000u

static uint16_t buf[4 * 256];
static volatile uint8_t irq_status;

static void on_ata(unsigned v)
{
    (void)v;
    irq_status = inb(ATA_STATUS);       /* reading the status register acknowledges INTRQ */
    pic2_eoi();
    pic1_eoi();
}

/* Waits for BSY to clear; returns the (alternate) status. */
static uint8_t wait_not_busy(void)
{
    uint8_t s = inb(ATA_CTRL);
    for (uint32_t i = 0; i < SPINS && (s & ST_BSY); i++)
        s = inb(ATA_CTRL);
    return s;
}

static uint8_t wait_drq(void)
{
    uint8_t s = wait_not_busy();
    for (uint32_t i = 0; i < SPINS && !(s & (ST_DRQ | ST_ERR)); i++)
        s = inb(ATA_CTRL);
    return s;
}

static void read_words(uint16_t *p, unsigned n) { __asm__ volatile("rep insw" : "+D"(p), "+c"(n) : "d"(ATA_DATA) : "memory"); }
static void write_words(const uint16_t *p, unsigned n) { __asm__ volatile("rep outsw" : "+S"(p), "+c"(n) : "d"(ATA_DATA) : "memory"); }

static void issue28(uint8_t cmd, uint32_t lba, uint8_t count)
{
    wait_not_busy();
    outb(ATA_DRIVE, (uint8_t)(0xE0 | ((lba >> 24) & 0x0F)));    /* LBA, master */
    outb(ATA_COUNT, count);
    outb(ATA_LBA0, (uint8_t)lba);
    outb(ATA_LBA1, (uint8_t)(lba >> 8));
    outb(ATA_LBA2, (uint8_t)(lba >> 16));
    outb(ATA_CMD, cmd);
}

static void issue48(uint8_t cmd, uint64_t lba, uint16_t count)
{
    wait_not_busy();
    outb(ATA_DRIVE, 0x40);              /* LBA, master */
    outb(ATA_COUNT, (uint8_t)(count >> 8));         /* high-order bytes first */
    outb(ATA_LBA0, (uint8_t)(lba >> 24));
    outb(ATA_LBA1, (uint8_t)(lba >> 32));
    outb(ATA_LBA2, (uint8_t)(lba >> 40));
    outb(ATA_COUNT, (uint8_t)count);
    outb(ATA_LBA0, (uint8_t)lba);
    outb(ATA_LBA1, (uint8_t)(lba >> 8));
    outb(ATA_LBA2, (uint8_t)(lba >> 16));
    outb(ATA_CMD, cmd);
}

static uint16_t pattern(uint32_t lba, unsigned i) { return (uint16_t)(lba * 0x9E37u + i * 0x0101u + 0x5A); }

static void fill(uint32_t lba, unsigned sectors)
{
    for (unsigned s = 0; s < sectors; s++)
        for (unsigned i = 0; i < 256; i++)
            buf[s * 256 + i] = pattern(lba + s, i);
}

static int check(uint32_t lba, unsigned sectors)
{
    for (unsigned s = 0; s < sectors; s++)
        for (unsigned i = 0; i < 256; i++)
            if (buf[s * 256 + i] != pattern(lba + s, i))
                return 0;
    return 1;
}

/* PIO out of `sectors` sectors from buf, polled; returns the final status. */
static uint8_t pio_out(unsigned sectors)
{
    uint8_t s = 0;
    for (unsigned k = 0; k < sectors; k++) {
        s = wait_drq();
        if (!(s & ST_DRQ))
            return s;
        write_words(buf + k * 256, 256);
    }
    return wait_not_busy();
}

static uint8_t pio_in(unsigned sectors)
{
    uint8_t s = 0;
    for (unsigned k = 0; k < sectors; k++) {
        s = wait_drq();
        if (!(s & ST_DRQ))
            return s;
        read_words(buf + k * 256, 256);
    }
    return wait_not_busy();
}

static void ident_string(const uint16_t *w, unsigned first, unsigned words, char *out)
{
    unsigned n = 0;
    for (unsigned i = 0; i < words; i++) {
        out[n++] = (char)(w[first + i] >> 8);   /* ATA strings: two characters per word, swapped */
        out[n++] = (char)w[first + i];
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = 0;
}

void rom_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    rom_puts("cr3-rom disk\n");
    irq_init();
    irq_handler[VEC_ATA] = on_ata;
    pic_remap(0x20, 0x28, 0xFF, 0xFF);

    /* Polled mode: nIEN set. */
    outb(ATA_CTRL, CTRL_NIEN);
    outb(ATA_DRIVE, 0xA0);
    uint8_t s = wait_not_busy();
    rom_printf("master selected: status 0x%02x (DRDY, not BSY) %s\n", s, rom_verdict((s & (ST_BSY | ST_DRDY)) == ST_DRDY));

    /* IDENTIFY DEVICE. */
    outb(ATA_CMD, 0xEC);
    s = wait_drq();
    read_words(buf, 256);
    uint8_t after = wait_not_busy();
    char model[41];
    ident_string(buf, 27, 20, model);
    uint32_t lba28 = buf[60] | (uint32_t)buf[61] << 16;
    uint64_t lba48 = buf[100] | (uint64_t)buf[101] << 16 | (uint64_t)buf[102] << 32 | (uint64_t)buf[103] << 48;
    rom_printf("identify: drq status 0x%02x, after 0x%02x %s\n", s, after,
               rom_verdict((s & (ST_DRQ | ST_ERR | ST_BSY)) == ST_DRQ && !(after & (ST_DRQ | ST_ERR | ST_BSY))));
    rom_printf("identify: model \"%s\"\n", model);
    rom_printf("identify: lba supported=%u lba48 supported=%u lba28 sectors=%u lba48 sectors=%lu (image %u) %s\n",
               (buf[49] >> 9) & 1, (buf[83] >> 10) & 1, lba28, lba48, DISK_SECTORS,
               rom_verdict(((buf[49] >> 9) & 1) && ((buf[83] >> 10) & 1) && lba28 == DISK_SECTORS &&
                           lba48 == DISK_SECTORS));

    /* A fresh image reads as zeros. */
    issue28(0x20, 0, 1);
    s = pio_in(1);
    int zero = 1;
    for (unsigned i = 0; i < 256; i++)
        zero &= buf[i] == 0;
    rom_printf("read lba28 0: status 0x%02x zeros %s\n", s, rom_verdict(zero && !(s & ST_ERR)));

    /* WRITE SECTORS at LBA 1, flush, read back. */
    fill(1, 1);
    issue28(0x30, 1, 1);
    s = pio_out(1);
    outb(ATA_CMD, 0xE7);                /* FLUSH CACHE */
    uint8_t f = wait_not_busy();
    memset(buf, 0, sizeof buf);
    issue28(0x20, 1, 1);
    uint8_t r = pio_in(1);
    rom_printf("lba28 write/read 1 sector at 1: write status 0x%02x flush 0x%02x read 0x%02x data %s\n", s, f, r,
               rom_verdict(!(s & ST_ERR) && !(f & ST_ERR) && !(r & ST_ERR) && check(1, 1)));

    /* Multi-sector: 4 sectors in one command, one DRQ block each. */
    fill(12000, 4);
    issue28(0x30, 12000, 4);
    s = pio_out(4);
    memset(buf, 0, sizeof buf);
    issue28(0x20, 12000, 4);
    r = pio_in(4);
    rom_printf("lba28 write/read 4 sectors at 12000: status 0x%02x 0x%02x data %s\n", s, r,
               rom_verdict(!(s & ST_ERR) && !(r & ST_ERR) && check(12000, 4)));
    /* One sector of them alone, by LBA48 READ SECTORS EXT. */
    memset(buf, 0, sizeof buf);
    issue48(0x24, 12002, 1);
    r = pio_in(1);
    rom_printf("lba48 read 1 sector at 12002 (written by lba28): data %s\n", rom_verdict(!(r & ST_ERR) && check(12002, 1)));

    /* LBA48 write/read of the last two sectors. */
    fill(DISK_SECTORS - 2, 2);
    issue48(0x34, DISK_SECTORS - 2, 2);
    s = pio_out(2);
    memset(buf, 0, sizeof buf);
    issue48(0x24, DISK_SECTORS - 2, 2);
    r = pio_in(2);
    rom_printf("lba48 write/read last 2 sectors: status 0x%02x 0x%02x data %s\n", s, r,
               rom_verdict(!(s & ST_ERR) && !(r & ST_ERR) && check(DISK_SECTORS - 2, 2)));
    memset(buf, 0, sizeof buf);
    issue28(0x20, DISK_SECTORS - 1, 1);
    r = pio_in(1);
    rom_printf("lba28 read of the last sector (written by lba48): data %s\n", rom_verdict(!(r & ST_ERR) && check(DISK_SECTORS - 1, 1)));

    /* Out of range: READ SECTORS at LBA = size aborts. */
    issue28(0x20, DISK_SECTORS, 1);
    s = wait_not_busy();
    uint8_t err = inb(ATA_ERROR);
    rom_printf("read lba28 %u (past the end): status 0x%02x error 0x%02x %s\n", DISK_SECTORS, s, err,
               rom_verdict((s & ST_ERR) && !(s & ST_DRQ) && err != 0));
    issue48(0x24, (uint64_t)1 << 40, 1);
    s = wait_not_busy();
    err = inb(ATA_ERROR);
    rom_printf("read lba48 2^40: status 0x%02x error 0x%02x %s\n", s, err, rom_verdict((s & ST_ERR) && !(s & ST_DRQ) && err != 0));

    /* IRQ14 mode: nIEN clear; one interrupt per sector read, one per sector written. */
    outb(PIC1_DATA, 0xFB);
    outb(PIC2_DATA, 0xBF);
    outb(ATA_CTRL, 0);
    inb(ATA_STATUS);                    /* drop an interrupt left pending */
    irq_reset_counts();
    fill(200, 2);
    issue28(0x30, 200, 2);
    wait_drq();
    write_words(buf, 256);
    uint32_t n = irq_wait(VEC_ATA, 1, 100000);
    wait_drq();
    write_words(buf + 256, 256);
    n = irq_wait(VEC_ATA, 2, 100000);
    rom_printf("irq14 write 2 sectors: interrupts=%u last status 0x%02x %s\n", n, irq_status,
               rom_verdict(n == 2 && !(irq_status & (ST_ERR | ST_BSY | ST_DRQ))));
    memset(buf, 0, sizeof buf);
    irq_reset_counts();
    issue28(0x20, 200, 2);
    n = irq_wait(VEC_ATA, 1, 100000);
    uint8_t s1 = irq_status;
    read_words(buf, 256);
    n = irq_wait(VEC_ATA, 2, 100000);
    uint8_t s2 = irq_status;
    read_words(buf + 256, 256);
    uint8_t end = wait_not_busy();
    rom_printf("irq14 read 2 sectors: interrupts=%u status 0x%02x 0x%02x data %s\n", n, s1, s2,
               rom_verdict(n == 2 && (s1 & ST_DRQ) && (s2 & ST_DRQ) && !(end & ST_DRQ) && check(200, 2)));
    irq_reset_counts();
    outb(ATA_DRIVE, 0xE0);
    outb(ATA_CMD, 0xEC);
    n = irq_wait(VEC_ATA, 1, 100000);
    read_words(buf, 256);
    rom_printf("irq14 identify: interrupts=%u %s\n", n, rom_verdict(n == 1));
    outb(ATA_CTRL, CTRL_NIEN);
    outb(PIC1_DATA, 0xFF);
    outb(PIC2_DATA, 0xFF);

    /* The absent slave: status reads 0 and commands are ignored. */
    outb(ATA_DRIVE, 0xB0);
    io_delay();
    uint8_t ss = inb(ATA_STATUS);
    outb(ATA_CMD, 0xEC);
    io_delay();
    uint8_t ss2 = inb(ATA_STATUS);
    rom_printf("absent slave: status 0x%02x, after identify 0x%02x %s\n", ss, ss2, rom_verdict(ss == 0 && ss2 == 0));
    outb(ATA_DRIVE, 0xA0);
    rom_done();
}
