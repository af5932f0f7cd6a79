// A PS/2 (MF2) keyboard behind the 8042, and the translation of terminal
// input into its key presses. QEMU's ps2.c is the oracle for the command set.
//
// The keyboard sends scan codes in its current set (2 after reset). The 8042
// translates set 2 to set 1 when its configuration byte says so (the PC
// default); that happens in Ps2Controller, not here, as on the board.
//
// Host input is a queue of key events (press or release of a key in KEYS)
// without a size limit, so nothing is lost while the guest is slow: events
// become scan code bytes only as the controller takes them, one byte at a
// time, in the scan code set current at that moment. The queue survives a
// keyboard reset (keys typed before the guest set the keyboard up still
// arrive); bytes of an event half sent when the guest resets it are dropped.

/** A key: its scan codes in sets 1, 2 and 3. E0 = the 0xE0 prefix (sets 1 and 2). */
interface Key {
  readonly name: string;
  readonly set1: number;
  readonly set2: number;
  readonly set3: number;
}

const E0 = 0x100;

// Codes from the IBM PC AT / MF2 keyboard tables (QEMU keycodemapdb's AT set
// columns agree). Order matters only for KEY_INDEX below.
const KEY_TABLE: readonly (readonly [string, number, number, number])[] = [
  ["Escape", 0x01, 0x76, 0x08],
  ["1", 0x02, 0x16, 0x16], ["2", 0x03, 0x1e, 0x1e], ["3", 0x04, 0x26, 0x26], ["4", 0x05, 0x25, 0x25],
  ["5", 0x06, 0x2e, 0x2e], ["6", 0x07, 0x36, 0x36], ["7", 0x08, 0x3d, 0x3d], ["8", 0x09, 0x3e, 0x3e],
  ["9", 0x0a, 0x46, 0x46], ["0", 0x0b, 0x45, 0x45], ["-", 0x0c, 0x4e, 0x4e], ["=", 0x0d, 0x55, 0x55],
  ["Backspace", 0x0e, 0x66, 0x66], ["Tab", 0x0f, 0x0d, 0x0d],
  ["q", 0x10, 0x15, 0x15], ["w", 0x11, 0x1d, 0x1d], ["e", 0x12, 0x24, 0x24], ["r", 0x13, 0x2d, 0x2d],
  ["t", 0x14, 0x2c, 0x2c], ["y", 0x15, 0x35, 0x35], ["u", 0x16, 0x3c, 0x3c], ["i", 0x17, 0x43, 0x43],
  ["o", 0x18, 0x44, 0x44], ["p", 0x19, 0x4d, 0x4d], ["[", 0x1a, 0x54, 0x54], ["]", 0x1b, 0x5b, 0x5b],
  ["Enter", 0x1c, 0x5a, 0x5a], ["LeftCtrl", 0x1d, 0x14, 0x11],
  ["a", 0x1e, 0x1c, 0x1c], ["s", 0x1f, 0x1b, 0x1b], ["d", 0x20, 0x23, 0x23], ["f", 0x21, 0x2b, 0x2b],
  ["g", 0x22, 0x34, 0x34], ["h", 0x23, 0x33, 0x33], ["j", 0x24, 0x3b, 0x3b], ["k", 0x25, 0x42, 0x42],
  ["l", 0x26, 0x4b, 0x4b], [";", 0x27, 0x4c, 0x4c], ["'", 0x28, 0x52, 0x52], ["`", 0x29, 0x0e, 0x0e],
  ["LeftShift", 0x2a, 0x12, 0x12], ["\\", 0x2b, 0x5d, 0x5d],
  ["z", 0x2c, 0x1a, 0x1a], ["x", 0x2d, 0x22, 0x22], ["c", 0x2e, 0x21, 0x21], ["v", 0x2f, 0x2a, 0x2a],
  ["b", 0x30, 0x32, 0x32], ["n", 0x31, 0x31, 0x31], ["m", 0x32, 0x3a, 0x3a], [",", 0x33, 0x41, 0x41],
  [".", 0x34, 0x49, 0x49], ["/", 0x35, 0x4a, 0x4a], ["RightShift", 0x36, 0x59, 0x59],
  ["KeypadMultiply", 0x37, 0x7c, 0x7e], ["LeftAlt", 0x38, 0x11, 0x19], ["Space", 0x39, 0x29, 0x29],
  ["CapsLock", 0x3a, 0x58, 0x14],
  ["F1", 0x3b, 0x05, 0x07], ["F2", 0x3c, 0x06, 0x0f], ["F3", 0x3d, 0x04, 0x17], ["F4", 0x3e, 0x0c, 0x1f],
  ["F5", 0x3f, 0x03, 0x27], ["F6", 0x40, 0x0b, 0x2f], ["F7", 0x41, 0x83, 0x37], ["F8", 0x42, 0x0a, 0x3f],
  ["F9", 0x43, 0x01, 0x47], ["F10", 0x44, 0x09, 0x4f], ["F11", 0x57, 0x78, 0x56], ["F12", 0x58, 0x07, 0x5e],
  ["NumLock", 0x45, 0x77, 0x76], ["ScrollLock", 0x46, 0x7e, 0x5f],
  ["Keypad7", 0x47, 0x6c, 0x6c], ["Keypad8", 0x48, 0x75, 0x75], ["Keypad9", 0x49, 0x7d, 0x7d],
  ["KeypadMinus", 0x4a, 0x7b, 0x84], ["Keypad4", 0x4b, 0x6b, 0x6b], ["Keypad5", 0x4c, 0x73, 0x73],
  ["Keypad6", 0x4d, 0x74, 0x74], ["KeypadPlus", 0x4e, 0x79, 0x7c], ["Keypad1", 0x4f, 0x69, 0x69],
  ["Keypad2", 0x50, 0x72, 0x72], ["Keypad3", 0x51, 0x7a, 0x7a], ["Keypad0", 0x52, 0x70, 0x70],
  ["KeypadDot", 0x53, 0x71, 0x71],
  ["KeypadEnter", E0 | 0x1c, E0 | 0x5a, 0x79], ["RightCtrl", E0 | 0x1d, E0 | 0x14, 0x58],
  ["KeypadDivide", E0 | 0x35, E0 | 0x4a, 0x77], ["RightAlt", E0 | 0x38, E0 | 0x11, 0x39],
  ["Home", E0 | 0x47, E0 | 0x6c, 0x6e], ["Up", E0 | 0x48, E0 | 0x75, 0x63], ["PageUp", E0 | 0x49, E0 | 0x7d, 0x6f],
  ["Left", E0 | 0x4b, E0 | 0x6b, 0x61], ["Right", E0 | 0x4d, E0 | 0x74, 0x6a], ["End", E0 | 0x4f, E0 | 0x69, 0x65],
  ["Down", E0 | 0x50, E0 | 0x72, 0x60], ["PageDown", E0 | 0x51, E0 | 0x7a, 0x6d],
  ["Insert", E0 | 0x52, E0 | 0x70, 0x67], ["Delete", E0 | 0x53, E0 | 0x71, 0x64],
];

