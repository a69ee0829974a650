/**
 * do_check(): the verifier's safety analysis as the model runs it after the structural checks.
 * A depth-first walk over every path of the program with an abstract state per path
 * (registers with types and bounds, stack slots, call frames): the fall-through of a
 * conditional jump is explored first and the taken branch is pushed, explored states are
 * kept at prune points and a path whose state is covered by one already proven safe is cut
 * short (states_equal), loops run until their state repeats exactly (an infinite loop) or the
 * complexity limit is hit. Before the walk, check_cfg() finds unreachable instructions, and a
 * backward pass computes which registers are live before each instruction.
 *
 * What the model does not track (so it prunes less than the kernel, never more): precision
 * marks (every scalar is compared as if precise) and stack slot liveness.
 */
import { disassembleLines } from "../insn/disasm.js";
import { decodeInsns } from "../insn/insn.js";
import { Limits } from "../uapi/constants.js";
import { Errno } from "../uapi/errno.js";
import { checkHelperCall, HELPER_PROTOS } from "./check_helper.js";
import {
  assignScalarIdBeforeMov,
  BPF_MAX_VAR_OFF,
  checkMemAccess,
  checkPtrOffReg,
} from "./check_mem.js";
import { mayAccessSkb } from "./ctx_access.js";
import { BPF_FUNC_MAX_ID, helperAllowed, helperName } from "./helpers.js";
import type { BpfMap } from "./map.js";
import type { LdImmRef } from "./prog.js";
import {
  adjustScalar,
  coerceRegToSize,
  coerceRegToSizeSx,
  coerceSubregToSizeSx,
  flipOpcode,
  isRegConst,
  isScalarBranchTaken,
  markReg32Unbounded,
  markRegConst,
  markRegKnownZero,
  markRegNotInit,
  markRegUnbounded,
  markRegUnknown,
  rangeWithin,
  regBoundsSync,
  regConstValue,
  regSetMinMax,
  regWidth,
  zext32To64,
} from "./reg_bounds.js";
import { tnumAdd, tnumBswap, tnumEqualsConst, tnumIn, tnumIsConst, tnumSub } from "./tnum.js";
import type { VerifierEnv } from "./verifier_env.js";
import { VerifierLogBuf } from "./verifier_log.js";
import {
  AT_PKT_END,
  BEYOND_PKT_END,
  BPF_REG_FP,
  BPF_REG_SIZE,
  baseType,
  type CheckEnv,
  type Checkpoint,
  FuncState,
  frameStr,
  isSpilledReg,
  MAX_BPF_REG,
  PTR_MAYBE_NULL,
  RegState,
  RegType,
  regTypeStr,
  S64_MIN,
  Stack,
  slotStr,
  typeMayBeNull,
  VerifierState,
} from "./verifier_state.js";

const MAX_CALL_FRAMES = 8;
const COMPLEXITY_LIMIT_JMP_SEQ = 8192;
const MAX_PACKET_OFF = 0xffff;
const ALU_STR = [
  "+=",
  "-=",
  "*=",
  "/=",
  "|=",
  "&=",
  "<<=",
  ">>=",
  "neg",
  "%=",
  "^=",
  "=",
  "s>>=",
  "endian",
];

interface DoCheckInput {
  readonly insns: Uint8Array;
  readonly progType: number;
  readonly sleepable: boolean;
  readonly gplCompatible: boolean;
  /** Resolved ld_imm64 map references by instruction index. */
  readonly ldImm: ReadonlyMap<number, LdImmRef>;
  readonly logLevel: number;
  /** The loader's capabilities decide which helpers exist (bpf_trace_printk, bpf_sys_bpf). */
  readonly caps: Parameters<typeof helperAllowed>[3];
  /** Starts of the subprograms (0 first). */
  readonly subprogs: readonly number[];
  /**
   * kfuncs (vmlinux BTF ids, offset 0) the load path already accepted for this program: a call
   * returns an unknown scalar and clobbers r1-r5 (their arguments are not checked here).
   */
  readonly kfuncs?: ReadonlySet<number>;
}

interface DoCheckResult {
  /** 0 or a negative errno. */
  readonly err: number;
  /** The log text do_check wrote (the trace and the error message). */
  readonly log: string;
  readonly insnProcessed: number;
  readonly maxStatesPerInsn: number;
  readonly totalStates: number;
  readonly peakStates: number;
  readonly maxCtxOffset: number;
  /** The map each helper call names, null when poisoned (record_func_map). */
  readonly callMaps: ReadonlyMap<number, BpfMap | null>;
}

interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

interface Pending {
  state: VerifierState;
  insnIdx: number;
  prevInsnIdx: number;
  logPos: number;
}

const EXACT = true;

/** An instruction's registers read (use) and written (def), and its successors. */
interface UseDef {
  use: number;
  def: number;
  succ: number[];
}

/** try_match_pkt_pointers()'s four comparisons (JGT, JLT, JGE, JLE), by opcode. */
const PKT_COMPARE_RULES: Record<number, { inThis: boolean; open: boolean }> = {
  32: { inThis: true, open: false }, // JGT
  160: { inThis: false, open: true }, // JLT
  48: { inThis: true, open: true }, // JGE
  176: { inThis: false, open: false }, // JLE
};

class Analysis implements CheckEnv {
  readonly progType: number;
  readonly sleepable: boolean;
  readonly gplCompatible: boolean;
  cur: VerifierState = new VerifierState();
  insnIdx = 0;
  prevInsnIdx = -1;
  idGen = 0;
  readonly callMaps = new Map<number, BpfMap | null>();
  maxCtxOffset = 0;
  maxPktOffset = 0;

  readonly insns: Insn[];
  readonly len: number;
  readonly out = new VerifierLogBuf();
  prevLogPos = 0;
  prevInsnPrintPos = 0;
  scratchedRegs = 0;
  scratchedStack = new Set<number>();
  insnProcessed = 0;
  jmpsProcessed = 0;
  prevJmps = 0;
  prevInsns = 0;
  totalStates = 0;
  maxStatesPerInsn = 0;
  curStates = 0;
  peakStates = 0;
  readonly explored = new Map<number, Checkpoint[]>();
  readonly prune: Uint8Array;
  readonly live: Uint16Array;
  readonly stackUse: Set<number>[];
  readonly scc: Int32Array;
  readonly sccVisits = new Map<number, Checkpoint>();
  readonly stackDef: (Set<number> | null)[];
  liveStack: Set<number>[];
  stackDirty = false;
  stackLivenessOff = false;
  readonly visitDefs = new Set<number>();
  readonly pending: Pending[] = [];
  readonly auxPtrType: Int32Array;
  readonly text: Map<number, string>;
  /** Each instruction's register use/def and successors (they depend only on the insns): set by run(). */
  useDefs: UseDef[] = [];

  constructor(readonly input: DoCheckInput) {
    this.progType = input.progType;
    this.sleepable = input.sleepable;
    this.gplCompatible = input.gplCompatible;
    this.insns = decodeInsns(input.insns);
    this.len = this.insns.length;
    this.prune = new Uint8Array(this.len + 1);
    this.live = new Uint16Array(this.len + 1);
    this.stackUse = this.insns.map(() => new Set<number>());
    this.scc = new Int32Array(this.len + 1);
    this.stackDef = this.insns.map(() => null);
    this.liveStack = this.insns.map(() => new Set<number>());
    this.stackLivenessOff = input.subprogs.length > 1;
    this.auxPtrType = new Int32Array(this.len).fill(-1);
    this.text = new Map();
    if (input.logLevel) {
      for (const l of disassembleLines(this.insns, { helperName: (id) => helperName(id) })) {
        this.text.set(
          l.index,
          `(${l.code.toString(16).padStart(2, "0")}) ${l.text.replace(/ ll$/, "")}`,
        );
      }
    }
  }

  verbose(msg: string): void {
    if (this.input.logLevel) this.out.append(msg);
  }

  get regs(): RegState[] {
    return this.cur.cur.regs;
  }

  // ---- check_cfg ----

  /** check_cfg(): every instruction reachable, prune points at branch targets and calls. */
  checkCfg(): number {
    const DISCOVERED = 1;
    const EXPLORED = 2;
    const state = new Uint8Array(this.len);
    const stack: number[] = [];
    const succ = (t: number): number[] => {
      const insn = this.insns[t];
      const cls = insn.code & 7;
      if (insn.code === 0x18) return [t + 2];
      if (cls !== 5 && cls !== 6) return [t + 1];
      const op = insn.code & 0xf0;
      if (op === 0x90) return [];
      if (op === 0x80) {
        const out = [t + 1];
        this.prune[t + 1] = 1;
        if (insn.src === 1) {
          this.prune[t] = 1;
          out.push(t + insn.imm + 1);
          this.prune[t + insn.imm + 1] = 1;
        }
        return out;
      }
      if (op === 0x00) {
        const to = t + (cls === 6 ? insn.imm : insn.off) + 1;
        this.prune[to] = 1;
        return [to];
      }
      this.prune[t] = 1;
      this.prune[t + insn.off + 1] = 1;
      return [t + 1, t + insn.off + 1];
    };
    for (const start of this.input.subprogs) {
      if (start !== 0) continue;
      stack.push(start);
      state[start] = DISCOVERED;
      const iters: number[][] = [succ(start)];
      while (stack.length) {
        const it = iters[iters.length - 1];
        const w = it.shift();
        if (w === undefined) {
          state[stack[stack.length - 1]] = EXPLORED;
          stack.pop();
          iters.pop();
          continue;
        }
        if (w < 0 || w >= this.len) continue;
        if (state[w] === 0) {
          state[w] = DISCOVERED;
          stack.push(w);
          iters.push(succ(w));
        }
      }
    }
    for (let i = 0; i < this.len; i++) {
      if (state[i] !== EXPLORED) {
        this.verbose(`unreachable insn ${i}\n`);
        return -Errno.EINVAL;
      }
      if (this.insns[i].code === 0x18) {
        if (state[i + 1] !== 0) {
          this.verbose(`jump into the middle of ldimm64 insn ${i}\n`);
          return -Errno.EINVAL;
        }
        i++;
      }
    }
    return 0;
  }

