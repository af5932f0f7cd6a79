// Choosing what one compiled function holds: the instructions reachable from
// a hot entry point through direct jumps and branches without leaving its
// 4 KiB code page, cut into basic blocks. The blocks become the labels of one
// function, so a loop runs inside it (and V8 optimises it by on-stack
// replacement). Also here: which flag-setting instructions can be fused with
// the Jcc/SETcc/CMOVcc after them, and which flags are live (dead-flag
// elimination), both per instruction.

import { DecodedInstruction, decode } from "../cpu/decoder.ts";
import { CALL, CALL_END, FLOW_BRANCH, FLOW_CALL, FLOW_DYNAMIC, FLOW_JUMP, FLOW_NEXT, INLINE, type InstructionInfo, classify } from "./instruction-info.ts";

/** At most this many instructions in one region (V8 stops optimising functions past ~60 KB of bytecode). */
export const MAX_REGION_INSTRUCTIONS = 400;

/** Producer classes for fused condition codes. */
export const PRODUCER_NONE = 0;
/** SUB or CMP: conditions from the operands. */
export const PRODUCER_SUB = 1;
/** AND, OR, XOR, TEST: conditions from the result (CF = OF = 0). */
export const PRODUCER_LOGIC = 2;
/** ADD, INC, DEC: ZF and SF from the result. */
export const PRODUCER_RESULT = 3;

/** An instruction of a region: its classification (instruction-info.ts), where it is, and what the analyses found. */
export interface RegionInstruction extends InstructionInfo {
  insn: DecodedInstruction;
  /** Offset in the code page. */
  offset: number;
  startLo: number;
  startHi: number;
  nextLo: number;
  nextHi: number;
  /** Direct target (JMP/Jcc/CALL rel) as a linear address, and its page offset if in this page, else -1. */
  targetLo: number;
  targetHi: number;
  targetOffset: number;
  /** This flag producer's class when the next instruction's condition is computed from its operands. */
  fusedProducer: number;
  /** This instruction's condition comes from the previous instruction's operands. */
  fusedConsumer: boolean;
  /** Some arithmetic flag this instruction leaves may be read later (by an instruction, an exception frame or code outside the region). */
  flagsLiveAfter: boolean;
}

export interface Block {
  /** Offset in the page of the first instruction. */
  offset: number;
  /** Indices into Region.instructions, in order. */
  body: number[];
  /** Page offset of the fall-through successor when the block just runs into it, else -1. */
  fallthrough: number;
  /** Linear address after the last instruction (where the block continues). */
  endLo: number;
  endHi: number;
  liveIn: boolean;
  /**
   * The target of a jump backwards (every loop has one): the region checks
   * the instruction budget here, and may stop here, so the flags are live.
   */
  checkpoint: boolean;
  /**
   * Instructions from this block's start to the end of the longest path that
   * reaches no checkpoint and leaves no region: what a budget check here must
   * find left. Between checkpoints the region never stops for the budget.
   */
  budget: number;
}

export interface Region {
  pageLo: number;
  pageHi: number;
  instructions: RegionInstruction[];
  blocks: Block[];
  /** Block index by page offset of its first instruction. */
  blockAt: Map<number, number>;
}

function conditionOf(i: DecodedInstruction): number {
  if (i.map === 0 && i.opcode >= 0x70 && i.opcode <= 0x7f) return i.opcode & 15;
  if (i.map === 1 && ((i.opcode >= 0x80 && i.opcode <= 0x8f) || (i.opcode >= 0x90 && i.opcode <= 0x9f) || (i.opcode >= 0x40 && i.opcode <= 0x4f))) return i.opcode & 15;
  return -1;
}

/** The producer class of an inline flag-setting instruction. */
function producerOf(i: DecodedInstruction): number {
  const op = i.opcode;
  if (i.map !== 0) return PRODUCER_NONE;
  let aluOp = -1;
  if (op < 0x40 && (op & 7) < 6) aluOp = op >> 3;
  else if (op === 0x80 || op === 0x81 || op === 0x83) aluOp = i.reg & 7;
  else if (op === 0x84 || op === 0x85 || op === 0xa8 || op === 0xa9) return PRODUCER_LOGIC;
  else if ((op === 0xf6 || op === 0xf7) && (i.reg & 7) < 2) return PRODUCER_LOGIC;
  else if ((op === 0xfe || op === 0xff) && (i.reg & 7) < 2) return PRODUCER_RESULT;
  if (aluOp === 5 || aluOp === 7) return PRODUCER_SUB;
  if (aluOp === 1 || aluOp === 4 || aluOp === 6) return PRODUCER_LOGIC;
  if (aluOp === 0) return PRODUCER_RESULT;
  return PRODUCER_NONE;
}

/** Whether condition cc can be computed from a producer of class p without the flags. */
export function fusable(p: number, cc: number): boolean {
  const c = cc >> 1;
  if (p === PRODUCER_SUB) return c !== 0 && c !== 5;
  if (p === PRODUCER_LOGIC) return c !== 5;
  if (p === PRODUCER_RESULT) return c === 2 || c === 4;
  return false;
}

