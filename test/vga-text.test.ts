import { describe, expect, it } from "vitest";
import { CP437, cp437ToString } from "../src/devices/cp437.ts";
import { CELLS, COLUMNS, ROWS, VGA_TEXT_BASE, VGA_TEXT_SIZE, VgaTextBuffer } from "../src/devices/vga-text.ts";
import { PhysicalBus } from "../src/machine/bus.ts";
import { pcRamRanges } from "../src/machine/memory-map.ts";
import { GuestRam } from "../src/machine/ram.ts";

const RESET = "\x1b[0m";
/** A row of blanks (space, attr 0x07 = light grey 37 on black 40) in toAnsi form. */
const BLANK_ANSI_ROW = "\x1b[37;40m" + " ".repeat(80) + RESET;

function recorder(vga: VgaTextBuffer): { calls: [number, number][]; unsubscribe: () => void } {
  const calls: [number, number][] = [];
  const unsubscribe = vga.onChange((first, last) => calls.push([first, last]));
  return { calls, unsubscribe };
}

function putText(vga: VgaTextBuffer, row: number, col: number, bytes: number[]): void {
  bytes.forEach((b, i) => vga.write((row * 80 + col + i) * 2, 1, b));
}

describe("CP437 table", () => {
  it("has 256 single-character entries, distinct except 0x00 and 0x20", () => {
    expect(CP437).toHaveLength(256);
    for (const c of CP437) expect(c).toHaveLength(1);
    expect(new Set(CP437).size).toBe(255);
  });

  it("maps control bytes, ASCII and the upper half", () => {
    expect(CP437[0x00]).toBe(" ");
    expect(CP437[0x01]).toBe("☺");
    expect(CP437[0x02]).toBe("☻");
    expect(CP437[0x0d]).toBe("♪");
    expect(CP437[0x1b]).toBe("←");
    expect(CP437[0x1f]).toBe("▼");
    expect(CP437[0x20]).toBe(" ");
    expect(CP437[0x41]).toBe("A");
    expect(CP437[0x7e]).toBe("~");
    expect(CP437[0x7f]).toBe("⌂");
    expect(CP437[0x80]).toBe("Ç");
    expect(CP437[0x9e]).toBe("₧");
    expect(CP437[0x9f]).toBe("ƒ");
    expect(CP437[0xb0]).toBe("░");
    expect(CP437[0xb3]).toBe("│");
    expect(CP437[0xba]).toBe("║");
    expect(CP437[0xc4]).toBe("─");
    expect(CP437[0xc9]).toBe("╔");
    expect(CP437[0xcd]).toBe("═");
    expect(CP437[0xdb]).toBe("█");
    expect(CP437[0xe0]).toBe("α");
    expect(CP437[0xe1]).toBe("ß");
    expect(CP437[0xe6]).toBe("µ");
    expect(CP437[0xf9]).toBe("∙");
    expect(CP437[0xfa]).toBe("·");
    expect(CP437[0xfd]).toBe("²");
    expect(CP437[0xfe]).toBe("■");
    expect(CP437[0xff]).toBe("\u00a0");
  });

  it("decodes byte sequences", () => {
    expect(cp437ToString(new Uint8Array([0x48, 0x69, 0x01, 0xc9, 0xcd, 0xbb]))).toBe("Hi☺╔═╗");
    expect(cp437ToString([0x00, 0x41, 0x1c9])).toBe(" A╔");
    expect(cp437ToString([])).toBe("");
  });
});