  // ---- liveness (compute_live_registers) ----

  useDef(t: number): UseDef {
    const insn = this.insns[t];
    const cls = insn.code & 7;
    const bit = (r: number) => 1 << r;
    const op = insn.code & 0xf0;
    const x = (insn.code & 8) !== 0;
    switch (cls) {
      case 0x04:
      case 0x07: {
        if (op === 0xb0) return { use: x ? bit(insn.src) : 0, def: bit(insn.dst), succ: [t + 1] };
        if (op === 0x80 || op === 0xd0)
          return { use: bit(insn.dst), def: bit(insn.dst), succ: [t + 1] };
        return { use: bit(insn.dst) | (x ? bit(insn.src) : 0), def: bit(insn.dst), succ: [t + 1] };
      }
      case 0x01:
        return { use: bit(insn.src), def: bit(insn.dst), succ: [t + 1] };
      case 0x02:
        return { use: bit(insn.dst), def: 0, succ: [t + 1] };
      case 0x03: {
        let use = bit(insn.dst) | bit(insn.src);
        let def = 0;
        if ((insn.code & 0xe0) === 0xc0) {
          if (insn.imm === 0xf1) {
            use |= 1;
            def = 1;
          } else if (insn.imm & 1) def = bit(insn.src);
        }
        return { use, def, succ: [t + 1] };
      }
      case 0x00: {
        if (insn.code === 0x18) return { use: 0, def: bit(insn.dst), succ: [t + 2] };
        const mode = insn.code & 0xe0;
        return { use: bit(6) | (mode === 0x40 ? bit(insn.src) : 0), def: 0x3f, succ: [t + 1] };
      }
      default: {
        if (op === 0x90) return { use: 1, def: 0, succ: [] };
        if (op === 0x80) {
          if (insn.src === 1) return { use: 0x3e, def: 0x3f, succ: [t + 1] };
          const proto = HELPER_PROTOS[insn.imm];
          const n = proto ? proto.args.length : 5;
          let use = 0;
          for (let i = 1; i <= n; i++) use |= bit(i);
          return { use, def: 0x3f, succ: [t + 1] };
        }
        if (op === 0x00)
          return { use: 0, def: 0, succ: [t + (cls === 6 ? insn.imm : insn.off) + 1] };
        return {
          use: bit(insn.dst) | (x ? bit(insn.src) : 0),
          def: 0,
          succ: [t + 1, t + insn.off + 1],
        };
      }
    }
  }

  computeLive(): void {
    const ud = this.useDefs;
    let changed = true;
    while (changed) {
      changed = false;
      for (let t = this.len - 1; t >= 0; t--) {
        const u = ud[t];
        let out = 0;
        for (const s of u.succ) if (s >= 0 && s < this.len) out |= this.live[s];
        const inn = (u.use | (out & ~u.def)) & 0x3ff;
        if (inn !== this.live[t]) {
          this.live[t] = inn;
          changed = true;
        }
      }
    }
  }

  /** Stack liveness (main frame only): slots read, and slots wholly written on every visit. */
  noteStackUse(frameno: number, spi: number): void {
    if (frameno !== 0 || this.cur.curframe !== 0) {
      this.stackLivenessOff = true;
      return;
    }
    const u = this.stackUse[this.insnIdx];
    if (!u.has(spi)) {
      u.add(spi);
      this.stackDirty = true;
    }
  }

  noteStackDef(frameno: number, spi: number): void {
    if (frameno !== 0 || this.cur.curframe !== 0) return;
    this.visitDefs.add(spi);
  }

  /** Ends an instruction's visit: its must-write set is what every visit wrote. */
  finishStackDefs(idx: number): void {
    const prev = this.stackDef[idx];
    if (prev === null) this.stackDef[idx] = new Set(this.visitDefs);
    else {
      for (const spi of prev) {
        if (!this.visitDefs.has(spi)) {
          prev.delete(spi);
          this.stackDirty = true;
        }
      }
    }
    this.visitDefs.clear();
  }

  /** The backward pass over the reads and writes seen so far (live stack slots before each insn). */
  updateStackLiveness(): void {
    if (!this.stackDirty) return;
    this.stackDirty = false;
    const ud = this.useDefs;
    let changed = true;
    while (changed) {
      changed = false;
      for (let t = this.len - 1; t >= 0; t--) {
        const live = new Set(this.stackUse[t]);
        const def = this.stackDef[t];
        for (const n of ud[t].succ) {
          if (n < 0 || n >= this.len) continue;
          for (const spi of this.liveStack[n])
            if (!def?.has(spi) || this.stackUse[t].has(spi)) live.add(spi);
        }
        if (live.size !== this.liveStack[t].size) {
          this.liveStack[t] = live;
          changed = true;
        }
      }
    }
  }

  /**
   * compute_scc(): the loops of the control flow graph (strongly connected components with
   * more than one instruction, or a self-loop), numbered from 1 in the order Tarjan's walk
   * from instruction 0 completes them.
   */
  computeScc(): void {
    const succ = this.useDefs.map((u) => u.succ.filter((n) => n >= 0 && n < this.len));
    const index = new Int32Array(this.len).fill(-1);
    const low = new Int32Array(this.len);
    const onStack = new Uint8Array(this.len);
    const stack: number[] = [];
    let next = 0;
    let id = 0;
    const visit = (root: number) => {
      const work: { v: number; i: number }[] = [{ v: root, i: 0 }];
      index[root] = low[root] = next++;
      stack.push(root);
      onStack[root] = 1;
      while (work.length) {
        const top = work[work.length - 1];
        const v = top.v;
        if (top.i < succ[v].length) {
          const w = succ[v][top.i++];
          if (index[w] < 0) {
            index[w] = low[w] = next++;
            stack.push(w);
            onStack[w] = 1;
            work.push({ v: w, i: 0 });
          } else if (onStack[w]) low[v] = Math.min(low[v], index[w]);
          continue;
        }
        work.pop();
        if (work.length) {
          const u = work[work.length - 1].v;
          low[u] = Math.min(low[u], low[v]);
        }
        if (low[v] !== index[v]) continue;
        const members: number[] = [];
        let w: number;
        do {
          w = stack.pop() as number;
          onStack[w] = 0;
          members.push(w);
        } while (w !== v);
        if (members.length > 1 || succ[v].includes(v)) {
          id++;
          for (const m of members) this.scc[m] = id;
        }
      }
    };
    for (const start of this.input.subprogs) if (start < this.len && index[start] < 0) visit(start);
  }

  liveTable(): string {
    let s = "Live regs before insn:\n";
    for (let t = 0; t < this.len; t++) {
      const txt = this.text.get(t);
      if (txt === undefined) continue;
      let m = "";
      for (let r = 0; r < 10; r++) m += this.live[t] & (1 << r) ? String(r) : ".";
      const scc = this.scc[t] ? String(this.scc[t]).padStart(3) : "   ";
      s += `${scc}${String(t).padStart(4)}: ${m} ${txt}\n`;
    }
    return s;
  }

  // ---- log helpers ----

  scratch(regno: number): void {
    this.scratchedRegs |= 1 << regno;
  }

  noteStackAccess(spi: number): void {
    const h = this.cur.history;
    if (h.length) h[h.length - 1].spi = spi;
  }

  /** mark_chain_precision() from the instruction being checked. */
  markPrecise(regs: number, slots: readonly number[]): void {
    this.markChainPrecision(regs, slots, true);
  }

  /** mark_all_scalars_precise(): the fallback when backtracking cannot follow. */
  markAllScalarsPrecise(): void {
    for (let p = this.cur.parent; p; p = p.parent) {
      for (const r of p.state.allRegs()) if (r.type === RegType.SCALAR_VALUE) r.precise = true;
    }
  }

  /**
   * backtrack_insn(): which registers and stack slots needed precision before instruction
   * `h` given those needed after it. False when the model cannot follow (calls into
   * subprograms, atomics on the stack, ...).
   */
  backtrackInsn(
    h: { idx: number; spi: number },
    bt: { regs: number; slots: Set<number> },
  ): boolean {
    const insn = this.insns[h.idx];
    const cls = insn.code & 7;
    const op = insn.code & 0xf0;
    const x = (insn.code & 8) !== 0;
    const has = (r: number) => (bt.regs & (1 << r)) !== 0;
    const set = (r: number) => {
      bt.regs |= 1 << r;
    };
    const clear = (r: number) => {
      bt.regs &= ~(1 << r);
    };
    switch (cls) {
      case 0x04:
      case 0x07:
        if (!has(insn.dst)) return true;
        if (op === 0xb0) {
          if (x) {
            clear(insn.dst);
            set(insn.src);
          } else clear(insn.dst);
        } else if (op !== 0x80 && op !== 0xd0 && x) set(insn.src);
        return true;
      case 0x01:
        if (!has(insn.dst)) return true;
        clear(insn.dst);
        if (h.spi >= 0) bt.slots.add(h.spi);
        return true;
      case 0x02:
      case 0x03:
        if ((insn.code & 0xe0) === 0xc0) return h.spi < 0 || !bt.slots.has(h.spi);
        if (h.spi < 0 || !bt.slots.has(h.spi)) return true;
        bt.slots.delete(h.spi);
        if (cls === 0x03) set(insn.src);
        return true;
      case 0x00:
        if (insn.code === 0x18) {
          clear(insn.dst);
          return true;
        }
        if (bt.regs & 0x3f) {
          for (let i = 0; i <= 5; i++) clear(i);
        }
        return true;
      default:
        if (op === 0x80) {
          if (insn.src === 1) return false;
          clear(0);
          return (bt.regs & 0x3e) === 0;
        }
        if (op === 0x90) return bt.regs === 0 && bt.slots.size === 0;
        if (op === 0x00) return true;
        if (x && (has(insn.dst) || has(insn.src))) {
          set(insn.dst);
          set(insn.src);
        }
        return true;
    }
  }

