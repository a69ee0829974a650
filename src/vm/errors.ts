/**
 * Why a program stopped abnormally. The kernel's verifier would have refused such a program;
 * the model has no safety analysis, so the interpreter checks at run time and stops instead.
 * Every error names the instruction index it happened at.
 */

/** Codes of the VmError classes, one per class ("VM_ERROR" for the base class itself). */
export type VmErrorCode =
  | "VM_ERROR"
  | "VM_FAULT"
  | "VM_BUDGET_EXCEEDED"
  | "VM_CALL_DEPTH_EXCEEDED"
  | "VM_INVALID_INSN"
  | "VM_UNKNOWN_HELPER";

/** Base class: a program run stopped at instruction `pc`. */
export class VmError extends Error {
  readonly code: VmErrorCode = "VM_ERROR";
  constructor(
    readonly pc: number,
    readonly reason: string,
  ) {
    super(`insn ${pc}: ${reason}`);
    this.name = new.target.name;
  }
}

/** A load, store or atomic touched memory the program may not touch. */
export class VmFault extends VmError {
  override readonly code = "VM_FAULT";
  constructor(
    pc: number,
    readonly addr: bigint,
    readonly size: number,
    readonly access: "read" | "write",
    why: string,
  ) {
    super(
      pc,
      `invalid ${access} of ${size} bytes at 0x${addr.toString(16).padStart(16, "0")}: ${why}`,
    );
  }
}

/** The instruction budget ran out (a runaway program). */
export class VmBudgetExceeded extends VmError {
  override readonly code = "VM_BUDGET_EXCEEDED";
  constructor(
    pc: number,
    readonly budget: number,
  ) {
    super(pc, `instruction budget of ${budget} exhausted`);
  }
}

/** A bpf-to-bpf call would exceed the kernel's MAX_CALL_FRAMES. */
export class VmCallDepthExceeded extends VmError {
  override readonly code = "VM_CALL_DEPTH_EXCEEDED";
  constructor(
    pc: number,
    readonly depth: number,
  ) {
    super(pc, `the call stack of ${depth} frames is too deep`);
  }
}

/** An instruction the interpreter cannot execute (unknown opcode, unresolved pseudo, kfunc). */
export class VmInvalidInsn extends VmError {
  override readonly code = "VM_INVALID_INSN";
  constructor(
    pc: number,
    /** The instruction's opcode byte. */
    readonly opcode: number,
    why: string,
  ) {
    super(pc, `${why} (code 0x${opcode.toString(16).padStart(2, "0")})`);
  }
}

/** A helper call whose id has no implementation in this machine. */
export class VmUnknownHelper extends VmError {
  override readonly code = "VM_UNKNOWN_HELPER";
  constructor(
    pc: number,
    readonly helperId: number,
  ) {
    super(pc, `call to unknown helper #${helperId}`);
  }
}
