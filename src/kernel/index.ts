/**
 * The model kernel ("bpfsign/kernel"): the kernel object, its profiles, processes, keyrings and
 * LSM hooks. Programs do not run without the interpreter: `createModelKernel()` from
 * "bpfsign/vm" (or the package root) is a ModelKernel with it installed.
 */
export { type KernelOptions, ModelKernel, type TestRunIo, type TestRunner } from "./kernel.js";
export { Key, KeyPerm, KeyringSet, type KeyType } from "./keyring.js";
export { Lsm, type LsmModule } from "./lsm.js";
export { type BpfFile, type Caps, ModelProcess } from "./process.js";
export { type KernelProfile, type ProfileName, profile } from "./profile.js";