  /** Marks `regs`/`slots` precise in the checkpoints the current path came through. */
  markChainPrecision(regs: number, slots: readonly number[], skipFirst: boolean): void {
    const bt = { regs: regs & ~(1 << BPF_REG_FP), slots: new Set(slots) };
    const cf = this.cur.curframe;
    // the scalars linked to the requested ones (same id) need it as much
    const linked = (st: VerifierState) => {
      const f = st.frame[cf];
      for (let i = 0; i < MAX_BPF_REG; i++) {
        const r = f.regs[i];
        if (!(bt.regs & (1 << i)) || r.type !== RegType.SCALAR_VALUE || !r.id) continue;
        for (let j = 0; j < MAX_BPF_REG; j++)
          if (f.regs[j].type === RegType.SCALAR_VALUE && f.regs[j].id === r.id) bt.regs |= 1 << j;
      }
    };
    linked(this.cur);
    if (!bt.regs && !bt.slots.size) return;
    // level 2 writes mark_precise: lines here (not modelled); what follows starts a new line
    if (this.input.logLevel & 2) this.prevLogPos = -1;
    let hist = this.cur.history;
    let skip = skipFirst;
    let parent = this.cur.parent;
    for (;;) {
      for (let i = hist.length - 1; i >= 0; i--) {
        if (skip) {
          skip = false;
          continue;
        }
        if (!this.backtrackInsn(hist[i], bt)) {
          this.markAllScalarsPrecise();
          return;
        }
        if (!bt.regs && !bt.slots.size) return;
      }
      skip = false;
      if (!parent) break;
      const st = parent.state;
      if (st.curframe !== cf) {
        this.markAllScalarsPrecise();
        return;
      }
      linked(st);
      const f = st.frame[cf];
      for (let i = 0; i < MAX_BPF_REG; i++) {
        if (!(bt.regs & (1 << i))) continue;
        const r = f.regs[i];
        if (r.type !== RegType.SCALAR_VALUE || r.precise) bt.regs &= ~(1 << i);
        else r.precise = true;
      }
      for (const spi of [...bt.slots]) {
        const sl = f.stack[spi];
        if (
          !sl ||
          !isSpilledReg(sl) ||
          sl.spilled.type !== RegType.SCALAR_VALUE ||
          sl.spilled.precise
        )
          bt.slots.delete(spi);
        else sl.spilled.precise = true;
      }
      if (!bt.regs && !bt.slots.size) return;
      hist = st.history;
      parent = parent.parent;
    }
  }

  /** propagate_precision(): what the pruning state needed precise, the current path needs too. */
  propagatePrecision(old: VerifierState, idx: number): void {
    if (old.curframe !== 0) {
      const any = old.frame.some((f) =>
        f.regs.some((r) => r.type === RegType.SCALAR_VALUE && r.precise),
      );
      if (any) this.markAllScalarsPrecise();
      return;
    }
    const f = old.frame[0];
    let regs = 0;
    for (let i = 0; i < MAX_BPF_REG; i++)
      if (this.live[idx] & (1 << i) && f.regs[i].type === RegType.SCALAR_VALUE && f.regs[i].precise)
        regs |= 1 << i;
    const slots: number[] = [];
    f.stack.forEach((sl, spi) => {
      if (isSpilledReg(sl) && sl.spilled.type === RegType.SCALAR_VALUE && sl.spilled.precise)
        slots.push(spi);
    });
    if (regs || slots.length) this.markChainPrecision(regs, slots, false);
  }

  scratchStack(spi: number): void {
    this.scratchedStack.add(spi);
  }

  scratchAll(): void {
    this.scratchedRegs = 0x7ff;
    for (let i = 0; i < 64; i++) this.scratchedStack.add(i);
  }

  stateStr(all: boolean): string {
    const f = this.cur.cur;
    const parts: string[] = [];
    const regs = frameStr(f, all ? null : this.scratchedRegs, false);
    if (regs) parts.push(regs);
    for (let spi = 0; spi < f.stack.length; spi++) {
      if (!all && !this.scratchedStack.has(spi)) continue;
      const st = slotStr(f, spi);
      if (st) parts.push(st);
    }
    return parts.join(" ");
  }

  /** print_insn_state() */
  printInsnState(): void {
    if (!(this.scratchedRegs || this.scratchedStack.size)) return;
    const s = this.stateStr(false);
    this.scratchedRegs = 0;
    this.scratchedStack.clear();
    if (!s) return;
    if (this.prevLogPos && this.prevLogPos === this.out.length) {
      this.out.truncate(this.prevLogPos - 1);
      const pos = this.prevInsnPrintPos;
      const align = Math.ceil(Math.max(pos + 4, 40) / 8) * 8 - pos - 1;
      this.out.append(`${" ".repeat(Math.max(align, 1))}; ${s}\n`);
    } else {
      this.out.append(`${this.insnIdx}: ${s}\n`);
    }
  }

  // ---- register checks ----

  /** check_reg_arg(SRC_OP) */
  checkRegRead(regno: number): number {
    this.scratch(regno);
    if (this.regs[regno].type === RegType.NOT_INIT) {
      this.verbose(`R${regno} !read_ok\n`);
      return -Errno.EACCES;
    }
    return 0;
  }

  /** check_reg_arg(DST_OP / DST_OP_NO_MARK) */
  checkRegWrite(regno: number, mark: boolean): number {
    this.scratch(regno);
    if (regno === BPF_REG_FP) {
      this.verbose("frame pointer is read only\n");
      return -Errno.EACCES;
    }
    if (mark) markRegUnknown(this.regs[regno]);
    return 0;
  }

  // ---- ALU ----

  checkAlu(insn: Insn): number {
    const cls = insn.code & 7;
    const op = insn.code & 0xf0;
    const x = (insn.code & 8) !== 0;
    const alu64 = cls === 0x07;
    const regs = this.regs;
    let err: number;
    if (op === 0xd0 || op === 0x80) {
      if (op === 0x80) {
        if (x || insn.src || insn.off || insn.imm) {
          this.verbose("BPF_NEG uses reserved fields\n");
          return -Errno.EINVAL;
        }
      } else if (
        insn.src ||
        insn.off ||
        (insn.imm !== 16 && insn.imm !== 32 && insn.imm !== 64) ||
        (alu64 && x)
      ) {
        this.verbose("BPF_END uses reserved fields\n");
        return -Errno.EINVAL;
      }
      err = this.checkRegRead(insn.dst);
      if (err) return err;
      // a pointer operand (allowed with CAP_PERFMON) leaves an unknown scalar
      if (op === 0x80 && regs[insn.dst].type === RegType.SCALAR_VALUE) {
        err = this.checkRegWrite(insn.dst, false);
        if (err) return err;
        adjustScalar(regs[insn.dst], regs[insn.dst], 0x80, !alu64);
        regs[insn.dst].id = 0;
        return 0;
      }
      const isScalar = regs[insn.dst].type === RegType.SCALAR_VALUE;
      err = this.checkRegWrite(insn.dst, !isScalar);
      if (err) return err;
      if (isScalar) {
        // a byte swap moves the known bits (tnum); to_le on this little-endian machine only
        // truncates
        const r = regs[insn.dst];
        r.id = 0;
        const bytes = insn.imm / 8;
        if (alu64 || x) {
          r.varOff = tnumBswap(r.varOff, bytes);
          markRegUnbounded(r);
          regBoundsSync(r);
        } else if (bytes < 8) coerceRegToSize(r, bytes);
      }
      return 0;
    }
    if (op === 0xb0) {
      if (x) {
        if (!alu64) {
          if ((insn.off !== 0 && insn.off !== 8 && insn.off !== 16) || insn.imm) {
            this.verbose("BPF_MOV uses reserved fields\n");
            return -Errno.EINVAL;
          }
        } else if (insn.off === 1) {
          if (insn.imm !== 1 && insn.imm !== 1 << 16) {
            this.verbose("addr_space_cast insn can only convert between address space 1 and 0\n");
            return -Errno.EINVAL;
          }
          this.verbose(
            "addr_space_cast insn can only be used in a program that has an associated arena\n",
          );
          return -Errno.EINVAL;
        } else if (
          (insn.off !== 0 && insn.off !== 8 && insn.off !== 16 && insn.off !== 32) ||
          insn.imm
        ) {
          this.verbose("BPF_MOV uses reserved fields\n");
          return -Errno.EINVAL;
        }
        err = this.checkRegRead(insn.src);
        if (err) return err;
      } else if (insn.src || insn.off) {
        this.verbose("BPF_MOV uses reserved fields\n");
        return -Errno.EINVAL;
      }
      err = this.checkRegWrite(insn.dst, false);
      if (err) return err;
      const dst = regs[insn.dst];
      if (x) {
        const src = regs[insn.src];
        if (alu64) {
          if (insn.off === 0) {
            assignScalarIdBeforeMov(this, src);
            dst.copyFrom(src);
          } else if (src.type !== RegType.SCALAR_VALUE) {
            markRegUnknown(dst);
          } else {
            const noSext = src.umax < 1n << BigInt(insn.off - 1);
            if (noSext) assignScalarIdBeforeMov(this, src);
            dst.copyFrom(src);
            if (!noSext) dst.id = 0;
            coerceRegToSizeSx(dst, insn.off >> 3);
          }
        } else {
          if (src.type !== RegType.SCALAR_VALUE) {
            markRegUnknown(dst);
          } else if (insn.off === 0) {
            const is32 = regWidth(src) <= 32;
            if (is32) assignScalarIdBeforeMov(this, src);
            dst.copyFrom(src);
            if (!is32) dst.id = 0;
          } else {
            const noSext = src.umax < 1n << BigInt(insn.off - 1);
            if (noSext) assignScalarIdBeforeMov(this, src);
            dst.copyFrom(src);
            if (!noSext) dst.id = 0;
            coerceSubregToSizeSx(dst, insn.off >> 3);
          }
          zext32To64(dst);
          regBoundsSync(dst);
        }
      } else {
        markRegConst(dst, alu64 ? BigInt(insn.imm) : BigInt(insn.imm >>> 0));
      }
      return 0;
    }
    if (op > 0xd0) {
      this.verbose(`invalid BPF_ALU opcode ${(op >> 4).toString(16)}\n`);
      return -Errno.EINVAL;
    }
    const divmod = op === 0x30 || op === 0x90;
    if (x) {
      if (insn.imm !== 0 || (insn.off !== 0 && insn.off !== 1) || (insn.off === 1 && !divmod)) {
        this.verbose("BPF_ALU uses reserved fields\n");
        return -Errno.EINVAL;
      }
      err = this.checkRegRead(insn.src);
      if (err) return err;
    } else if (insn.src || (insn.off !== 0 && insn.off !== 1) || (insn.off === 1 && !divmod)) {
      this.verbose("BPF_ALU uses reserved fields\n");
      return -Errno.EINVAL;
    }
    err = this.checkRegRead(insn.dst);
    if (err) return err;
    if (divmod && !x && insn.imm === 0) {
      this.verbose("div by zero\n");
      return -Errno.EINVAL;
    }
    if ((op === 0x60 || op === 0x70 || op === 0xc0) && !x) {
      const size = alu64 ? 64 : 32;
      if (insn.imm < 0 || insn.imm >= size) {
        this.verbose(`invalid shift ${insn.imm}\n`);
        return -Errno.EINVAL;
      }
    }
    err = this.checkRegWrite(insn.dst, false);
    if (err) return err;
    return this.adjustRegMinMaxVals(insn);
  }