describe("VgaTextBuffer storage", () => {
  it("exposes the geometry constants", () => {
    expect(VGA_TEXT_BASE).toBe(0xb8000);
    expect(VGA_TEXT_SIZE).toBe(0x8000);
    expect([COLUMNS, ROWS, CELLS]).toEqual([80, 25, 2000]);
    expect(new VgaTextBuffer().name).toBe("vga-text");
  });

  it("starts with blank cells, light grey on black", () => {
    const vga = new VgaTextBuffer();
    for (let i = 0; i < 2000; i++) expect(vga.read(i * 2, 2)).toBe(0x0720);
    expect(vga.cell(24, 79)).toEqual({ char: 0x20, attr: 0x07 });
    expect(vga.toText()).toBe("");
  });

  it("reads back byte writes", () => {
    const vga = new VgaTextBuffer();
    vga.write(0, 1, 0x41);
    expect(vga.read(0, 1)).toBe(0x41);
    expect(vga.read(1, 1)).toBe(0x07);
    expect(vga.read(0, 2)).toBe(0x0741);
    vga.write(1, 1, 0x1f);
    expect(vga.read(0, 2)).toBe(0x1f41);
    expect(vga.cell(0, 0)).toEqual({ char: 0x41, attr: 0x1f });
  });

  it("stores words little-endian", () => {
    const vga = new VgaTextBuffer();
    vga.write(2, 2, 0x1f42);
    expect(vga.read(2, 1)).toBe(0x42);
    expect(vga.read(3, 1)).toBe(0x1f);
    expect(vga.charAt(0, 1)).toBe(0x42);
    expect(vga.attrAt(0, 1)).toBe(0x1f);
    expect(vga.read(2, 2)).toBe(0x1f42);
    // An odd offset straddles two cells: attribute of cell 1, character of cell 2.
    vga.write(3, 2, 0x4370);
    expect(vga.attrAt(0, 1)).toBe(0x70);
    expect(vga.charAt(0, 2)).toBe(0x43);
    expect(vga.read(3, 2)).toBe(0x4370);
  });

  it("stores dwords little-endian at aligned and unaligned offsets", () => {
    const vga = new VgaTextBuffer();
    vga.write(4, 4, 0x12345678);
    expect([vga.read(4, 1), vga.read(5, 1), vga.read(6, 1), vga.read(7, 1)]).toEqual([0x78, 0x56, 0x34, 0x12]);
    expect(vga.read(4, 4) | 0).toBe(0x12345678);
    expect(vga.read(4, 2)).toBe(0x5678);
    expect(vga.read(6, 2)).toBe(0x1234);

    vga.write(8, 4, 0x9abcdef0 | 0);
    expect(vga.read(8, 4) | 0).toBe(0x9abcdef0 | 0);
    expect(vga.read(8, 1)).toBe(0xf0);
    expect(vga.read(11, 1)).toBe(0x9a);
    expect(vga.read(10, 2)).toBe(0x9abc);

    vga.write(13, 4, 0xaabbccdd | 0);
    expect([vga.read(13, 1), vga.read(14, 1), vga.read(15, 1), vga.read(16, 1)]).toEqual([0xdd, 0xcc, 0xbb, 0xaa]);
    expect(vga.read(13, 4) >>> 0).toBe(0xaabbccdd);
    expect(vga.read(12, 1)).toBe(0x20); // neighbours untouched
    expect(vga.read(17, 1)).toBe(0x07);
  });

  it("keeps bytes beyond the visible page without displaying them", () => {
    const vga = new VgaTextBuffer();
    vga.write(4000, 2, 0x1f41);
    vga.write(0x7ffc, 4, 0x44434241);
    expect(vga.read(4000, 2)).toBe(0x1f41);
    expect(vga.read(0x7ffc, 4)).toBe(0x44434241);
    expect(vga.read(0x7fff, 1)).toBe(0x44);
    expect(vga.toText()).toBe("");
    expect(vga.toAnsi()).toBe(Array(25).fill(BLANK_ANSI_ROW).join("\n"));
  });

  it("rejects cells off the screen", () => {
    const vga = new VgaTextBuffer();
    expect(() => vga.cell(25, 0)).toThrow(RangeError);
    expect(() => vga.charAt(0, 80)).toThrow(RangeError);
    expect(() => vga.attrAt(-1, 0)).toThrow(RangeError);
    expect(() => vga.charAt(0.5, 0)).toThrow(RangeError);
  });
});