/**
 * Builds the region entered at page offset `entry` of the code page at RAM
 * offset `pageRam`, mapped at linear pageLo/pageHi. Returns null when not even
 * the entry instruction can be compiled (it crosses the page, or does not decode).
 * With `ran`, a branch's successor joins the region only if `ran` says the
 * interpreter has executed it: cold paths stay out (they are exits), so V8
 * parses and compiles only code that runs.
 */
export function buildRegion(
  ram: Uint8Array,
  pageRam: number,
  pageLo: number,
  pageHi: number,
  entry: number,
  codeSize: number,
  long64: boolean,
  stackSize: number,
  ran: ((offset: number) => boolean) | null = null,
): Region | null {
  const instructions: RegionInstruction[] = [];
  const byOffset = new Map<number, number>();
  const leaders = new Set<number>([entry]);
  const work = [entry];
  const linearOf = (offset: number): [number, number] => [(pageLo + offset) | 0, pageHi];
  while (work.length > 0 && instructions.length < MAX_REGION_INSTRUCTIONS) {
    let offset = work.pop() as number;
    for (;;) {
      if (offset >= 4096 || instructions.length >= MAX_REGION_INSTRUCTIONS) break;
      if (byOffset.has(offset)) {
        leaders.add(offset); // another chain runs into it: a block of its own, so no instruction is in two blocks
        break;
      }
      const insn = new DecodedInstruction();
      const start = pageRam + offset;
      const end = pageRam + 4096;
      const length = decode(ram, start, codeSize, insn, start + 15 < end ? start + 15 : end);
      if (length <= 0) break; // crosses the page, or faults: the interpreter's
      const info = classify(insn, long64, stackSize);
      const [startLo, startHi] = linearOf(offset);
      const nextOffset = offset + length;
      let nextLo = (pageLo + nextOffset) | 0;
      let nextHi = pageHi;
      if (codeSize === 16) nextLo &= 0xffff;
      else if (long64 && nextOffset === 4096 && nextLo === 0) nextHi = (pageHi + 1) | 0;
      const x: RegionInstruction = {
        insn,
        offset,
        startLo,
        startHi,
        nextLo,
        nextHi,
        ...info,
        targetLo: 0,
        targetHi: 0,
        targetOffset: -1,
        fusedProducer: PRODUCER_NONE,
        fusedConsumer: false,
        flagsLiveAfter: true,
      };
      if (x.flow === FLOW_JUMP || x.flow === FLOW_BRANCH || x.flow === FLOW_CALL) {
        // The target as the interpreter computes it (jumpRelative / CALL rel).
        const t = (nextLo >>> 0) + insn.immediateLo;
        let hi = nextHi;
        if (long64) {
          if (t > 0xffffffff) hi = (hi + 1) | 0;
          else if (t < 0) hi = (hi - 1) | 0;
        } else hi = 0;
        let lo = t | 0;
        if (!long64 && insn.operandSize === 2) lo &= 0xffff;
        x.targetLo = lo;
        x.targetHi = hi;
        const top = hi >> 15;
        if (long64 && top !== 0 && top !== -1) {
          // A non-canonical target faults (#GP) in the interpreter's jumpNear.
          x.kind = CALL_END;
          x.flow = FLOW_DYNAMIC;
          x.mayFault = true;
          x.readsFlags = true;
          x.writesFlags = false;
        } else if (hi === pageHi && (lo & ~0xfff) === pageLo && (ran === null || ran(lo & 0xfff))) {
          x.targetOffset = lo & 0xfff;
          leaders.add(x.targetOffset);
          work.push(x.targetOffset);
        }
      }
      if (x.kind === CALL || x.kind === CALL_END) leaders.add(offset); // handlers run where icount is exact
      byOffset.set(offset, instructions.length);
      instructions.push(x);
      // After a branch the next instruction starts a block. So does the one
      // after a handler that ends the region (a port access, a CR3 write, a
      // REP string...) when it ran: the engine comes back in there. Without
      // counts (threshold 0) that is left to a region of its own, since what
      // follows a HLT or a far jump may not be code at all.
      if (x.flow === FLOW_BRANCH || x.kind === CALL_END) {
        const taken = ran === null ? x.flow === FLOW_BRANCH : ran(nextOffset);
        if (nextOffset < 4096 && taken) {
          leaders.add(nextOffset);
          work.push(nextOffset);
        }
        break;
      }
      if (x.flow !== FLOW_NEXT) break;
      offset = nextOffset;
    }
  }
  if (!byOffset.has(entry)) return null;

  // Basic blocks, one per leader that decoded.
  const blocks: Block[] = [];
  const blockAt = new Map<number, number>();
  const starts = [...leaders].filter((o) => byOffset.has(o)).sort((a, b) => a - b);
  for (const start of starts) {
    const body: number[] = [];
    let offset = start;
    let fallthrough = -1;
    let endLo = 0;
    let endHi = 0;
    for (;;) {
      const index = byOffset.get(offset) as number;
      const x = instructions[index];
      body.push(index);
      endLo = x.nextLo;
      endHi = x.nextHi;
      if (x.flow !== FLOW_NEXT) break;
      const next = offset + (x.insn.length);
      if (next >= 4096 || !byOffset.has(next)) break; // exit to the interpreter at the next RIP
      if (leaders.has(next)) {
        fallthrough = next;
        break;
      }
      offset = next;
    }
    blockAt.set(start, blocks.length);
    blocks.push({ offset: start, body, fallthrough, endLo, endHi, liveIn: true, checkpoint: false, budget: 0 });
  }
  // A target in the page that did not become a block (it failed to decode) is an exit.
  for (const x of instructions) if (x.targetOffset >= 0 && !blockAt.has(x.targetOffset)) x.targetOffset = -1;

  markCheckpoints(instructions, blocks, blockAt);
  markFusion(instructions, blocks);
  flagLiveness(instructions, blocks, blockAt);
  return { pageLo, pageHi, instructions, blocks, blockAt };
}