  /** adjust_reg_min_max_vals() */
  adjustRegMinMaxVals(insn: Insn): number {
    const regs = this.regs;
    const op = insn.code & 0xf0;
    const alu64 = (insn.code & 7) === 0x07;
    const dst = regs[insn.dst];
    let src: RegState;
    if (insn.code & 8) {
      src = regs[insn.src];
      if (src.type !== RegType.SCALAR_VALUE) {
        if (dst.type !== RegType.SCALAR_VALUE) {
          if (op === 0x10) {
            markRegUnknown(dst);
            return 0;
          }
          this.verbose(`R${insn.dst} pointer ${ALU_STR[op >> 4]} pointer prohibited\n`);
          return -Errno.EACCES;
        }
        this.markPrecise(1 << insn.dst, []);
        return this.adjustPtrMinMaxVals(insn, src, dst, true);
      }
      if (dst.type !== RegType.SCALAR_VALUE) {
        this.markPrecise(1 << insn.src, []);
        return this.adjustPtrMinMaxVals(insn, dst, src, false);
      }
    } else {
      src = new RegState();
      markRegConst(src, BigInt(insn.imm));
      if (dst.type !== RegType.SCALAR_VALUE) return this.adjustPtrMinMaxVals(insn, dst, src, false);
    }
    adjustScalar(dst, src.clone(), op, !alu64);
    dst.id = 0;
    return 0;
  }

  /** check_reg_sane_offset() */
  saneOffset(reg: RegState, type: number): boolean {
    const known = tnumIsConst(reg.varOff);
    const val = BigInt.asIntN(64, reg.varOff.value);
    const lim = BigInt(BPF_MAX_VAR_OFF);
    if (known && (val >= lim || val <= -lim)) {
      this.verbose(`math between ${regTypeStr(type)} pointer and ${val} is not allowed\n`);
      return false;
    }
    if (reg.off >= BPF_MAX_VAR_OFF || reg.off <= -BPF_MAX_VAR_OFF) {
      this.verbose(`${regTypeStr(type)} pointer offset ${reg.off} is not allowed\n`);
      return false;
    }
    if (reg.smin === S64_MIN) {
      this.verbose(
        `math between ${regTypeStr(type)} pointer and register with unbounded min value is not allowed\n`,
      );
      return false;
    }
    if (reg.smin >= lim || reg.smin <= -lim) {
      this.verbose(`value ${reg.smin} makes ${regTypeStr(type)} pointer be out of bounds\n`);
      return false;
    }
    return true;
  }

  /** adjust_ptr_min_max_vals(): pointer +/- scalar. */
  adjustPtrMinMaxVals(insn: Insn, ptr: RegState, offReg: RegState, scalarIsDst: boolean): number {
    const dstno = insn.dst;
    const dst = this.regs[dstno];
    const op = insn.code & 0xf0;
    const known = tnumIsConst(offReg.varOff);
    const sminVal = offReg.smin;
    const smaxVal = offReg.smax;
    const uminVal = offReg.umin;
    const umaxVal = offReg.umax;
    if (
      (known && (sminVal !== smaxVal || uminVal !== umaxVal)) ||
      sminVal > smaxVal ||
      uminVal > umaxVal
    ) {
      markRegUnknown(dst);
      return 0;
    }
    if ((insn.code & 7) !== 0x07) {
      if (op === 0x10) {
        markRegUnknown(dst);
        return 0;
      }
      this.verbose(`R${dstno} 32-bit pointer arithmetic prohibited\n`);
      return -Errno.EACCES;
    }
    if (ptr.type & PTR_MAYBE_NULL) {
      this.verbose(
        `R${dstno} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited, null-check it first\n`,
      );
      return -Errno.EACCES;
    }
    switch (baseType(ptr.type)) {
      case RegType.PTR_TO_CTX:
      case RegType.PTR_TO_MAP_VALUE:
      case RegType.PTR_TO_MAP_KEY:
      case RegType.PTR_TO_STACK:
      case RegType.PTR_TO_PACKET_META:
      case RegType.PTR_TO_PACKET:
      case RegType.PTR_TO_TP_BUFFER:
      case RegType.PTR_TO_BTF_ID:
      case RegType.PTR_TO_MEM:
      case RegType.PTR_TO_BUF:
      case RegType.PTR_TO_FUNC:
        break;
      case RegType.CONST_PTR_TO_MAP:
        if (known && sminVal === 0n && op === 0x00) break;
        this.verbose(`R${dstno} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited\n`);
        return -Errno.EACCES;
      default:
        this.verbose(`R${dstno} pointer arithmetic on ${regTypeStr(ptr.type)} prohibited\n`);
        return -Errno.EACCES;
    }
    const p = ptr.clone();
    const o = offReg.clone();
    dst.type = p.type;
    dst.id = p.id;
    if (!this.saneOffset(o, p.type) || !this.saneOffset(p, p.type)) return -Errno.EINVAL;
    markReg32Unbounded(dst);
    const fitsS32 = (v: bigint) => v === BigInt.asIntN(32, v);
    switch (op) {
      case 0x00:
        if (known && fitsS32(BigInt(p.off) + sminVal)) {
          dst.smin = p.smin;
          dst.smax = p.smax;
          dst.umin = p.umin;
          dst.umax = p.umax;
          dst.varOff = p.varOff;
          dst.off = p.off + Number(sminVal);
          dst.range = p.range;
          dst.map = p.map;
          dst.frameno = p.frameno;
          break;
        }
        {
          const a = p.smin + sminVal;
          const b = p.smax + smaxVal;
          if (a !== BigInt.asIntN(64, a) || b !== BigInt.asIntN(64, b)) {
            dst.smin = S64_MIN;
            dst.smax = (1n << 63n) - 1n;
          } else {
            dst.smin = a;
            dst.smax = b;
          }
          const c = p.umin + uminVal;
          const d = p.umax + umaxVal;
          if (c !== BigInt.asUintN(64, c) || d !== BigInt.asUintN(64, d)) {
            dst.umin = 0n;
            dst.umax = (1n << 64n) - 1n;
          } else {
            dst.umin = c;
            dst.umax = d;
          }
          dst.varOff = tnumAdd(p.varOff, o.varOff);
          dst.off = p.off;
          dst.map = p.map;
          dst.frameno = p.frameno;
          dst.range = p.range;
          if (p.type === RegType.PTR_TO_PACKET || p.type === RegType.PTR_TO_PACKET_META) {
            dst.id = ++this.idGen;
            dst.range = 0;
          }
        }
        break;
      case 0x10:
        if (scalarIsDst) {
          this.verbose(`R${dstno} tried to subtract pointer from scalar\n`);
          return -Errno.EACCES;
        }
        if (p.type === RegType.PTR_TO_STACK) {
          this.verbose(`R${dstno} subtraction from stack pointer prohibited\n`);
          return -Errno.EACCES;
        }
        if (known && fitsS32(BigInt(p.off) - sminVal)) {
          dst.smin = p.smin;
          dst.smax = p.smax;
          dst.umin = p.umin;
          dst.umax = p.umax;
          dst.varOff = p.varOff;
          dst.id = p.id;
          dst.off = p.off - Number(sminVal);
          dst.range = p.range;
          dst.map = p.map;
          dst.frameno = p.frameno;
          break;
        }
        {
          const a = p.smin - smaxVal;
          const b = p.smax - sminVal;
          if (a !== BigInt.asIntN(64, a) || b !== BigInt.asIntN(64, b)) {
            dst.smin = S64_MIN;
            dst.smax = (1n << 63n) - 1n;
          } else {
            dst.smin = a;
            dst.smax = b;
          }
          if (p.umin < umaxVal) {
            dst.umin = 0n;
            dst.umax = (1n << 64n) - 1n;
          } else {
            dst.umin = p.umin - umaxVal;
            dst.umax = p.umax - uminVal;
          }
          dst.varOff = tnumSub(p.varOff, o.varOff);
          dst.off = p.off;
          dst.map = p.map;
          dst.frameno = p.frameno;
          dst.range = p.range;
          if (p.type === RegType.PTR_TO_PACKET || p.type === RegType.PTR_TO_PACKET_META) {
            dst.id = ++this.idGen;
            if (sminVal < 0n) dst.range = 0;
          }
        }
        break;
      case 0x50:
      case 0x40:
      case 0xa0:
        this.verbose(`R${dstno} bitwise operator ${ALU_STR[op >> 4]} on pointer prohibited\n`);
        return -Errno.EACCES;
      default:
        this.verbose(`R${dstno} pointer arithmetic with ${ALU_STR[op >> 4]} operator prohibited\n`);
        return -Errno.EACCES;
    }
    if (!this.saneOffset(dst, p.type)) return -Errno.EINVAL;
    regBoundsSync(dst);
    return 0;
  }

