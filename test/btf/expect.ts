/** Assertion helper of test/btf. */

import assert from "node:assert/strict";
import { BtfError } from "../../src/btf/btf.js";

/** Runs `fn`, which must throw a BtfError with this code and these message fragments. */
export function expectBtfError(fn: () => unknown, code: string, ...inMessage: string[]): BtfError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof BtfError, `expected BtfError, got ${e}`);
    assert.equal(e.code, code, e.message);
    for (const m of inMessage) assert.ok(e.message.includes(m), `"${m}" not in: ${e.message}`);
    return e;
  }
  assert.fail(`expected BtfError ${code}`);
}
