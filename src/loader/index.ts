/**
 * The loader ("bpfsign/loader"): `bpf_load_and_run()` over any backend, the loader ctx codec,
 * what a loader installed, and the metadata blob's records read off the loader's instructions;
 * attaching programs (links), the ring buffer consumer, and what a failed loader was doing.
 */

export { modelKernelSymbols } from "../kernel/model_symbols.js";
export {
  type LoaderSyscall,
  type MetadataLayout,
  type MetadataRegion,
  metadataLayout,
  type RegionKind,
} from "../skeleton/metadata_layout.js";
export { type AttachedLink, attachProgram } from "./attach.js";
export {
  BPF_SKEL_KERNEL,
  decodeLoaderCtx,
  encodeLoaderCtx,
  type LoaderCtxInput,
  type LoaderCtxOutput,
  type MapDescInput,
} from "./ctx.js";
export { describeInnerFailure } from "./inner_failure.js";
export {
  describeInstalled,
  type Installed,
  type InstalledMap,
  type InstalledProg,
} from "./installed.js";
export {
  type LoadAndRunOptions,
  type LoadedMap,
  type LoadedSkeleton,
  LoaderError,
  type LoaderImage,
  type LoaderMap,
  LoaderStep,
  type LoaderStepName,
  loadAndRun,
} from "./load_and_run.js";
export { RingBufferConsumer } from "./ringbuf.js";
