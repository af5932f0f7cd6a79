/*
 * Shared by the standalone 32-bit ROMs (pm32, paging32) that name runtime32
 * in their `standalone` file: constants of rt32.S.
 */
#define MB_MAGIC    0x1BADB002
#define MB_FLAGS    0x00000003          /* page-align | mem-info */
#define COM1        0x3F8
#define EXIT_PORT   0xF4
#define SEL_CODE0   0x08                /* rt32.S's GDT: flat ring-0 code */
#define SEL_DATA0   0x10                /* flat ring-0 data */