describe("VgaTextBuffer on the physical bus", () => {
  function machine(): { ram: GuestRam; bus: PhysicalBus; vga: VgaTextBuffer } {
    const ram = new GuestRam(16 * 1024 * 1024);
    const bus = new PhysicalBus(ram, pcRamRanges(16 * 1024 * 1024));
    const vga = new VgaTextBuffer();
    bus.mapMmio(VGA_TEXT_BASE, VGA_TEXT_SIZE, vga);
    return { ram, bus, vga };
  }

  it("routes accesses at 0xB8000 to the device, not to RAM", () => {
    const { ram, bus, vga } = machine();
    bus.write16(0xb8000, 0x1f41);
    bus.write8(0xb8002, 0x42);
    bus.write32(0xb8004, 0x2f442f43);
    expect(vga.cell(0, 0)).toEqual({ char: 0x41, attr: 0x1f });
    expect(vga.cell(0, 1)).toEqual({ char: 0x42, attr: 0x07 });
    expect(vga.cell(0, 2)).toEqual({ char: 0x43, attr: 0x2f });
    expect(vga.cell(0, 3)).toEqual({ char: 0x44, attr: 0x2f });
    expect(vga.toText()).toBe("ABCD");
    expect(bus.mmioWrites).toBe(3);
    for (let pa = 0xb8000; pa < 0xb8008; pa++) expect(ram.u8[pa]).toBe(0);

    expect(bus.read16(0xb8000)).toBe(0x1f41);
    expect(bus.read8(0xb8002)).toBe(0x42);
    expect(bus.read32(0xb8004)).toBe(0x2f442f43);
    expect(bus.mmioReads).toBe(3);
    expect(bus.describe(0xb8000)).toContain("vga-text");
  });

  it("reaches the last bytes of the window and splits 8-byte writes", () => {
    const { ram, bus, vga } = machine();
    bus.write32(0xbfffc, 0x04030201);
    expect(vga.read(0x7ffc, 4)).toBe(0x04030201);
    expect(bus.read32(0xbfffc)).toBe(0x04030201);
    bus.write64(0xb8010, 0x07620761, 0x07640763);
    expect(vga.read(0x10, 4)).toBe(0x07620761);
    expect(vga.read(0x14, 4)).toBe(0x07640763);
    expect(bus.mmioWrites).toBe(3);
    expect(vga.toText()).toBe("        abcd");
    expect(ram.u8[0xbfffc]).toBe(0);
    expect(ram.u8[0xb8010]).toBe(0);
  });
});