  // ---- loads and stores ----

  /** save_aux_ptr_type(): one instruction, one kind of pointer (ctx or not). */
  saveAuxPtrType(type: number): number {
    const prev = this.auxPtrType[this.insnIdx];
    const ctxLike = (t: number) => {
      const b = baseType(t);
      return (
        b === RegType.PTR_TO_CTX ||
        b === RegType.PTR_TO_SOCKET ||
        b === RegType.PTR_TO_SOCK_COMMON ||
        b === RegType.PTR_TO_TCP_SOCK ||
        b === RegType.PTR_TO_XDP_SOCK ||
        b === RegType.PTR_TO_BTF_ID ||
        b === RegType.PTR_TO_ARENA
      );
    };
    if (prev === -1) {
      this.auxPtrType[this.insnIdx] = type;
      return 0;
    }
    if (prev !== type && (ctxLike(type) || ctxLike(prev))) {
      this.verbose("same insn cannot be used with different pointers\n");
      return -Errno.EINVAL;
    }
    return 0;
  }

  checkLdx(insn: Insn): number {
    let err = this.checkRegRead(insn.src);
    if (err) return err;
    err = this.checkRegWrite(insn.dst, false);
    if (err) return err;
    const srcType = this.regs[insn.src].type;
    const size = [4, 2, 1, 8][(insn.code >> 3) & 3];
    const ldsx = (insn.code & 0xe0) === 0x80;
    err = checkMemAccess(this, insn.src, insn.off, size, false, insn.dst, ldsx);
    if (err) return err;
    return this.saveAuxPtrType(srcType);
  }

  checkStx(insn: Insn): number {
    if ((insn.code & 0xe0) === 0xc0) return this.checkAtomic(insn);
    if ((insn.code & 0xe0) !== 0x60 || insn.imm !== 0) {
      this.verbose("BPF_STX uses reserved fields\n");
      return -Errno.EINVAL;
    }
    let err = this.checkRegRead(insn.src);
    if (err) return err;
    err = this.checkRegRead(insn.dst);
    if (err) return err;
    const dstType = this.regs[insn.dst].type;
    const size = [4, 2, 1, 8][(insn.code >> 3) & 3];
    err = checkMemAccess(this, insn.dst, insn.off, size, true, insn.src, false);
    if (err) return err;
    return this.saveAuxPtrType(dstType);
  }

  checkSt(insn: Insn): number {
    if ((insn.code & 0xe0) !== 0x60 || insn.src !== 0) {
      this.verbose("BPF_ST uses reserved fields\n");
      return -Errno.EINVAL;
    }
    let err = this.checkRegRead(insn.dst);
    if (err) return err;
    const dstType = this.regs[insn.dst].type;
    const size = [4, 2, 1, 8][(insn.code >> 3) & 3];
    err = checkMemAccess(this, insn.dst, insn.off, size, true, -1, false, insn.imm);
    if (err) return err;
    return this.saveAuxPtrType(dstType);
  }

  /** check_atomic() for the read-modify-write operations. */
  checkAtomic(insn: Insn): number {
    const size = [4, 2, 1, 8][(insn.code >> 3) & 3];
    const ops = [0x00, 0x01, 0x40, 0x41, 0x50, 0x51, 0xa0, 0xa1, 0xe1, 0xf1];
    if (!ops.includes(insn.imm)) {
      this.verbose(
        `BPF_ATOMIC uses invalid atomic opcode ${(insn.imm & 0xff).toString(16).padStart(2, "0")}\n`,
      );
      return -Errno.EINVAL;
    }
    if (size !== 4 && size !== 8) {
      this.verbose("invalid atomic operand size\n");
      return -Errno.EINVAL;
    }
    let err = this.checkRegRead(insn.src);
    if (err) return err;
    err = this.checkRegRead(insn.dst);
    if (err) return err;
    if (insn.imm === 0xf1) {
      err = this.checkRegRead(0);
      if (err) return err;
    }
    const dst = this.regs[insn.dst];
    const b = baseType(dst.type);
    if (
      b === RegType.PTR_TO_CTX ||
      b === RegType.PTR_TO_PACKET ||
      b === RegType.PTR_TO_PACKET_META ||
      b === RegType.PTR_TO_FLOW_KEYS
    ) {
      this.verbose(`BPF_ATOMIC stores into R${insn.dst} ${regTypeStr(dst.type)} is not allowed\n`);
      return -Errno.EACCES;
    }
    const fetch = (insn.imm & 1) !== 0;
    const loadReg = insn.imm === 0xf1 ? 0 : fetch ? insn.src : -1;
    err = checkMemAccess(this, insn.dst, insn.off, size, false, loadReg, false, null, true);
    if (err) return err;
    err = checkMemAccess(this, insn.dst, insn.off, size, true, -1, false, null, true);
    if (err) return err;
    return 0;
  }

  checkLdImm(insn: Insn): number {
    if (insn.off !== 0) {
      this.verbose("BPF_LD_IMM64 uses reserved fields\n");
      return -Errno.EINVAL;
    }
    const err = this.checkRegWrite(insn.dst, true);
    if (err) return err;
    const dst = this.regs[insn.dst];
    if (insn.src === 0) {
      const hi = this.insns[this.insnIdx + 1].imm;
      markRegConst(dst, (BigInt(hi >>> 0) << 32n) | BigInt(insn.imm >>> 0));
      return 0;
    }
    markRegKnownZero(dst);
    if (insn.src === 4) {
      dst.type = RegType.PTR_TO_FUNC;
      dst.subprogno = this.input.subprogs.indexOf(this.insnIdx + insn.imm + 1);
      return 0;
    }
    const ref = this.input.ldImm.get(this.insnIdx);
    if (!ref) {
      this.verbose("unrecognized bpf_ld_imm64 insn\n");
      return -Errno.EINVAL;
    }
    dst.map = ref.map;
    if (ref.off !== undefined) {
      dst.type = RegType.PTR_TO_MAP_VALUE;
      dst.off = ref.off;
    } else dst.type = RegType.CONST_PTR_TO_MAP;
    return 0;
  }

  /** check_ld_abs(): legacy packet loads. */
  checkLdAbs(insn: Insn): number {
    const mode = insn.code & 0xe0;
    if (!mayAccessSkb(this.progType)) {
      this.verbose("BPF_LD_[ABS|IND] instructions not allowed for this program type\n");
      return -Errno.EINVAL;
    }
    if (
      insn.dst !== 0 ||
      insn.off !== 0 ||
      (insn.code & 0x18) === 0x18 ||
      (mode === 0x20 && insn.src !== 0)
    ) {
      this.verbose("BPF_LD_[ABS|IND] uses reserved fields\n");
      return -Errno.EINVAL;
    }
    let err = this.checkRegRead(6);
    if (err) return err;
    const r6 = this.regs[6];
    if (r6.type !== RegType.PTR_TO_CTX) {
      this.verbose("at the time of BPF_LD_ABS|IND R6 != pointer to skb\n");
      return -Errno.EINVAL;
    }
    if (mode === 0x40) {
      err = this.checkRegRead(insn.src);
      if (err) return err;
    }
    err = checkPtrOffReg(this, r6, 6);
    if (err) return err;
    for (let i = 0; i <= 5; i++) {
      markRegNotInit(this.regs[i]);
      this.scratch(i);
    }
    markRegUnknown(this.regs[0]);
    return 0;
  }

  // ---- calls ----

  checkCall(insn: Insn): { err: number; jumped?: boolean } {
    if (
      insn.code & 8 ||
      (insn.src !== 2 && insn.off !== 0) ||
      (insn.src !== 0 && insn.src !== 1 && insn.src !== 2) ||
      insn.dst !== 0 ||
      (insn.code & 7) === 6
    ) {
      this.verbose("BPF_CALL uses reserved fields\n");
      return { err: -Errno.EINVAL };
    }
    if (insn.src === 1) return this.checkFuncCall(insn);
    if (insn.src === 2) {
      if (insn.off === 0 && this.input.kfuncs?.has(insn.imm)) {
        for (let i = 0; i <= 5; i++) {
          markRegNotInit(this.regs[i]);
          this.scratch(i);
        }
        markRegUnknown(this.regs[0]);
        return { err: 0 };
      }
      this.verbose(`kernel btf_id ${insn.imm} is not a function\n`);
      return { err: -Errno.EINVAL };
    }
    const id = insn.imm;
    if (id < 0 || id >= BPF_FUNC_MAX_ID) {
      this.verbose(`invalid func ${helperName(id)}#${id}\n`);
      return { err: -Errno.EINVAL };
    }
    const proto = helperAllowed(this.progType, this.sleepable, id, this.input.caps)
      ? HELPER_PROTOS[id]
      : undefined;
    const err = checkHelperCall(this, id, proto);
    if (err) return { err };
    for (let i = 0; i <= 5; i++) this.scratch(i);
    regBoundsSync(this.regs[0]);
    return { err: 0 };
  }