export const KEYS: readonly Key[] = KEY_TABLE.map(([name, set1, set2, set3]) => ({ name, set1, set2, set3 }));
const KEY_INDEX = new Map<string, number>(KEYS.map((k, i) => [k.name, i]));

/** Index of a key in KEYS by name ("a", "Enter", "Up", ...). */
export function keyIndex(name: string): number {
  const i = KEY_INDEX.get(name);
  if (i === undefined) throw new RangeError(`no key named ${name}`);
  return i;
}

// US layout: for each printable ASCII character, its key and whether Shift is held.
const ASCII_KEY = new Int16Array(128).fill(-1);
const ASCII_SHIFT = new Uint8Array(128);
{
  const rows: [string, string][] = [
    ["`1234567890-=", "~!@#$%^&*()_+"],
    ["qwertyuiop[]\\", "QWERTYUIOP{}|"],
    ["asdfghjkl;'", 'ASDFGHJKL:"'],
    ["zxcvbnm,./", "ZXCVBNM<>?"],
  ];
  for (const [plain, shifted] of rows) {
    for (let i = 0; i < plain.length; i++) {
      const key = keyIndex(plain[i]);
      ASCII_KEY[plain.charCodeAt(i)] = key;
      ASCII_KEY[shifted.charCodeAt(i)] = key;
      ASCII_SHIFT[shifted.charCodeAt(i)] = 1;
    }
  }
  ASCII_KEY[0x20] = keyIndex("Space");
}

