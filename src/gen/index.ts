/**
 * Generating light skeletons: {@link genSkeleton} (object → loader → signed header, as
 * `bpftool gen skeleton -L [-S]` with the signing series), the gen_loader port ({@link BpfGen},
 * an `ObjectLoadOps` back-end of the object load walker) and the header writer
 * ({@link writeSpecSkeleton}).
 */
export {
  BpfGen,
  type BpfGenOptions,
  GEN_ERRORS,
  type GenErrorCode,
  GenLoaderError,
} from "./gen_loader.js";
export {
  type GeneratedSkeleton,
  type GenSkeletonOptions,
  genSkeleton,
  type SkeletonSigning,
} from "./skeleton.js";
export {
  type LightSkeletonSpec,
  LightSkeletonSpecError,
  type LskelDatasec,
  type LskelDatasecVar,
  type LskelMap,
  type LskelProg,
  lightSkeletonHeaderGuard,
  mapIdent,
  objectNameFromFile,
  writeSpecSkeleton,
} from "./skeleton_header.js";