  checkFuncCall(insn: Insn): { err: number; jumped?: boolean } {
    const st = this.cur;
    if (st.curframe + 1 >= MAX_CALL_FRAMES) {
      this.verbose(`the call stack of ${st.curframe + 2} frames is too deep\n`);
      return { err: -Errno.E2BIG };
    }
    const target = this.insnIdx + insn.imm + 1;
    const caller = st.cur;
    const callee = new FuncState(st.curframe + 1, this.input.subprogs.indexOf(target));
    callee.callsite = this.insnIdx;
    for (let i = 0; i < MAX_BPF_REG; i++) {
      const r = new RegState();
      if (i >= 1 && i <= 5) r.copyFrom(caller.regs[i]);
      callee.regs.push(r);
    }
    markRegKnownZero(callee.regs[BPF_REG_FP]);
    callee.regs[BPF_REG_FP].type = RegType.PTR_TO_STACK;
    callee.regs[BPF_REG_FP].frameno = callee.frameno;
    for (let i = 0; i <= 5; i++) markRegNotInit(caller.regs[i]);
    st.frame.push(callee);
    st.curframe++;
    if (this.input.logLevel) {
      this.out.append(
        `caller:\n ${frameStr(caller, null, true)}\ncallee:\n ${frameStr(callee, null, true)}\n`,
      );
    }
    this.insnIdx = target;
    return { err: 0, jumped: true };
  }

  /** prepare_func_exit() */
  prepareFuncExit(): number {
    const st = this.cur;
    const callee = st.cur;
    const r0 = callee.regs[0];
    if (r0.type === RegType.PTR_TO_STACK) {
      this.verbose("cannot return stack pointer to the caller\n");
      return -Errno.EINVAL;
    }
    const caller = st.frame[st.curframe - 1];
    caller.regs[0].copyFrom(r0);
    this.insnIdx = callee.callsite + 1;
    st.frame.pop();
    st.curframe--;
    if (this.input.logLevel) {
      this.out.append(
        `returning from callee:\n ${frameStr(callee, null, true)}\nto caller at ${this.insnIdx}:\n ${frameStr(caller, null, true)}\n`,
      );
    }
    return 0;
  }

  // ---- conditional jumps ----

  isBranchTaken(r1: RegState, r2: RegState, opIn: number, is32: boolean): number {
    let op = opIn;
    const pkt = (r: RegState) =>
      r.type === RegType.PTR_TO_PACKET ||
      r.type === RegType.PTR_TO_PACKET_META ||
      r.type === RegType.PTR_TO_PACKET_END;
    if (pkt(r1) && pkt(r2) && !is32) {
      let p: RegState;
      if (r2.type === RegType.PTR_TO_PACKET_END) p = r1;
      else if (r1.type === RegType.PTR_TO_PACKET_END) {
        p = r2;
        op = flipOpcode(op);
      } else return -1;
      if (p.range >= 0) return -1;
      switch (op) {
        case 0xb0:
        case 0x20:
          if (p.range === BEYOND_PKT_END) return op === 0x20 ? 1 : 0;
          break;
        case 0xa0:
        case 0x30:
          if (p.range === BEYOND_PKT_END || p.range === AT_PKT_END) return op === 0x30 ? 1 : 0;
          break;
      }
      return -1;
    }
    const isPtr = (r: RegState) => r.type !== RegType.SCALAR_VALUE;
    if (isPtr(r1) || isPtr(r2)) {
      let a = r1;
      let b = r2;
      if (!isRegConst(b, is32)) {
        op = flipOpcode(op);
        [a, b] = [b, a];
      }
      if (!isRegConst(b, is32)) return -1;
      if (a.type & PTR_MAYBE_NULL || a.type === RegType.SCALAR_VALUE) return -1;
      if (!this.regNotNull(a)) return -1;
      if (regConstValue(b, is32) !== 0n) return -1;
      if (op === 0x10) return 0;
      if (op === 0x50) return 1;
      return -1;
    }
    return isScalarBranchTaken(r1, r2, op, is32);
  }

  /** reg_not_null(): only these pointer types are known non-NULL (not ctx, stack or packet). */
  regNotNull(r: RegState): boolean {
    if (typeMayBeNull(r.type)) return false;
    const t = baseType(r.type);
    return (
      t === RegType.PTR_TO_SOCKET ||
      t === RegType.PTR_TO_TCP_SOCK ||
      t === RegType.PTR_TO_MAP_VALUE ||
      t === RegType.PTR_TO_MAP_KEY ||
      t === RegType.PTR_TO_SOCK_COMMON ||
      t === RegType.PTR_TO_MEM ||
      t === RegType.CONST_PTR_TO_MAP
    );
  }

  findGoodPktPointers(st: VerifierState, dst: RegState, type: number, rightOpen: boolean): void {
    if (dst.off < 0 || (dst.off === 0 && rightOpen)) return;
    if (dst.umax > BigInt(MAX_PACKET_OFF) || dst.umax + BigInt(dst.off) > BigInt(MAX_PACKET_OFF))
      return;
    const newRange = dst.off + (rightOpen ? 1 : 0);
    const id = dst.id;
    for (const r of st.allRegs())
      if (r.type === type && r.id === id) r.range = Math.max(r.range, newRange);
  }

  markPktEnd(st: VerifierState, regno: number, open: boolean): void {
    const r = st.cur.regs[regno];
    if (r.type !== RegType.PTR_TO_PACKET) return;
    r.range = open ? BEYOND_PKT_END : AT_PKT_END;
  }

  tryMatchPktPointers(
    insn: Insn,
    dst: RegState,
    src: RegState,
    thisB: VerifierState,
    other: VerifierState,
  ): boolean {
    if (!(insn.code & 8) || (insn.code & 7) === 6) return false;
    const op = insn.code & 0xf0;
    const T = RegType;
    const initPkt = (r: RegState) =>
      r.type === T.PTR_TO_PACKET && r.off === 0 && tnumEqualsConst(r.varOff, 0n);
    const left =
      (dst.type === T.PTR_TO_PACKET && src.type === T.PTR_TO_PACKET_END) ||
      (dst.type === T.PTR_TO_PACKET_META && initPkt(src));
    const right =
      (dst.type === T.PTR_TO_PACKET_END && src.type === T.PTR_TO_PACKET) ||
      (initPkt(dst) && src.type === T.PTR_TO_PACKET_META);
    // try_match_pkt_pointers(): per comparison, the branch in which `pkt <op> pkt_end` leaves
    // the packet range proven (`inThis`) and whether the bound is open; `pkt_end <op> pkt`
    // (right) is the same with the branches swapped and the flags flipped.
    const rule = PKT_COMPARE_RULES[op];
    if (!rule || (!left && !right)) return false;
    const first = rule.inThis ? thisB : other;
    const second = rule.inThis ? other : thisB;
    if (left) {
      this.findGoodPktPointers(first, dst, dst.type, rule.open);
      this.markPktEnd(second, insn.dst, !rule.open);
    } else {
      this.findGoodPktPointers(second, src, src.type, !rule.open);
      this.markPktEnd(first, insn.src, rule.open);
    }
    return true;
  }

  markPtrOrNullRegs(st: VerifierState, regno: number, isNull: boolean): void {
    const id = st.cur.regs[regno].id;
    for (const r of st.allRegs()) {
      if (!typeMayBeNull(r.type) || r.id !== id) continue;
      if (isNull) {
        const frameno = r.frameno;
        markRegConst(r, 0n);
        r.frameno = frameno;
      } else {
        markPtrNotNullReg(r);
        r.id = 0;
      }
    }
  }

  syncLinkedRegs(st: VerifierState, known: RegState): void {
    if (known.type !== RegType.SCALAR_VALUE || !known.id) return;
    for (const r of st.allRegs()) {
      if (r === known || r.type !== RegType.SCALAR_VALUE || r.id !== known.id) continue;
      const frameno = r.frameno;
      r.copyFrom(known);
      r.frameno = frameno;
    }
  }

  /** check_cond_jmp_op(): returns 0 or -errno; updates insnIdx for a decided jump. */
  checkCondJmp(insn: Insn): number {
    const op = insn.code & 0xf0;
    const is32 = (insn.code & 7) === 6;
    if (op === 0x00 || op > 0xd0) {
      this.verbose(`invalid BPF_JMP/JMP32 opcode ${(op >> 4).toString(16)}\n`);
      return -Errno.EINVAL;
    }
    let err = this.checkRegRead(insn.dst);
    if (err) return err;
    const regs = this.regs;
    const dst = regs[insn.dst];
    let src: RegState;
    if (insn.code & 8) {
      if (insn.imm !== 0) {
        this.verbose("BPF_JMP/JMP32 uses reserved fields\n");
        return -Errno.EINVAL;
      }
      err = this.checkRegRead(insn.src);
      if (err) return err;
      src = regs[insn.src];
    } else {
      if (insn.src !== 0) {
        this.verbose("BPF_JMP/JMP32 uses reserved fields\n");
        return -Errno.EINVAL;
      }
      src = new RegState();
      markRegConst(src, BigInt(insn.imm));
    }
    const pred = this.isBranchTaken(dst, src, op, is32);
    if (pred >= 0) {
      let m = 0;
      if (dst.type === RegType.SCALAR_VALUE) m |= 1 << insn.dst;
      if (insn.code & 8 && src.type === RegType.SCALAR_VALUE) m |= 1 << insn.src;
      if (m) this.markPrecise(m, []);
    }
    if (pred === 1) {
      if (this.input.logLevel) this.printInsnState();
      this.insnIdx += insn.off;
      return 0;
    }
    if (pred === 0) {
      if (this.input.logLevel) this.printInsnState();
      return 0;
    }
    const other = this.pushStack(this.insnIdx + insn.off + 1, this.insnIdx);
    if (typeof other === "number") return other;
    const oregs = other.cur.regs;
    if (insn.code & 8) {
      regSetMinMax(oregs[insn.dst], oregs[insn.src], dst, src, op, is32);
    } else {
      const fake1 = src.clone();
      regSetMinMax(oregs[insn.dst], src, dst, fake1, op, is32);
    }
    if (insn.code & 8 && src.type === RegType.SCALAR_VALUE && src.id) {
      this.syncLinkedRegs(this.cur, src);
      this.syncLinkedRegs(other, oregs[insn.src]);
    }
    if (dst.type === RegType.SCALAR_VALUE && dst.id) {
      this.syncLinkedRegs(this.cur, dst);
      this.syncLinkedRegs(other, oregs[insn.dst]);
    }
    if (
      !is32 &&
      !(insn.code & 8) &&
      insn.imm === 0 &&
      (op === 0x10 || op === 0x50) &&
      typeMayBeNull(dst.type)
    ) {
      this.markPtrOrNullRegs(this.cur, insn.dst, op === 0x50);
      this.markPtrOrNullRegs(other, insn.dst, op === 0x10);
    } else {
      this.tryMatchPktPointers(insn, dst, src, this.cur, other);
    }
    if (this.input.logLevel) this.printInsnState();
    return 0;
  }