const K_SHIFT = keyIndex("LeftShift");
const K_CTRL = keyIndex("LeftCtrl");
const K_ENTER = keyIndex("Enter");
const K_BACKSPACE = keyIndex("Backspace");
const K_TAB = keyIndex("Tab");
const K_ESCAPE = keyIndex("Escape");
/** Keys for ESC [ n ~ (VT220 editing keys): 1 Home, 2 Insert, 3 Delete, 4 End, 5 PageUp, 6 PageDown, 7 Home, 8 End. */
const TILDE_KEYS = ["", "Home", "Insert", "Delete", "End", "PageUp", "PageDown", "Home", "End"].map((n) =>
  n === "" ? -1 : keyIndex(n),
);
/** Keys for ESC [ X and ESC O X by final byte. */
const CSI_FINAL_KEYS: Record<string, string> = { A: "Up", B: "Down", C: "Right", D: "Left", H: "Home", F: "End" };

export const KBD_ACK = 0xfa;
export const KBD_RESEND = 0xfe;
export const KBD_BAT_OK = 0xaa;
export const KBD_ECHO = 0xee;

/** Event encoding in the host queue: key index, plus this bit for a release. */
const RELEASE = 0x8000;

export class Ps2Keyboard {
  /** Scan code set 1, 2 or 3. */
  scancodeSet = 2;
  scanning = true;
  /** LED byte from the last 0xED command (bit 0 Scroll, 1 Num, 2 Caps Lock). */
  leds = 0;
  /** Typematic byte from the last 0xF3 command. */
  typematic = 0x2b;
  /** Called when a byte becomes available (the controller pulls it). */
  onOutputReady: (() => void) | null = null;

  /** Command awaiting its argument byte, or 0. */
  private pendingCommand = 0;
  /** Replies to commands; they go before scan codes. */
  private readonly replies: number[] = [];
  /** Bytes of the key event being sent. */
  private readonly eventBytes = new Uint8Array(4);
  private eventLength = 0;
  private eventPos = 0;
  /** Host key events not yet sent (grows as needed). */
  private events = new Uint16Array(256);
  private eventsHead = 0;
  private eventsCount = 0;
  /** Parser state for terminal escape sequences across typeBytes calls. */
  private escape = "";
  private lastWasCr = false;

  /** Back to power-on defaults (set 2, scanning on); pending replies and a half-sent event are dropped. */
  reset(): void {
    this.scancodeSet = 2;
    this.scanning = true;
    this.leds = 0;
    this.typematic = 0x2b;
    this.pendingCommand = 0;
    this.replies.length = 0;
    this.eventLength = this.eventPos = 0;
    this.lastOutputWasReply = false;
  }

  /** Key events waiting (not counting the one being sent). */
  get pendingEvents(): number {
    return this.eventsCount;
  }

  /** Whether a byte is ready for the controller. */
  hasOutput(): boolean {
    if (this.replies.length > 0 || this.eventPos < this.eventLength) return true;
    return this.scanning && this.eventsCount > 0;
  }

  /** Whether the byte readOutput last returned was a command reply (not a scan code). */
  lastOutputWasReply = false;

