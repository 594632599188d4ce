// The unit suites' view of the rules: what comparing two stream configs on a
// server version plans, field by field.
import assert from "node:assert/strict";
import { compare, type FieldChange } from "../../providers/plan.ts";
import { type StreamConfig, type Version } from "../../providers/rules.ts";

export const BASE: StreamConfig = { name: "S", subjects: ["s.>"] };

/** The changes from `have` to `want` (both on top of BASE) on `version`. */
export function changes(have: Partial<StreamConfig>, want: Partial<StreamConfig>, version: Version): FieldChange[] {
    return compare({ ...BASE, ...want }, { ...BASE, ...have }, version);
}

/** The single change from `have` to `want`, asserting nothing else differs. */
export function only(have: Partial<StreamConfig>, want: Partial<StreamConfig>, version: Version): FieldChange {
    const all = changes(have, want, version);
    assert.equal(all.length, 1, `one change expected: ${JSON.stringify(all)}`);
    return all[0];
}