  pushStack(insnIdx: number, prevInsnIdx: number): VerifierState | number {
    const st = this.cur.clone();
    if (st.parent) st.parent.branches++;
    this.pending.push({ state: st, insnIdx, prevInsnIdx, logPos: this.out.length });
    if (this.pending.length > COMPLEXITY_LIMIT_JMP_SEQ) {
      this.verbose(`The sequence of ${this.pending.length} jumps is too complex.\n`);
      return -Errno.E2BIG;
    }
    return st;
  }

  // ---- state equivalence and pruning ----

  regsExact(a: RegState, b: RegState, idmap: Map<number, number>): boolean {
    return (
      a.type === b.type &&
      a.off === b.off &&
      a.varOff.value === b.varOff.value &&
      a.varOff.mask === b.varOff.mask &&
      a.smin === b.smin &&
      a.smax === b.smax &&
      a.umin === b.umin &&
      a.umax === b.umax &&
      a.s32min === b.s32min &&
      a.s32max === b.s32max &&
      a.u32min === b.u32min &&
      a.u32max === b.u32max &&
      a.range === b.range &&
      a.map === b.map &&
      a.frameno === b.frameno &&
      checkIds(a.id, b.id, idmap)
    );
  }

  regsafe(old: RegState, cur: RegState, idmap: Map<number, number>, exact: boolean): boolean {
    if (exact) return this.regsExact(old, cur, idmap);
    if (old.type === RegType.NOT_INIT) return true;
    if (old.type !== cur.type) return false;
    const within = () => rangeWithin(old, cur) && tnumIn(old.varOff, cur.varOff);
    switch (baseType(old.type)) {
      case RegType.SCALAR_VALUE:
        if (!old.precise) return true;
        return checkScalarIds(old.id, cur.id, idmap) && within();
      case RegType.PTR_TO_MAP_VALUE:
      case RegType.PTR_TO_MAP_KEY:
      case RegType.PTR_TO_MEM:
        return (
          old.off === cur.off && old.map === cur.map && within() && checkIds(old.id, cur.id, idmap)
        );
      case RegType.PTR_TO_PACKET:
      case RegType.PTR_TO_PACKET_META:
        if (old.range < 0 || cur.range < 0) {
          if (old.range !== cur.range) return false;
        } else if (old.range > cur.range) return false;
        if (old.off !== cur.off) return false;
        if (!checkIds(old.id, cur.id, idmap)) return false;
        return within();
      case RegType.PTR_TO_STACK:
        return this.regsExact(old, cur, idmap);
      default:
        return this.regsExact(old, cur, idmap);
    }
  }

  stacksafe(
    old: FuncState,
    cur: FuncState,
    idmap: Map<number, number>,
    exact: boolean,
    live: Set<number> | null,
  ): boolean {
    for (let i = 0; i < old.allocatedStack; i++) {
      const spi = Math.floor(i / BPF_REG_SIZE);
      if (live && !live.has(spi)) continue;
      const k = i % BPF_REG_SIZE;
      const os = old.stack[spi];
      const cs = cur.stack[spi];
      const ot = os.slotType[k];
      if (exact && (i >= cur.allocatedStack || ot !== cs.slotType[k])) return false;
      if (ot === Stack.INVALID || ot === Stack.MISC) continue;
      if (i >= cur.allocatedStack) return false;
      const ct = cs.slotType[k];
      if (ot !== ct) return false;
      if (k !== BPF_REG_SIZE - 1) continue;
      if (ot === Stack.SPILL && !this.regsafe(os.spilled, cs.spilled, idmap, exact)) return false;
    }
    return true;
  }

  statesEqual(old: VerifierState, cur: VerifierState, insnIdx: number, exact: boolean): boolean {
    if (old.curframe !== cur.curframe) return false;
    const idmap = new Map<number, number>();
    for (let i = old.curframe; i >= 0; i--) {
      const of = old.frame[i];
      const cf = cur.frame[i];
      if (of.callsite !== cf.callsite) return false;
      const at = i === old.curframe ? insnIdx : old.frame[i + 1].callsite;
      const live = i === old.curframe ? this.live[at] : 0x3ff;
      for (let r = 0; r < MAX_BPF_REG; r++) {
        if (!(live & (1 << r)) && r !== BPF_REG_FP) continue;
        if (!this.regsafe(of.regs[r], cf.regs[r], idmap, exact)) return false;
      }
      const liveSlots = exact || this.stackLivenessOff || i !== 0 ? null : this.liveStack[insnIdx];
      if (!this.stacksafe(of, cf, idmap, exact, liveSlots)) return false;
    }
    return true;
  }

  statesMaybeLooping(old: VerifierState, cur: VerifierState): boolean {
    if (old.curframe !== cur.curframe) return false;
    const a = old.cur;
    const b = cur.cur;
    const idmap = new Map<number, number>();
    for (let i = 0; i < MAX_BPF_REG; i++)
      if (!this.regsExact(a.regs[i], b.regs[i], idmap) || a.regs[i].id !== b.regs[i].id)
        return false;
    return true;
  }

  /** is_state_visited(): 1 to prune this path, 0 to go on, -errno on an infinite loop. */
  isStateVisited(idx: number): number {
    const list = this.explored.get(idx) ?? [];
    if (list.length) this.updateStackLiveness();
    let addNew =
      this.jmpsProcessed - this.prevJmps >= 2 && this.insnProcessed - this.prevInsns >= 8;
    let statesCnt = 0;
    // newest first, as the kernel's list is
    for (let k = list.length - 1; k >= 0; k--) {
      const sl = list[k];
      statesCnt++;
      if (sl.branches > 0) {
        if (
          this.statesMaybeLooping(sl.state, this.cur) &&
          this.statesEqual(sl.state, this.cur, idx, EXACT)
        ) {
          this.verbose(`infinite loop detected at insn ${idx}\n`);
          this.verbose(`cur state: ${frameStr(this.cur.cur, null, true)}\n`);
          this.verbose(`old state: ${frameStr(sl.state.cur, null, true)}\n`);
          return -Errno.EINVAL;
        }
        if (this.jmpsProcessed - this.prevJmps < 20 && this.insnProcessed - this.prevInsns < 100)
          addNew = false;
      } else if (this.statesEqual(sl.state, this.cur, idx, false)) {
        sl.hit++;
        this.propagatePrecision(sl.state, idx);
        return 1;
      }
      // miss: a state that keeps missing is dropped from the list
      if (addNew) sl.miss++;
      if (sl.miss > sl.hit * 3 + 3) {
        list.splice(k, 1);
        this.curStates--;
      }
    }
    this.maxStatesPerInsn = Math.max(this.maxStatesPerInsn, statesCnt);
    if (!addNew) return 0;
    this.prevJmps = this.jmpsProcessed;
    this.prevInsns = this.insnProcessed;
    this.totalStates++;
    this.curStates++;
    this.peakStates = Math.max(this.peakStates, this.curStates);
    const cp: Checkpoint = {
      state: this.cur.clone(),
      insnIdx: idx,
      parent: this.cur.parent,
      branches: 1,
      hit: 0,
      miss: 0,
    };
    list.push(cp);
    this.explored.set(idx, list);
    // maybe_enter_scc(): the first checkpoint inside a loop opens a visit of it
    const scc = this.scc[idx];
    if (scc && !this.sccVisits.has(scc)) {
      this.sccVisits.set(scc, cp);
      if (this.input.logLevel & 2) this.out.append(`SCC enter (${scc})\n`);
    }
    this.cur.parent = cp;
    this.cur.history = [];
    return 0;
  }

  updateBranchCounts(): void {
    let p = this.cur.parent;
    while (p) {
      p.branches--;
      if (p.branches > 0) break;
      const v = this.sccVisits.get(this.scc[p.insnIdx]);
      if (v === p) {
        this.sccVisits.delete(this.scc[p.insnIdx]);
        if (this.input.logLevel & 2) this.out.append(`SCC exit (${this.scc[p.insnIdx]})\n`);
      }
      p = p.parent;
    }
  }

  // ---- the walk ----

  initialState(): void {
    const f = new FuncState(0, 0);
    for (let i = 0; i < MAX_BPF_REG; i++) f.regs.push(new RegState());
    markRegKnownZero(f.regs[1]);
    f.regs[1].type = RegType.PTR_TO_CTX;
    markRegKnownZero(f.regs[BPF_REG_FP]);
    f.regs[BPF_REG_FP].type = RegType.PTR_TO_STACK;
    this.cur.frame = [f];
    this.cur.curframe = 0;
    for (const r of f.regs) r.frameno = 0;
  }