  /** Takes the next byte (call only when hasOutput()). */
  readOutput(): number {
    this.lastOutputWasReply = this.replies.length > 0;
    if (this.lastOutputWasReply) return this.replies.shift()!;
    if (this.eventPos >= this.eventLength) this.loadEvent();
    return this.eventBytes[this.eventPos++];
  }

  /** A byte the host system sent to the keyboard (a command or an argument). */
  write(byte: number): void {
    byte &= 0xff;
    // A new command discards replies not yet read (QEMU's ps2_cqueue_reset).
    this.replies.length = 0;
    const cmd = this.pendingCommand;
    if (cmd !== 0) {
      this.pendingCommand = 0;
      switch (cmd) {
        case 0xed:
          this.leds = byte & 0x07;
          this.reply(KBD_ACK);
          return;
        case 0xf3:
          this.typematic = byte & 0x7f;
          this.reply(KBD_ACK);
          return;
        case 0xf0:
          if (byte === 0) this.reply(KBD_ACK, this.scancodeSet);
          else if (byte >= 1 && byte <= 3) {
            this.scancodeSet = byte;
            this.reply(KBD_ACK);
          } else this.reply(KBD_RESEND);
          return;
        default: // 0xfb-0xfd (set 3 key types): acknowledged and ignored
          this.reply(KBD_ACK);
          return;
      }
    }
    switch (byte) {
      case 0xed: // set LEDs
      case 0xf0: // get/set scan code set
      case 0xf3: // typematic rate/delay
      case 0xfb: // set 3: key typematic
      case 0xfc: // set 3: key make/break
      case 0xfd: // set 3: key make only
        this.pendingCommand = byte;
        this.reply(KBD_ACK);
        return;
      case 0xee:
        this.reply(KBD_ECHO);
        return;
      case 0xf2: // identify: an MF2 keyboard (the controller turns 0x83 into 0x41 when translating)
        this.reply(KBD_ACK, 0xab, 0x83);
        return;
      case 0xf4:
        this.scanning = true;
        this.reply(KBD_ACK);
        return;
      case 0xf5: // defaults, scanning off
        this.reset();
        this.scanning = false;
        this.reply(KBD_ACK);
        return;
      case 0xf6: // defaults, scanning on
        this.reset();
        this.reply(KBD_ACK);
        return;
      case 0xf7: case 0xf8: case 0xf9: case 0xfa: // set 3: all keys typematic / make-break / make / all
        this.reply(KBD_ACK);
        return;
      case 0xff: // reset and self test (BAT)
        this.reset();
        this.reply(KBD_ACK, KBD_BAT_OK);
        return;
      default:
        this.reply(KBD_RESEND);
    }
  }

  /** Queues a press (or release) of KEYS[key]. */
  keyEvent(key: number, pressed: boolean): void {
    if (this.eventsCount === this.events.length) {
      const bigger = new Uint16Array(this.events.length * 2);
      for (let i = 0; i < this.eventsCount; i++) bigger[i] = this.events[(this.eventsHead + i) % this.events.length];
      this.events = bigger;
      this.eventsHead = 0;
    }
    this.events[(this.eventsHead + this.eventsCount) % this.events.length] = key | (pressed ? 0 : RELEASE);
    this.eventsCount++;
    this.notify();
  }

  /** Presses and releases a key, with modifiers held around it. */
  tap(key: number, ...modifiers: number[]): void {
    for (const m of modifiers) this.keyEvent(m, true);
    this.keyEvent(key, true);
    this.keyEvent(key, false);
    for (let i = modifiers.length - 1; i >= 0; i--) this.keyEvent(modifiers[i], false);
  }