describe("VgaTextBuffer change listeners", () => {
  it("reports the changed cells of byte, word and dword writes", () => {
    const vga = new VgaTextBuffer();
    const { calls } = recorder(vga);
    vga.write(0, 1, 0x41); // char of cell 0
    vga.write(1, 1, 0x1f); // attr of cell 0
    vga.write(2, 2, 0x0742); // cell 1, attr unchanged
    vga.write(6, 4, 0x07440743); // cells 3 and 4
    vga.write(5, 4, 0x5807571e); // attr 2, char 3, attr 3 (same), char 4
    vga.write(3, 2, 0x2070); // attr of cell 1, char of cell 2 (same)
    expect(calls).toEqual([
      [0, 0],
      [0, 0],
      [1, 1],
      [3, 4],
      [2, 4],
      [1, 1],
    ]);
    expect(vga.read(4, 4)).toBe(0x07571e20); // bytes 20 1e 57 07
  });

  it("narrows the range to the bytes that actually changed", () => {
    const vga = new VgaTextBuffer();
    const { calls } = recorder(vga);
    vga.write(20, 4, 0x41200720); // cells 10 and 11; only cell 11's attr changes
    vga.write(24, 4, 0x07200741); // cells 12 and 13; only cell 12's char changes
    expect(calls).toEqual([
      [11, 11],
      [12, 12],
    ]);
  });

  it("stays silent for identical and off-screen writes", () => {
    const vga = new VgaTextBuffer();
    const { calls } = recorder(vga);
    vga.write(0, 2, 0x0720);
    vga.write(0, 4, 0x07200720);
    vga.write(3999, 1, 0x07);
    vga.write(4000, 2, 0x1f41);
    vga.write(0x7000, 4, 0x12345678);
    expect(calls).toEqual([]);
    vga.write(0, 1, 0x41);
    vga.write(0, 1, 0x41);
    expect(calls).toEqual([[0, 0]]);
  });

  it("clips writes straddling the end of the visible page", () => {
    const vga = new VgaTextBuffer();
    const { calls } = recorder(vga);
    vga.write(3998, 4, 0x1f411f41); // cell 1999, then off-screen bytes 4000-4001
    expect(calls).toEqual([[1999, 1999]]);
    expect(vga.read(4000, 2)).toBe(0x1f41);
    vga.write(3998, 4, 0x1f421f41); // only the off-screen part changes
    expect(calls).toEqual([[1999, 1999]]);
  });

  it("calls every listener once per write and supports unsubscribe", () => {
    const vga = new VgaTextBuffer();
    const a = recorder(vga);
    const b = recorder(vga);
    vga.write(100, 2, 0x1f41);
    expect(a.calls).toEqual([[50, 50]]);
    expect(b.calls).toEqual([[50, 50]]);
    a.unsubscribe();
    vga.write(102, 2, 0x1f42);
    expect(a.calls).toEqual([[50, 50]]);
    expect(b.calls).toEqual([
      [50, 50],
      [51, 51],
    ]);
    a.unsubscribe(); // a second call is harmless
    b.unsubscribe();
    vga.write(104, 2, 0x1f43);
    expect(b.calls).toHaveLength(2);
    expect(vga.read(104, 2)).toBe(0x1f43);
  });

  it("removes only one registration of a listener registered twice", () => {
    const vga = new VgaTextBuffer();
    let count = 0;
    const listener = (): void => {
      count++;
    };
    const off1 = vga.onChange(listener);
    vga.onChange(listener);
    vga.write(0, 1, 0x41);
    expect(count).toBe(2);
    off1();
    vga.write(0, 1, 0x42);
    expect(count).toBe(3);
  });

  it("lets a listener unsubscribe during notification without skipping others", () => {
    const vga = new VgaTextBuffer();
    const seen: string[] = [];
    const offA: () => void = vga.onChange(() => {
      seen.push("a");
      offA();
    });
    vga.onChange(() => seen.push("b"));
    vga.write(0, 1, 0x41);
    vga.write(0, 1, 0x42);
    expect(seen).toEqual(["a", "b", "b"]);
  });
});

