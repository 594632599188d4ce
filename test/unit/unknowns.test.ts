// Inputs another resource's output gives only during `up`: in preview they
// are Pulumi's unknown sentinel, and check and diff must plan, not fail.
import assert from "node:assert/strict";
import { test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as stream } from "../../providers/stream.ts";

const UNKNOWN = pulumi.runtime.unknownValue;

test("check passes inputs with unknown values through, without failures or a broker", async () => {
    // No connection is configured: judging against a broker would fail.
    const news = { bucket: UNKNOWN, history: 1 };
    const r = await keyValue.check!({}, news);
    assert.equal(r.failures, undefined);
    assert.deepEqual(r.inputs, news);
    const nested = await stream.check!({}, { name: "S", subjects: [UNKNOWN] });
    assert.equal(nested.failures, undefined);
});

test("diff of an unknown setting plans an update; of an unknown name, a replacement", async () => {
    const olds = { bucket: "b", history: 1, stream: "KV_b", config: { name: "KV_b" }, allowDataLoss: false, schemaVersion: 1 };
    const update = await keyValue.diff!("KV_b", olds, { bucket: "b", history: UNKNOWN });
    assert.deepEqual(update, { changes: true, replaces: [], deleteBeforeReplace: false });
    const rename = await keyValue.diff!("KV_b", olds, { bucket: UNKNOWN, history: 1 });
    assert.deepEqual(rename, { changes: true, replaces: ["bucket"], deleteBeforeReplace: true });
});