  /**
   * Terminal bytes (stdin) to key presses on a US layout: printable ASCII
   * (Shift for capitals and symbols), Enter (CR, LF, CR LF), Backspace (DEL
   * and BS), Tab, Escape, Ctrl+letter (0x01-0x1A), Ctrl+\ ] ^ _, and the
   * ANSI/VT sequences for arrows, Home, End, Insert, Delete, PageUp and
   * PageDown. Other bytes are ignored.
   */
  typeBytes(bytes: ArrayLike<number>): void {
    for (let i = 0; i < bytes.length; i++) this.typeByte(bytes[i] & 0xff);
    // A lone ESC at the end of the input is the Escape key.
    if (this.escape === "\x1b") {
      this.escape = "";
      this.tap(K_ESCAPE);
    }
  }

  private typeByte(b: number): void {
    if (this.escape !== "") {
      this.escapeByte(b);
      return;
    }
    const wasCr = this.lastWasCr;
    this.lastWasCr = b === 0x0d;
    if (b === 0x1b) {
      this.escape = "\x1b";
      return;
    }
    if (b === 0x0d) return this.tap(K_ENTER);
    if (b === 0x0a) {
      if (!wasCr) this.tap(K_ENTER);
      return;
    }
    if (b === 0x7f || b === 0x08) return this.tap(K_BACKSPACE);
    if (b === 0x09) return this.tap(K_TAB);
    if (b >= 0x01 && b <= 0x1a) return this.tap(keyIndex(String.fromCharCode(0x60 + b)), K_CTRL);
    if (b >= 0x1c && b <= 0x1f) {
      const name = ["\\", "]", "6", "-"][b - 0x1c];
      return this.tap(keyIndex(name), K_CTRL, ...(b >= 0x1e ? [K_SHIFT] : []));
    }
    if (b < 0x80 && ASCII_KEY[b] >= 0) {
      if (ASCII_SHIFT[b]) this.tap(ASCII_KEY[b], K_SHIFT);
      else this.tap(ASCII_KEY[b]);
    }
  }

  private escapeByte(b: number): void {
    const seq = this.escape + String.fromCharCode(b);
    if (seq.length === 2) {
      if (b === 0x5b || b === 0x4f) {
        this.escape = seq; // ESC [ or ESC O
        return;
      }
      // ESC then something else: the Escape key, then that byte.
      this.escape = "";
      this.tap(K_ESCAPE);
      this.typeByte(b);
      return;
    }
    if (b >= 0x30 && b <= 0x3f && seq.length < 12) {
      this.escape = seq; // parameter bytes
      return;
    }
    this.escape = "";
    const final = String.fromCharCode(b);
    const params = seq.slice(2, -1);
    if (final === "~") {
      const n = Number.parseInt(params.split(";")[0], 10);
      if (n >= 1 && n < TILDE_KEYS.length) this.tap(TILDE_KEYS[n]);
      return;
    }
    const name = CSI_FINAL_KEYS[final];
    if (name !== undefined) this.tap(keyIndex(name));
    // anything else: an unknown sequence, dropped
  }

  private reply(...bytes: number[]): void {
    for (const b of bytes) this.replies.push(b);
    this.notify();
  }

  private notify(): void {
    if (this.onOutputReady !== null) this.onOutputReady();
  }

  /** Turns the next host event into scan code bytes in the current set. */
  private loadEvent(): void {
    const e = this.events[this.eventsHead];
    this.eventsHead = (this.eventsHead + 1) % this.events.length;
    this.eventsCount--;
    const key = KEYS[e & 0x7fff];
    const release = (e & RELEASE) !== 0;
    const out = this.eventBytes;
    let n = 0;
    if (this.scancodeSet === 1) {
      if (key.set1 & E0) out[n++] = 0xe0;
      out[n++] = (key.set1 & 0xff) | (release ? 0x80 : 0);
    } else if (this.scancodeSet === 2) {
      if (key.set2 & E0) out[n++] = 0xe0;
      if (release) out[n++] = 0xf0;
      out[n++] = key.set2 & 0xff;
    } else {
      if (release) out[n++] = 0xf0;
      out[n++] = key.set3;
    }
    this.eventLength = n;
    this.eventPos = 0;
  }
}