/** Page offsets of the blocks a block may go to inside the region. */
function successors(instructions: RegionInstruction[], b: Block): number[] {
  const last = instructions[b.body[b.body.length - 1]];
  switch (last.flow) {
    case FLOW_JUMP:
    case FLOW_CALL:
      return [last.targetOffset];
    case FLOW_BRANCH:
      return [last.targetOffset, last.offset + last.insn.length];
    case FLOW_DYNAMIC:
      return [];
    default:
      return [b.fallthrough];
  }
}

/**
 * Checkpoints are the targets of jumps to an offset not above the jumping
 * block's (a cycle cannot go only forwards, so every loop has one); each
 * block's budget is its longest run to a checkpoint or out of the region.
 */
function markCheckpoints(instructions: RegionInstruction[], blocks: Block[], blockAt: Map<number, number>): void {
  for (const b of blocks) {
    for (const offset of successors(instructions, b)) {
      const t = blockAt.get(offset);
      if (t !== undefined && blocks[t].offset <= b.offset) blocks[t].checkpoint = true;
    }
  }
  // Non-checkpoint successors lie further on in the page: visit from the last block back.
  for (let n = blocks.length - 1; n >= 0; n--) {
    const b = blocks[n];
    let further = 0;
    for (const offset of successors(instructions, b)) {
      const t = blockAt.get(offset);
      if (t !== undefined && !blocks[t].checkpoint && blocks[t].budget > further) further = blocks[t].budget;
    }
    b.budget = b.body.length + further;
  }
}

/** Pairs a flag producer with the condition that immediately follows it in its block. */
function markFusion(instructions: RegionInstruction[], blocks: Block[]): void {
  for (const b of blocks) {
    for (let k = 0; k + 1 < b.body.length; k++) {
      const p = instructions[b.body[k]];
      const c = instructions[b.body[k + 1]];
      if (p.kind !== INLINE || c.kind !== INLINE || !p.writesFlags) continue;
      const cc = conditionOf(c.insn);
      if (cc < 0) continue;
      const cls = producerOf(p.insn);
      if (!fusable(cls, cc)) continue;
      p.fusedProducer = cls;
      c.fusedConsumer = true;
    }
  }
}

/** Whether the flags are live after each instruction: backward over each block, iterated over the region's edges. */
function flagLiveness(instructions: RegionInstruction[], blocks: Block[], blockAt: Map<number, number>): void {
  // Flags are live wherever the region may stop: its exits, and checkpoints.
  const liveInOf = (offset: number): boolean => {
    const b = offset >= 0 ? blockAt.get(offset) : undefined;
    return b === undefined || blocks[b].checkpoint ? true : blocks[b].liveIn;
  };
  for (const b of blocks) b.liveIn = false;
  let changed = true;
  while (changed) {
    changed = false;
    for (let n = blocks.length - 1; n >= 0; n--) {
      const b = blocks[n];
      const last = instructions[b.body[b.body.length - 1]];
      let live: boolean;
      switch (last.flow) {
        case FLOW_JUMP:
        case FLOW_CALL:
          live = liveInOf(last.targetOffset);
          break;
        case FLOW_BRANCH:
          live = liveInOf(last.targetOffset) || liveInOf(blockAt.has(last.offset + last.insn.length) ? last.offset + last.insn.length : -1);
          break;
        case FLOW_DYNAMIC:
          live = true;
          break;
        default:
          live = liveInOf(b.fallthrough);
      }
      for (let k = b.body.length - 1; k >= 0; k--) {
        const x = instructions[b.body[k]];
        x.flagsLiveAfter = live;
        const reads = x.fusedConsumer ? x.mayFault : (x.partialFlags ? live : x.readsFlags) || x.mayFault || x.kind !== INLINE;
        live = reads || (live && !x.writesFlags);
      }
      if (live && !b.liveIn) {
        b.liveIn = true;
        changed = true;
      }
    }
  }
}
