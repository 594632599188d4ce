// What a replacement does not carry over (guard.ts notCarriedOver), for the
// cases no server of the matrix can produce: settings a newer server writes.
import assert from "node:assert/strict";
import { test } from "node:test";
import { notCarriedOver } from "../../providers/guard.ts";

const EMPTY = { messages: 0, bytes: 0, consumer_count: 0, last_seq: 0 };

test("settings this program does not manage are named; empty or off ones, and managed ones, are not", () => {
    const config = { name: "S", subjects: ["s.>"], future_limit: 5, future_switch: false, template_owner: "", future_map: {} };
    assert.deepEqual(notCarriedOver({ config, state: EMPTY }, { name: "S" }), ["settings this program does not manage: future_limit"]);
});

test("sequence numbers: named when messages were stored, unless firstSeq continues them", () => {
    const state = { ...EMPTY, last_seq: 41 };
    assert.deepEqual(notCarriedOver({ config: { name: "S" }, state }, { name: "S" }),
        ["its sequence numbers (the next message would have been 42; the new stream starts at 1)"]);
    assert.deepEqual(notCarriedOver({ config: { name: "S" }, state }, { name: "S", first_seq: 42 }), []);
    assert.deepEqual(notCarriedOver({ config: { name: "S" }, state: EMPTY }, { name: "S" }), [], "a stream that never stored a message loses nothing");
});
