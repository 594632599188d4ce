// check() of the three kinds: defaults and canonical forms of valid inputs,
// and failures that name the field, the value and the rule. No broker: check
// never connects.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import type * as pulumi from "@pulumi/pulumi";
import { keyValueKind, provider as keyValue } from "../../providers/keyValue.ts";
import { objectStoreKind, provider as objectStore } from "../../providers/objectStore.ts";
import { provider as stream, streamKind } from "../../providers/stream.ts";

type Failure = pulumi.dynamic.CheckFailure;

async function inputs(p: pulumi.dynamic.ResourceProvider, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await p.check!({}, raw);
    assert.equal(r.failures, undefined, `unexpected failures: ${JSON.stringify(r.failures)}`);
    return r.inputs as Record<string, unknown>;
}

async function failures(p: pulumi.dynamic.ResourceProvider, raw: Record<string, unknown>): Promise<Failure[]> {
    const r = await p.check!({}, raw);
    assert.ok(r.failures?.length, `expected failures for ${JSON.stringify(raw)}, got inputs ${JSON.stringify(r.inputs)}`);
    assert.equal(r.inputs, undefined);
    return r.failures!;
}

/** Exactly one failure, on `property`, whose reason matches every pattern. */
async function failsOn(p: pulumi.dynamic.ResourceProvider, raw: Record<string, unknown>, property: string, ...reason: RegExp[]): Promise<Failure> {
    const all = await failures(p, raw);
    assert.equal(all.length, 1, `one failure expected: ${JSON.stringify(all)}`);
    assert.equal(all[0].property, property);
    for (const r of reason) assert.match(all[0].reason, r);
    return all[0];
}

