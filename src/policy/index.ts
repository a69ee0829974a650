/** The declarative BPF load policy: language, formatter and decision. Pure. */
export * from "./decide.js";
export * from "./errors.js";
export * from "./facts.js";
export * from "./format.js";
export * from "./model.js";
export * from "./names.js";
export * from "./properties.js";
export * from "./syntax.js";