describe("VgaTextBuffer rendering", () => {
  it("renders text through CP437, trimming trailing spaces and empty lines", () => {
    const vga = new VgaTextBuffer();
    putText(vga, 0, 0, [0x48, 0x69]); // "Hi"
    putText(vga, 2, 5, [0xc9, 0xcd, 0x01]); // "╔═☺"
    vga.write((3 * 80 + 10) * 2 + 1, 1, 0x4f); // colour only: still an empty line
    expect(vga.toText()).toBe("Hi\n\n     ╔═☺");
  });

  it("renders NUL as a space and keeps non-breaking space", () => {
    const vga = new VgaTextBuffer();
    putText(vga, 0, 0, [0x41, 0x00, 0x42, 0x00]);
    putText(vga, 1, 0, [0x43, 0xff]);
    expect(vga.toText()).toBe("A B\nC\u00a0");
  });

  it("renders the last row and full-width lines", () => {
    const vga = new VgaTextBuffer();
    putText(vga, 24, 79, [0xdb]);
    putText(vga, 0, 0, Array(80).fill(0x2d));
    expect(vga.toText()).toBe("-".repeat(80) + "\n".repeat(24) + " ".repeat(79) + "█");
  });

  it("renders a yellow-on-blue cell as exact ANSI", () => {
    const vga = new VgaTextBuffer();
    vga.write(0, 2, 0x1e58); // 'X', attr 0x1E
    const first = "\x1b[93;44mX" + "\x1b[37;40m" + " ".repeat(79) + RESET;
    expect(vga.toAnsi()).toBe([first, ...Array(24).fill(BLANK_ANSI_ROW)].join("\n"));
  });

  it("maps all 16 foregrounds and 8 backgrounds, emitting SGR only on changes", () => {
    const vga = new VgaTextBuffer();
    for (let fg = 0; fg < 16; fg++) vga.write(fg * 2, 2, (fg << 8) | 0x23); // '#' on black
    for (let bg = 0; bg < 8; bg++) vga.write(2 * 80 * 2 + bg * 2, 2, (bg << 12) | 0x0f00 | 0x2e); // '.', white on bg
    putText(vga, 4, 0, [0x61, 0x62]); // two cells with the same attribute
    const fgCodes = [30, 34, 32, 36, 31, 35, 33, 37, 90, 94, 92, 96, 91, 95, 93, 97];
    const bgCodes = [40, 44, 42, 46, 41, 45, 43, 47];
    const row0 = fgCodes.map((c) => `\x1b[${c};40m#`).join("") + "\x1b[37;40m" + " ".repeat(64) + RESET;
    const row2 = bgCodes.map((c) => `\x1b[97;${c}m.`).join("") + "\x1b[37;40m" + " ".repeat(72) + RESET;
    const row4 = "\x1b[37;40mab" + " ".repeat(78) + RESET;
    const rows = Array(25).fill(BLANK_ANSI_ROW);
    rows[0] = row0;
    rows[2] = row2;
    rows[4] = row4;
    expect(vga.toAnsi()).toBe(rows.join("\n"));
  });

  it("renders blink as SGR 5, cancels it with 25, and restarts colours on each line", () => {
    const vga = new VgaTextBuffer();
    vga.write(0, 2, 0x9e42); // 'B', blink, yellow on blue (bg bits 001)
    vga.write(2, 2, 0x9e42);
    vga.write(79 * 2, 2, 0x1e5a); // 'Z' at the end of row 0, yellow on blue
    vga.write(80 * 2, 2, 0x1e59); // 'Y' at the start of row 1, same attribute
    const row0 = "\x1b[93;44;5mBB" + "\x1b[37;40;25m" + " ".repeat(77) + "\x1b[93;44mZ" + RESET;
    const row1 = "\x1b[93;44mY" + "\x1b[37;40m" + " ".repeat(79) + RESET;
    expect(vga.toAnsi()).toBe([row0, row1, ...Array(23).fill(BLANK_ANSI_ROW)].join("\n"));
  });
});

describe("VgaTextBuffer.clear", () => {
  it("restores the initial content and notifies all cells once", () => {
    const vga = new VgaTextBuffer();
    putText(vga, 3, 3, [0x41, 0x42]);
    vga.write(4000, 2, 0x1f41);
    const { calls } = recorder(vga);
    vga.clear();
    expect(calls).toEqual([[0, 1999]]);
    expect(vga.toText()).toBe("");
    for (let i = 0; i < 2000; i++) expect(vga.read(i * 2, 2)).toBe(0x0720);
    expect(vga.read(4000, 2)).toBe(0x0720);
  });

  it("notifies nobody when the visible page is already blank", () => {
    const vga = new VgaTextBuffer();
    const { calls } = recorder(vga);
    vga.clear();
    vga.write(5000, 1, 0x41); // off-screen only
    vga.clear();
    expect(calls).toEqual([]);
    expect(vga.read(5000, 1)).toBe(0x20);
  });
});
