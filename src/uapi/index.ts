/**
 * The bpf() surface ("bpfsign/uapi"): the backend interface both kernels implement, the typed
 * client, attr layouts and codecs, errno, and the uapi numbers.
 */
export { type BpfBackend, MapFlags, Prot, type UserMemory } from "./backend.js";
export {
  Bpf,
  type MapCreateOptions,
  type MapInfoValues,
  type ProgInfoValues,
  type ProgLoadOptions,
  type ProgLoadResult,
  type TestRunOptions,
  type TestRunResult,
} from "./bpf.js";
export {
  BPF_F_MMAPABLE,
  BPF_F_RDONLY_PROG,
  BPF_F_SLEEPABLE,
  BPF_PROG_RUN,
  BpfCmd,
  enumName,
  Helper,
  KeyctlOp,
  KeySpec,
  Limits,
  LogLevel,
  MapFlag,
  MapType,
  ProgFlag,
  ProgType,
  Pseudo,
  SigKeyring,
  SigVerdict,
  UpdateFlag,
  VERIFY_USE_BUILTIN_KEYRING,
  VERIFY_USE_PLATFORM_KEYRING,
  VERIFY_USE_SECONDARY_KEYRING,
} from "./constants.js";
export {
  BpfError,
  Errno,
  type ErrnoName,
  errnoName,
  type Failure,
  fail,
  isErr,
  type Outcome,
  ok,
} from "./errno.js";
export {
  decode,
  encode,
  type Field,
  type FieldKind,
  type Layout,
  MapCreateAttr,
  ProgLoadAttr,
  type Values,
} from "./layout.js";
