// Code page 437, the character set of the PC's VGA text mode, as Unicode.
// Bytes 0x01-0x1F and 0x7F are shown as the glyphs the VGA font draws for
// them rather than as control characters; 0x00 is shown as a space.

const LOW_GLYPHS = " ☺☻♥♦♣♠•◘○◙♂♀♪♫☼►◄↕‼¶§▬↨↑↓→←∟↔▲▼"; // 0x00-0x1F

const HIGH_HALF = // 0x80-0xFF, 16 per line
  "ÇüéâäàåçêëèïîìÄÅ" +
  "ÉæÆôöòûùÿÖÜ¢£¥₧ƒ" +
  "áíóúñÑªº¿⌐¬½¼¡«»" +
  "░▒▓│┤╡╢╖╕╣║╗╝╜╛┐" +
  "└┴┬├─┼╞╟╚╔╩╦╠═╬╧" +
  "╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀" +
  "αßΓπΣσµτΦΘΩδ∞φε∩" +
  "≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

function buildTable(): string[] {
  const table: string[] = [...LOW_GLYPHS];
  for (let b = 0x20; b < 0x7f; b++) table.push(String.fromCharCode(b));
  table.push("⌂");
  table.push(...HIGH_HALF);
  if (table.length !== 256) throw new Error(`CP437 table has ${table.length} entries`);
  return table;
}

/** The Unicode character for each byte value 0x00-0xFF. */
export const CP437: readonly string[] = Object.freeze(buildTable());

/** Decodes CP437 bytes (each taken mod 256) to a string, one character per byte. */
export function cp437ToString(bytes: ArrayLike<number>): string {
  let s = "";
  for (let i = 0; i < bytes.length; i++) s += CP437[bytes[i] & 0xff];
  return s;
}
