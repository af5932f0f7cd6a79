/*
 * A polled ATA PIO driver for the primary channel's master drive (ports
 * 0x1F0-0x1F7, control 0x3F6), 28-bit LBA, interrupts off (nIEN). Enough for
 * the swap area: IDENTIFY DEVICE tells whether a disk is there and how many
 * sectors it has; READ SECTORS and WRITE SECTORS move whole 4 KiB pages
 * (8 sectors of 512 bytes). ATA/ATAPI-6: 7.15 IDENTIFY DEVICE (words 60-61:
 * the LBA28 capacity), 7.36 READ SECTORS, 7.62 WRITE SECTORS, 9.7/9.8 the
 * PIO data-in and data-out protocols.
 */
#include "kernel.h"

#define ATA_DATA     0x1F0
#define ATA_COUNT    0x1F2
#define ATA_LBA_LOW  0x1F3
#define ATA_LBA_MID  0x1F4
#define ATA_LBA_HIGH 0x1F5
#define ATA_DEVICE   0x1F6
#define ATA_STATUS   0x1F7              /* read: status; write: command */
#define ATA_CONTROL  0x3F6              /* read: alternate status; write: device control */

#define ST_ERR  0x01
#define ST_DRQ  0x08
#define ST_DF   0x20
#define ST_BSY  0x80
#define CTL_NIEN 0x02
#define DEV_MASTER_LBA 0xE0             /* bits 7 and 5 obsolete-but-set, LBA, master */

#define CMD_READ_SECTORS  0x20
#define CMD_WRITE_SECTORS 0x30
#define CMD_IDENTIFY      0xEC
#define POLL_LIMIT 10000000

static uint64_t disk_sectors;           /* 0: no disk */

static inline void insw(uint16_t port, void *buf, size_t words)
{
    __asm__ volatile("rep insw" : "+D"(buf), "+c"(words) : "d"(port) : "memory");
}

static inline void outsw(uint16_t port, const void *buf, size_t words)
{
    __asm__ volatile("rep outsw" : "+S"(buf), "+c"(words) : "d"(port) : "memory");
}

/* The status once BSY is clear and DRQ (data wanted/ready) or ERR shows; 0xFF on a timeout. */
static uint8_t wait_not_busy(bool want_drq)
{
    for (uint32_t i = 0; i < POLL_LIMIT; i++) {
        uint8_t st = inb(ATA_CONTROL);  /* the alternate status: reading it changes nothing */
        if (st & ST_BSY)
            continue;
        if (!want_drq || (st & (ST_DRQ | ST_ERR | ST_DF)))
            return st;
    }
    return 0xFF;
}

uint64_t ata_sectors(void) { return disk_sectors; }

void ata_init(void)
{
    outb(ATA_CONTROL, CTL_NIEN);        /* polled: never raise IRQ 14 */
    outb(ATA_DEVICE, 0xA0);             /* the master */
    uint8_t st = inb(ATA_STATUS);
    if (st == 0xFF || st == 0)
        return;                         /* no controller (floating bus) or no drive on the channel */
    outb(ATA_COUNT, 0);
    outb(ATA_LBA_LOW, 0);
    outb(ATA_LBA_MID, 0);
    outb(ATA_LBA_HIGH, 0);
    outb(ATA_STATUS, CMD_IDENTIFY);
    if (inb(ATA_CONTROL) == 0)
        return;
    st = wait_not_busy(false);
    if (st == 0xFF || inb(ATA_LBA_MID) != 0 || inb(ATA_LBA_HIGH) != 0)
        return;                         /* timeout, or a packet (ATAPI) device's signature */
    st = wait_not_busy(true);
    if (st == 0xFF || (st & (ST_ERR | ST_DF)) || !(st & ST_DRQ))
        return;
    uint16_t id[256];
    insw(ATA_DATA, id, 256);
    disk_sectors = (uint64_t)id[60] | (uint64_t)id[61] << 16;
    if (disk_sectors > 0x0FFFFFFF)
        disk_sectors = 0x0FFFFFFF;
}

/* Starts a READ or WRITE SECTORS of `count` sectors at `lba`. */
static bool start(uint8_t command, uint32_t lba, uint8_t count)
{
    if (wait_not_busy(false) == 0xFF)
        return false;
    outb(ATA_DEVICE, (uint8_t)(DEV_MASTER_LBA | (lba >> 24 & 0x0F)));
    outb(ATA_COUNT, count);
    outb(ATA_LBA_LOW, (uint8_t)lba);
    outb(ATA_LBA_MID, (uint8_t)(lba >> 8));
    outb(ATA_LBA_HIGH, (uint8_t)(lba >> 16));
    outb(ATA_STATUS, command);
    return true;
}

bool ata_read(uint32_t lba, void *buf, unsigned sectors)
{
    if (!disk_sectors || lba + sectors > disk_sectors || !start(CMD_READ_SECTORS, lba, (uint8_t)sectors))
        return false;
    for (unsigned s = 0; s < sectors; s++) {
        uint8_t st = wait_not_busy(true);
        if (st == 0xFF || (st & (ST_ERR | ST_DF)))
            return false;
        insw(ATA_DATA, (uint8_t *)buf + s * 512, 256);
    }
    return true;
}

bool ata_write(uint32_t lba, const void *buf, unsigned sectors)
{
    if (!disk_sectors || lba + sectors > disk_sectors || !start(CMD_WRITE_SECTORS, lba, (uint8_t)sectors))
        return false;
    for (unsigned s = 0; s < sectors; s++) {
        uint8_t st = wait_not_busy(true);
        if (st == 0xFF || (st & (ST_ERR | ST_DF)))
            return false;
        outsw(ATA_DATA, (const uint8_t *)buf + s * 512, 256);
    }
    uint8_t st = wait_not_busy(false);  /* the last block written: the command completes */
    return st != 0xFF && !(st & (ST_ERR | ST_DF));
}