  run(): number {
    let err = this.checkCfg();
    if (err) return err;
    this.useDefs = this.insns.map((_, t) => this.useDef(t));
    this.computeLive();
    this.computeScc();
    if (this.input.logLevel & 2) {
      for (let i = 0; i < this.input.subprogs.length; i++)
        this.out.append(`func#${i} @${this.input.subprogs[i]}\n`);
      this.out.append(this.liveTable());
    }
    this.initialState();
    if (this.input.logLevel) this.scratchAll();
    let doPrintState = false;
    for (;;) {
      if (this.insnIdx >= this.len || this.insnIdx < 0) {
        this.verbose(`invalid insn idx ${this.insnIdx} insn_cnt ${this.len}\n`);
        return -Errno.EFAULT;
      }
      const insn = this.insns[this.insnIdx];
      if (++this.insnProcessed > Limits.COMPLEXITY_LIMIT_INSNS) {
        this.verbose(`BPF program is too large. Processed ${this.insnProcessed} insn\n`);
        return -Errno.E2BIG;
      }
      let exitPath = false;
      if (this.prune[this.insnIdx]) {
        err = this.isStateVisited(this.insnIdx);
        if (err < 0) return err;
        if (err === 1) {
          if (this.input.logLevel) {
            if (doPrintState && this.input.logLevel & 2)
              this.out.append(`\nfrom ${this.prevInsnIdx} to ${this.insnIdx}: safe\n`);
            else this.out.append(`${this.insnIdx}: safe\n`);
          }
          exitPath = true;
        }
      }
      if (!exitPath) {
        if (this.input.logLevel & 2 && doPrintState) {
          this.out.append(
            `\nfrom ${this.prevInsnIdx} to ${this.insnIdx}: ${this.stateStr(true)}\n`,
          );
          doPrintState = false;
        }
        if (this.input.logLevel) {
          this.printInsnState();
          this.prevLogPos = this.out.length;
          this.out.append(`${this.insnIdx}: ${this.text.get(this.insnIdx) ?? ""}\n`);
          this.prevInsnPrintPos = this.out.length - this.prevLogPos;
          this.prevLogPos = this.out.length;
        }
        this.cur.history.push({ idx: this.insnIdx, spi: -1 });
        const at = this.insnIdx;
        const r = this.doCheckInsn(insn);
        this.finishStackDefs(at);
        if (r.err) return r.err;
        if (r.printState) doPrintState = true;
        exitPath = r.exit === true;
        if (!exitPath && !r.jumped) this.insnIdx += insn.code === 0x18 ? 2 : 1;
      }
      if (exitPath) {
        this.scratchAll();
        this.updateBranchCounts();
        const next = this.pending.pop();
        if (!next) break;
        this.cur = next.state;
        this.prevInsnIdx = next.prevInsnIdx;
        this.insnIdx = next.insnIdx;
        if (this.input.logLevel && !(this.input.logLevel & 2)) this.out.truncate(next.logPos);
        doPrintState = true;
      }
    }
    return 0;
  }

  doCheckInsn(insn: Insn): { err: number; jumped?: boolean; exit?: boolean; printState?: boolean } {
    const cls = insn.code & 7;
    const idx = this.insnIdx;
    this.prevInsnIdx = idx;
    switch (cls) {
      case 0x04:
      case 0x07:
        return { err: this.checkAlu(insn) };
      case 0x01:
        return { err: this.checkLdx(insn) };
      case 0x03:
        return { err: this.checkStx(insn) };
      case 0x02:
        return { err: this.checkSt(insn) };
      case 0x00: {
        const mode = insn.code & 0xe0;
        if (mode === 0x20 || mode === 0x40) return { err: this.checkLdAbs(insn) };
        if (insn.code !== 0x18) {
          this.verbose("invalid BPF_LD mode\n");
          return { err: -Errno.EINVAL };
        }
        return { err: this.checkLdImm(insn) };
      }
      default: {
        const op = insn.code & 0xf0;
        this.jmpsProcessed++;
        if (op === 0x80) return this.checkCall(insn);
        if (op === 0x00) {
          if (
            insn.code & 8 ||
            insn.src ||
            insn.dst ||
            (cls === 5 && insn.imm !== 0) ||
            (cls === 6 && insn.off !== 0)
          ) {
            this.verbose("BPF_JA uses reserved fields\n");
            return { err: -Errno.EINVAL };
          }
          this.insnIdx += (cls === 5 ? insn.off : insn.imm) + 1;
          return { err: 0, jumped: true };
        }
        if (op === 0x90) {
          if (insn.code & 8 || insn.imm || insn.src || insn.dst || cls === 6) {
            this.verbose("BPF_EXIT uses reserved fields\n");
            return { err: -Errno.EINVAL };
          }
          if (this.cur.curframe) {
            const err = this.prepareFuncExit();
            return { err, jumped: true, printState: true };
          }
          const err = this.checkRegRead(0);
          if (err) return { err };
          return { err: 0, exit: true };
        }
        const before = this.insnIdx;
        const err = this.checkCondJmp(insn);
        if (err) return { err };
        if (this.insnIdx !== before) {
          this.insnIdx += 1;
          return { err: 0, jumped: true };
        }
        return { err: 0 };
      }
    }
  }
}

/**
 * mark_ptr_not_null_reg(): the pointer a null check proved non-null. A value of an outer map
 * (ARRAY_OF_MAPS / HASH_OF_MAPS) is an inner map: the register becomes a map pointer whose map
 * is the outer map's inner map template, which a second bpf_map_lookup_elem can then name.
 */
function markPtrNotNullReg(r: RegState): void {
  if (baseType(r.type) === RegType.PTR_TO_MAP_VALUE && r.map?.innerMeta) {
    r.type = RegType.CONST_PTR_TO_MAP;
    r.map = innerMapMeta(r.map);
    return;
  }
  r.type &= ~PTR_MAYBE_NULL;
}

const INNER_META = new WeakMap<BpfMap, BpfMap>();

/**
 * map->inner_map_meta: the kernel's bpf_map_meta_alloc() copies the template map's type, sizes,
 * flags and max_entries (and an array's elem_size and index_mask) into a map of its own, one per
 * outer map, without a name (the log shows `map_ptr(ks=4,vs=4)`). The model's outer map keeps
 * the template map itself: the meta is a view of it with an empty name.
 */
function innerMapMeta(outer: BpfMap): BpfMap {
  const template = outer.innerMeta;
  if (!template) throw new Error(`map ${outer.name} has no inner map template`);
  let meta = INNER_META.get(outer);
  if (!meta) {
    meta = Object.create(template, { name: { value: "" } }) as BpfMap;
    INNER_META.set(outer, meta);
  }
  return meta;
}

function checkIds(oldId: number, curId: number, idmap: Map<number, number>): boolean {
  if (!!oldId !== !!curId) return false;
  if (!oldId) return true;
  const m = idmap.get(oldId);
  if (m !== undefined) return m === curId;
  for (const v of idmap.values()) if (v === curId) return false;
  idmap.set(oldId, curId);
  return true;
}

let tmpIdGen = 1 << 30;
/** check_scalar_ids(): scalars without an id are unique. */
function checkScalarIds(oldId: number, curId: number, idmap: Map<number, number>): boolean {
  const a = oldId || ++tmpIdGen;
  const b = curId || ++tmpIdGen;
  return checkIds(a, b, idmap);
}

/** Runs the analysis; the caller appends the statistics line. */
function doCheck(input: DoCheckInput): DoCheckResult {
  const a = new Analysis(input);
  const err = a.run();
  const maxStates = a.maxStatesPerInsn;
  return {
    err,
    log: a.out.toString(),
    insnProcessed: a.insnProcessed,
    maxStatesPerInsn: maxStates,
    totalStates: a.totalStates,
    peakStates: a.peakStates,
    maxCtxOffset: a.maxCtxOffset,
    callMaps: a.callMaps,
  };
}

/** Subprogram starts: 0 and every bpf-to-bpf call or BPF_PSEUDO_FUNC target. */
function subprogStarts(insns: Uint8Array): number[] {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const n = insns.length / 8;
  const starts = new Set<number>([0]);
  for (let i = 0; i < n; i++) {
    const code = insns[i * 8];
    const src = insns[i * 8 + 1] >> 4;
    const imm = dv.getInt32(i * 8 + 4, true);
    if ((code === 0x85 && src === 1) || (code === 0x18 && src === 4)) starts.add(i + imm + 1);
    if (code === 0x18) i++;
  }
  return [...starts].sort((a, b) => a - b);
}

const STATS = new WeakMap<object, DoCheckResult>();

/**
 * The hook bpf_check() calls after the structural checks: runs the analysis for `env`'s
 * program, writes its log, and returns 0 or -errno.
 */
export function runDoCheck(env: VerifierEnv): number {
  const { prog, attr, ctx } = env;
  const input = {
    insns: prog.insnsi,
    progType: prog.type,
    sleepable: prog.sleepable,
    gplCompatible: prog.gpl_compatible,
    ldImm: env.ldImm,
    logLevel: env.log.needed ? attr.log_level : 0,
    caps: ctx.proc.caps,
    subprogs: subprogStarts(prog.insnsi),
    kfuncs: env.kfuncs,
  };
  const r = doCheck(input);
  STATS.set(env, r);
  // a successful load at log_level 1 keeps no trace, only the statistics line
  if (r.log && (r.err || attr.log_level & 2)) env.log.verbose(r.log);
  // a failed load the model keeps a log of (a loader's inner load): the analysis again, logged
  if (r.err && !env.log.needed && env.log.keep)
    env.log.verbose(doCheck({ ...input, logLevel: 1 }).log);
  env.insn_processed = r.insnProcessed;
  if (!r.err) prog.aux.max_ctx_offset = r.maxCtxOffset;
  return r.err;
}

/** The map each helper call of `env`'s program names, as do_check recorded it (null: poisoned). */
export function callMapsOf(env: VerifierEnv): ReadonlyMap<number, BpfMap | null> | undefined {
  return STATS.get(env)?.callMaps;
}

/** The final statistics line for `env` ("processed N insns ..."). */
export function statsLine(env: VerifierEnv): string {
  const r = STATS.get(env);
  const n = r ? r.insnProcessed : env.insn_processed;
  return `processed ${n} insns (limit ${Limits.COMPLEXITY_LIMIT_INSNS}) max_states_per_insn ${r?.maxStatesPerInsn ?? 0} total_states ${r?.totalStates ?? 0} peak_states ${r?.peakStates ?? 0} mark_read 0\n`;
}
