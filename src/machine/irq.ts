// How a device drives an interrupt line. Level true = asserted. An
// edge-triggered source (the PIT, the keyboard, the RTC) raises its line and
// later lowers it; a controller latches the rising edge (8259A edge mode,
// I/O APIC edge entries) or follows the level (ELCR level mode, I/O APIC
// level entries, SDM Vol. 3A 10.8.4 / 82093AA datasheet 3.2.4).

export type IrqLine = (level: boolean) => void;

/** An IRQ line connected to nothing (a device used alone, in unit tests). */
export const NO_IRQ: IrqLine = () => {};
