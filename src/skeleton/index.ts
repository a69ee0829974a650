/** Light skeletons (`.lskel.h`): reader, writer, and the host-override detector. */

export * from "./errors.js";
export * from "./literal.js";
export * from "./overrides.js";
export * from "./reader.js";
export * from "./skeleton.js";
export * from "./writer.js";
