/**
 * The signed_loader conformance suite on the host kernel, as its own node:test file. It is not a
 * `*.test.ts` file: test/conformance/host.test.ts runs it in a child process and judges each
 * subtest's result (see the allow-list there).
 */
import { signedLoaderSuite } from "../conformance/signed_loader.js";
import { hostTarget } from "./target.js";

signedLoaderSuite(hostTarget);