describe("stream check", () => {
    test("the seed's EXEC stream: sizes and durations canonical, defaults left out (and filled back)", async () => {
        const i = await inputs(stream, { name: "EXEC", subjects: ["commands.>"], maxBytes: 67108864, maxAge: "168h", maxMsgsPerSubject: 1 });
        assert.deepEqual(i, { name: "EXEC", subjects: ["commands.>"], maxAge: "7d", maxBytes: "64MiB", maxMsgsPerSubject: 1, duplicateWindow: "2m" });
        assert.deepEqual({ ...streamKind.defaults, ...i }, {
            name: "EXEC", description: "", subjects: ["commands.>"], retention: "limits", storage: "file", replicas: 1,
            maxAge: "7d", maxBytes: "64MiB", maxMsgs: -1, maxMsgsPerSubject: 1, maxMsgSize: "unlimited", maxConsumers: -1,
            discard: "old", discardNewPerSubject: false, allowRollup: false, denyDelete: false, denyPurge: false,
            allowDirect: false, mirrorDirect: false, sealed: false, compression: "none", sources: [], metadata: {},
            noAck: false, allowMsgTtl: false, allowMsgCounter: false, allowAtomic: false, allowMsgSchedules: false, persistMode: "default",
            allowDataLoss: false, duplicateWindow: "2m",
        });
    });

    test("the duplicate window defaults the way the server derives it", async () => {
        assert.equal((await inputs(stream, { name: "S" })).duplicateWindow, "2m");
        assert.equal((await inputs(stream, { name: "S", maxAge: "30s" })).duplicateWindow, "30s");
        assert.equal((await inputs(stream, { name: "S", maxAge: "1h" })).duplicateWindow, "2m");
        assert.equal((await inputs(stream, { name: "S", maxAge: "1h", duplicateWindow: "5m" })).duplicateWindow, "5m");
        assert.equal((await inputs(stream, { name: "M", mirror: { name: "S" } })).duplicateWindow, undefined, "mirrors have none");
    });

    test("the engine's __provider key is not an input", async () => {
        const i = await inputs(stream, { name: "S", __provider: "serialized" });
        assert.equal(i.__provider, undefined);
    });

    for (const bad of ["a b", "a.b", "a*", "a>", "a/b", "a\\b", "tab\tname"]) {
        test(`name ${JSON.stringify(bad)} is rejected naming the field, the value and the rule`, async () => {
            const f = await failsOn(stream, { name: bad }, "name", /^stream: name /, /must not contain whitespace, '\.', '\*', '>', '\/' or '\\'/);
            assert.ok(f.reason.endsWith(` (got ${JSON.stringify(bad)})`), f.reason);
        });
    }

    test("an empty or missing name is rejected", async () => {
        const empty = await failures(stream, { name: "" });
        assert.ok(empty.every((f) => f.property === "name" && f.reason.endsWith('(got "")')), JSON.stringify(empty));
        assert.ok(empty.some((f) => />=1 characters/.test(f.reason)));
        await failsOn(stream, {}, "name", /stream: name/);
    });

    for (const bad of ["a..b", "a.>.b", "a b", "a*.b", "a.b*", ".a", "a.", "", ">.a"]) {
        test(`subject ${JSON.stringify(bad)} is rejected`, async () => {
            await failsOn(stream, { name: "S", subjects: ["ok.>", bad] }, "subjects[1]", /^stream: subjects\[1\] is not a well-formed subject/,
                /'\*' and '>' only as whole tokens, '>' last/, /\(got /);
        });
    }

    test("well-formed subjects with wildcards pass", async () => {
        // One stream's subjects must not overlap each other (the server's rule, checks.test.ts): ">" alone.
        const i = await inputs(stream, { name: "S", subjects: ["a.*.c", "b.>", "*", "$KV.b.>", "a-b_c.d"] });
        assert.deepEqual(i.subjects, ["a.*.c", "b.>", "*", "$KV.b.>", "a-b_c.d"]);
        assert.deepEqual((await inputs(stream, { name: "S", subjects: [">"] })).subjects, [">"]);
    });

    test("negative and malformed sizes name the field and the value", async () => {
        await failsOn(stream, { name: "S", maxBytes: -5 }, "maxBytes", /^stream: maxBytes -5 is not a size: use whole bytes > 0, -1 or "unlimited" \(got -5\)$/);
        await failsOn(stream, { name: "S", maxMsgSize: "12XB" }, "maxMsgSize", /maxMsgSize "12XB" is not a size/, /\(got "12XB"\)/);
        await failsOn(stream, { name: "S", maxBytes: "1.5B" }, "maxBytes", /not a whole number of bytes/);
    });

    test("malformed durations name the field and the value", async () => {
        await failsOn(stream, { name: "S", maxAge: "3 weeks" }, "maxAge", /^stream: maxAge "3 weeks" is not a duration/, /\(got "3 weeks"\)/);
        await failsOn(stream, { name: "S", maxAge: -1 }, "maxAge", /maxAge -1 is not a duration/);
        await failsOn(stream, { name: "S", duplicateWindow: "soon" }, "duplicateWindow", /duplicateWindow "soon" is not a duration/);
    });

    test("counts below -1 are rejected", async () => {
        await failsOn(stream, { name: "S", maxMsgs: -2 }, "maxMsgs", /maxMsgs/, /-1/, /\(got -2\)/);
        await failsOn(stream, { name: "S", maxConsumers: 1.5 }, "maxConsumers", /maxConsumers/, /\(got 1\.5\)/);
    });

    test("enums list the allowed values", async () => {
        await failsOn(stream, { name: "S", retention: "forever" }, "retention", /retention/, /limits/, /interest/, /workqueue/, /\(got "forever"\)/);
        await failsOn(stream, { name: "S", storage: "disk" }, "storage", /storage/, /file/, /memory/, /\(got "disk"\)/);
        await failsOn(stream, { name: "S", compression: "zstd" }, "compression", /compression/, /s2/, /\(got "zstd"\)/);
    });

    test("replicas must be 1 to 5", async () => {
        await failsOn(stream, { name: "S", replicas: 0 }, "replicas", /replicas/, /1/, /\(got 0\)/);
        await failsOn(stream, { name: "S", replicas: 7 }, "replicas", /replicas/, /5/, /\(got 7\)/);
    });

    test("unknown keys are rejected, each named with its value", async () => {
        const all = await failures(stream, { name: "S", max_bytes: 5, bogus: true });
        assert.deepEqual(all.map((f) => f.property).sort(), ["bogus", "max_bytes"]);
        const f = all.find((x) => x.property === "max_bytes")!;
        assert.match(f.reason, /^stream: max_bytes is not a known setting \(got 5\)$/);
    });

    test("unknown keys in nested settings name the nested path", async () => {
        await failsOn(stream, { name: "S", placement: { cluster: "c", zone: "z" } }, "placement.zone", /placement\.zone is not a known setting \(got "z"\)/);
        await failsOn(stream, { name: "S", sources: [{ name: "A", seq: 1 }] }, "sources[0].seq", /sources\[0\]\.seq is not a known setting/);
    });

    test("the server's own metadata keys cannot be set", async () => {
        await failsOn(stream, { name: "S", metadata: { "_nats.level": "1" } }, "metadata", /keys starting with '_nats\.' belong to the server/);
        assert.deepEqual((await inputs(stream, { name: "S", metadata: { owner: "ops" } })).metadata, { owner: "ops" });
    });

    test("a mirror cannot also have subjects or sources", async () => {
        await failsOn(stream, { name: "M", mirror: { name: "S" }, subjects: ["m.>"] }, "mirror", /a mirror cannot also have subjects or sources/);
        await failsOn(stream, { name: "M", mirror: { name: "S" }, sources: [{ name: "T" }] }, "mirror", /a mirror cannot also have subjects or sources/);
    });

    test("subject transforms of sources and a mirror: dest optional, read in the server's terms", async () => {
        const transforms = [{ src: "a.>", dest: "x.>" }, { src: "b.*" }];
        assert.deepEqual((await inputs(stream, { name: "S", sources: [{ name: "O", subjectTransforms: transforms }] })).sources, [{ name: "O", subjectTransforms: transforms }]);
        await failsOn(stream, { name: "S", sources: [{ name: "O", subjectTransforms: [{ src: "a..b" }] }] }, "sources[0].subjectTransforms[0].src", /well-formed subject/);
        await failsOn(stream, { name: "M", mirror: { name: "O", subjectTransforms: [{ dest: "x" }] } }, "mirror.subjectTransforms[0].src");
    });

    test("filters and transforms the server refuses together, each with its own code", async () => {
        const both = { filterSubject: "a.>", subjectTransforms: [{ src: "a.b" }] };
        await failsOn(stream, { name: "S", sources: [{ name: "O", ...both }] }, "sources[0].filterSubject", /10144/, /put the filter in a transform's src/);
        await failsOn(stream, { name: "M", mirror: { name: "O", ...both } }, "mirror.filterSubject", /10150/);
        // A source's filters may overlap unless one contains the other; a mirror's may not overlap.
        const overlapping = [{ src: "a.*.c" }, { src: "a.b.*" }];
        await inputs(stream, { name: "S", sources: [{ name: "O", subjectTransforms: overlapping }] });
        await failsOn(stream, { name: "M", mirror: { name: "O", subjectTransforms: overlapping } }, "mirror.subjectTransforms[1].src", /10152/, /subjectTransforms\[0\]\.src "a\.\*\.c"/);
        await failsOn(stream, { name: "S", sources: [{ name: "O", subjectTransforms: [{ src: "a.>" }, { src: "a.b" }] }] }, "sources[0].subjectTransforms[1].src", /10147/);
    });

    test("two sources the server would take for one are refused (10140); a different domain or transform is another source", async () => {
        await failsOn(stream, { name: "S", sources: [{ name: "O" }, { name: "O", filterSubject: ">" }] }, "sources[1]", /repeats sources\[0\]/, /10140/);
        await inputs(stream, { name: "S", sources: [{ name: "O" }, { name: "O", external: { api: "$JS.hub.API" } }] });
        await inputs(stream, { name: "S", sources: [{ name: "O", subjectTransforms: [{ src: "a", dest: "x" }] }, { name: "O", subjectTransforms: [{ src: "a", dest: "y" }] }] });
    });

    test("every failure is reported at once", async () => {
        const all = await failures(stream, { name: "a b", maxBytes: -5, maxAge: "x", subjects: ["a..b"] });
        assert.deepEqual(all.map((f) => f.property).sort(), ["maxAge", "maxBytes", "name", "subjects[0]"]);
    });
});

describe("KV bucket check", () => {
    test("the seed's schedules bucket (history 5)", async () => {
        const i = await inputs(keyValue, { bucket: "schedules", history: 5 });
        assert.deepEqual(i, { bucket: "schedules", history: 5 });
        assert.deepEqual({ ...keyValueKind.defaults, ...i }, {
            bucket: "schedules", description: "", history: 5, ttl: "unlimited", maxBytes: "unlimited", maxValueSize: "unlimited",
            storage: "file", replicas: 1, compression: false, sources: [], metadata: {}, allowDataLoss: false,
        });
    });

    test("history must be 1 to 64", async () => {
        await failsOn(keyValue, { bucket: "b", history: 0 }, "history", /^KV bucket: history /, /1/, /\(got 0\)$/);
        await failsOn(keyValue, { bucket: "b", history: 65 }, "history", /^KV bucket: history /, /64/, /\(got 65\)$/);
        await failsOn(keyValue, { bucket: "b", history: 2.5 }, "history", /history/, /\(got 2\.5\)/);
        assert.equal((await inputs(keyValue, { bucket: "b", history: 64 })).history, 64);
        assert.equal((await inputs(keyValue, { bucket: "b", history: 1 })).history, undefined, "1 is the default: left out");
    });

    for (const bad of ["a b", "a.b", "a*", "a>", "a/b"]) {
        test(`bucket ${JSON.stringify(bad)} is rejected`, async () => {
            const f = await failsOn(keyValue, { bucket: bad }, "bucket", /^KV bucket: bucket may contain only letters, digits, '_' and '-'/);
            assert.ok(f.reason.endsWith(` (got ${JSON.stringify(bad)})`), f.reason);
        });
    }

    test("an empty bucket name is rejected", async () => {
        const all = await failures(keyValue, { bucket: "" });
        assert.ok(all.every((f) => f.property === "bucket" && f.reason.startsWith("KV bucket: bucket ")), JSON.stringify(all));
    });

    test("sizes and durations are canonical", async () => {
        const i = await inputs(keyValue, { bucket: "b", ttl: 3600, maxBytes: "1024KiB", maxValueSize: 1024 });
        assert.equal(i.ttl, "1h");
        assert.equal(i.maxBytes, "1MiB");
        assert.equal(i.maxValueSize, "1KiB");
        await failsOn(keyValue, { bucket: "b", maxValueSize: -3 }, "maxValueSize", /maxValueSize -3 is not a size/);
        await failsOn(keyValue, { bucket: "b", ttl: "forever" }, "ttl", /ttl "forever" is not a duration/);
    });

    test("compression is a boolean, not the stream's enum", async () => {
        await failsOn(keyValue, { bucket: "b", compression: "s2" }, "compression", /compression/, /\(got "s2"\)/);
    });

    test("unknown keys (e.g. a stream setting) are rejected", async () => {
        await failsOn(keyValue, { bucket: "b", name: "KV_b" }, "name", /^KV bucket: name is not a known setting \(got "KV_b"\)$/);
    });

    test("a mirror cannot also have sources", async () => {
        await failsOn(keyValue, { bucket: "m", mirror: { bucket: "a" }, sources: [{ bucket: "b" }] }, "mirror", /a mirror cannot also have sources/);
    });
});

describe("object store check", () => {
    test("the seed's result_output store (ttl 30d, 1GiB)", async () => {
        const i = await inputs(objectStore, { bucket: "result_output", maxBytes: "1GiB", ttl: "30d" });
        assert.deepEqual(i, { bucket: "result_output", ttl: "30d", maxBytes: "1GiB" });
        assert.deepEqual({ ...objectStoreKind.defaults, ...i }, {
            bucket: "result_output", description: "", ttl: "30d", maxBytes: "1GiB", storage: "file", replicas: 1,
            compression: false, metadata: {}, allowDataLoss: false,
        });
    });

    test("bad names, sizes and unknown keys", async () => {
        await failsOn(objectStore, { bucket: "result.output" }, "bucket", /^object store: bucket may contain only letters/, /\(got "result\.output"\)/);
        await failsOn(objectStore, { bucket: "r", maxBytes: -2 }, "maxBytes", /maxBytes -2 is not a size/);
        await failsOn(objectStore, { bucket: "r", history: 5 }, "history", /^object store: history is not a known setting \(got 5\)$/);
    });

    test("allowDataLoss must be a boolean", async () => {
        await failsOn(objectStore, { bucket: "r", allowDataLoss: "yes" }, "allowDataLoss", /allowDataLoss/, /\(got "yes"\)/);
    });
});
