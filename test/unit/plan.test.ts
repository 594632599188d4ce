// The server rules table and the plan built on it: effective() fills what the
// broker fills, compare() classifies each difference per server version, and
// forServer() shapes a request body for the connected version. The cases
// follow docs/server-rules.md; the golden read-backs are the async-nats 0.49
// bootstrap fixtures.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, test } from "node:test";
import { keyValueKind } from "../../providers/keyValue.ts";
import { objectStoreKind } from "../../providers/objectStore.ts";
import { compare, describeChange, effective, forServer } from "../../providers/plan.ts";
import { atLeast, isServerMetadataKey, MANAGED_FIELDS, parseVersion, RULES, type StreamConfig, type Version } from "../../providers/rules.ts";
import { streamKind } from "../../providers/stream.ts";
import { changes, only } from "./changes.ts";

const V2_9: Version = [2, 9, 10];
const V2_10: Version = [2, 10, 29];
const V2_12_4: Version = [2, 12, 4];
const V2_12: Version = [2, 12, 15];

const FIXTURES = join(import.meta.dirname, "..", "fixtures", "async-nats-0.49");
const golden = (dir: string, stream: string) => JSON.parse(readFileSync(join(FIXTURES, dir, `${stream}.json`), "utf8")) as StreamConfig;


describe("versions", () => {
    test("parseVersion reads the server's INFO version, with or without v and suffixes", () => {
        assert.deepEqual(parseVersion("2.12.15"), [2, 12, 15]);
        assert.deepEqual(parseVersion("v2.9.10"), [2, 9, 10]);
        assert.deepEqual(parseVersion("2.11.0-RC.1"), [2, 11, 0]);
        assert.throws(() => parseVersion("two"), /cannot read nats-server version "two"/);
    });

    test("atLeast compares numerically, not as text", () => {
        assert.ok(atLeast([2, 12, 5], [2, 12, 5]));
        assert.ok(atLeast([2, 12, 15], [2, 12, 5]));
        assert.ok(!atLeast([2, 9, 10], [2, 10, 0]));
        assert.ok(atLeast([3, 0, 0], [2, 12, 0]));
        assert.ok(!atLeast([2, 12, 4], [2, 12, 5]));
    });
});

describe("effective: the config as the broker stores it", () => {
    test("server-filled defaults equal their absence", () => {
        const e = effective({ name: "DEF" });
        assert.deepEqual(e, {
            name: "DEF", subjects: ["DEF"], retention: "limits", max_consumers: -1, max_msgs: -1, max_bytes: -1, max_age: 0,
            max_msgs_per_subject: -1, max_msg_size: -1, discard: "old", discard_new_per_subject: false, storage: "file",
            num_replicas: 1, duplicate_window: 120e9, allow_direct: false, mirror_direct: false, sealed: false, deny_delete: false,
            deny_purge: false, allow_rollup_hdrs: false, compression: "none", no_ack: false, allow_msg_ttl: false, allow_msg_counter: false,
            allow_atomic: false, allow_msg_schedules: false, persist_mode: "default",
        });
    });

    test("0 limits mean unlimited (-1), replicas 0 means 1, as async-nats sends them", () => {
        const e = effective({ name: "S", max_msgs: 0, max_bytes: 0, max_consumers: 0, max_msgs_per_subject: 0, max_msg_size: 0, num_replicas: 0 });
        for (const f of ["max_msgs", "max_bytes", "max_consumers", "max_msgs_per_subject", "max_msg_size"] as const) assert.equal(e[f], -1, f);
        assert.equal(e.num_replicas, 1);
        assert.equal(effective({ name: "S", max_msgs: -5 }).max_msgs, -1, "2.12 maps < -1 to -1");
    });

    test("the duplicate window follows a short max_age, and mirrors have none", () => {
        assert.equal(effective({ name: "S", max_age: 30e9 }).duplicate_window, 30e9);
        assert.equal(effective({ name: "S", max_age: 3600e9 }).duplicate_window, 120e9);
        assert.equal(effective({ name: "M", mirror: { name: "S" } }).duplicate_window, undefined);
        assert.equal(effective({ name: "M", mirror: { name: "S" } }).subjects, undefined, "no default subject for a mirror");
        assert.equal(effective({ name: "A", sources: [{ name: "S" }] }).subjects, undefined, "nor for an aggregate");
    });

    test("_nats.* metadata is dropped, user metadata kept, empties removed", () => {
        assert.equal(effective({ name: "S", metadata: { "_nats.ver": "2.12.15", "_nats.level": "3", "_nats.req.level": "0" } }).metadata, undefined);
        assert.deepEqual(effective({ name: "S", metadata: { "_nats.ver": "2.12.15", owner: "ops" } }).metadata, { owner: "ops" });
        assert.equal(effective({ name: "S", placement: {} }).placement, undefined);
        assert.equal(effective({ name: "S", placement: { cluster: "", tags: [] } }).placement, undefined);
        assert.equal(effective({ name: "S", description: "" }).description, undefined);
        assert.equal(effective({ name: "S", sources: [] }).sources, undefined);
    });

    test("a sealed stream stores what sealing forces, with the window derived from the max_age sent", () => {
        const e = effective({ name: "S", sealed: true, max_age: 30e9, discard: "old", allow_rollup_hdrs: true });
        assert.equal(e.max_age, 0);
        assert.equal(e.duplicate_window, 30e9);
        assert.equal(e.discard, "new");
        assert.equal(e.deny_delete, true);
        assert.equal(e.deny_purge, true);
        assert.equal(e.allow_rollup_hdrs, false);
        assert.equal(effective({ name: "S", sealed: false, allow_rollup_hdrs: true }).allow_rollup_hdrs, true, "unsealed: as sent");
    });

    test("fields the program does not manage pass through; an empty consumer_limits is no limits", () => {
        assert.equal(effective({ name: "S", template_owner: "T" }).template_owner, "T");
        assert.equal(effective({ name: "S", consumer_limits: {} }).consumer_limits, undefined);
    });

    test("isServerMetadataKey", () => {
        assert.ok(isServerMetadataKey("_nats.ver"));
        assert.ok(!isServerMetadataKey("nats.ver"));
        assert.ok(!isServerMetadataKey("owner"));
    });
});

describe("compare: what differs and how it applies", () => {
    test("identical configs, and a config against its own server read-back, have no changes", () => {
        assert.deepEqual(changes({}, {}, V2_12), []);
        const request: StreamConfig = { name: "EXEC", subjects: ["commands.>"], max_bytes: 67108864, max_age: 604800000000000, max_msgs_per_subject: 1 };
        assert.deepEqual(compare(request, golden("server-2.12", "EXEC"), V2_12), []);
        assert.deepEqual(compare(request, golden("server-2.9-replay", "EXEC"), V2_9), []);
    });

    test("the async-nats request bytes equal their own read-back (0 vs -1, replicas 0 vs 1, consumer_limits null)", () => {
        const request = JSON.parse(readFileSync(join(FIXTURES, "requests", "STREAM.CREATE.OBJ_result_output.json"), "utf8")) as StreamConfig;
        assert.deepEqual(compare(request, golden("server-2.12", "OBJ_result_output"), V2_12), []);
        assert.deepEqual(compare(request, golden("server-2.9-replay", "OBJ_result_output"), V2_9), []);
    });

    test("_nats.* metadata is ignored in both directions", () => {
        assert.deepEqual(changes({ metadata: { "_nats.ver": "2.12.15", "_nats.level": "3" } }, {}, V2_12), []);
        assert.deepEqual(changes({ metadata: { "_nats.ver": "2.11.1" } }, { metadata: { "_nats.ver": "2.12.15" } }, V2_12), []);
        assert.deepEqual(changes({ metadata: { "_nats.ver": "2.12.15", owner: "ops" } }, { metadata: { owner: "ops" } }, V2_12), []);
        const c = only({ metadata: { "_nats.ver": "2.12.15", owner: "ops" } }, { metadata: { owner: "dev" } }, V2_12);
        assert.deepEqual(c, { field: "metadata", from: { owner: "ops" }, to: { owner: "dev" }, change: "in-place" });
    });

    test("subject order does not matter", () => {
        assert.deepEqual(changes({ subjects: ["a", "b"] }, { subjects: ["b", "a"] }, V2_12), []);
        assert.equal(only({ subjects: ["a"] }, { subjects: ["a", "b"] }, V2_12).change, "in-place");
    });

    test("server-filled defaults equal absent (explicit false, -1, 2m, file, limits)", () => {
        const explicit = { retention: "limits", storage: "file", discard: "old", max_bytes: -1, max_msgs: -1, max_age: 0, duplicate_window: 120e9,
            sealed: false, deny_delete: false, allow_direct: false, num_replicas: 1, compression: "none" } as const;
        assert.deepEqual(changes(explicit, {}, V2_12), []);
        assert.deepEqual(changes({}, explicit, V2_9), []);
    });

    test("retention limits -> interest: replace on 2.9, in place on 2.10+", () => {
        assert.equal(only({ retention: "limits" }, { retention: "interest" }, V2_9).change, "replace");
        assert.equal(only({ retention: "limits" }, { retention: "interest" }, V2_10).change, "in-place");
        assert.equal(only({ retention: "limits" }, { retention: "interest" }, V2_12).change, "in-place");
        assert.equal(only({ retention: "interest" }, {}, V2_12).change, "in-place", "back to the default limits");
    });

    test("workqueue to or from anything is always a replace", () => {
        for (const v of [V2_9, V2_12]) {
            assert.equal(only({}, { retention: "workqueue" }, v).change, "replace");
            assert.equal(only({ retention: "workqueue" }, { retention: "interest" }, v).change, "replace");
        }
    });

    test("storage is always a replace", () => {
        for (const v of [V2_9, V2_12]) {
            assert.deepEqual(only({ storage: "file" }, { storage: "memory" }, v), { field: "storage", from: "file", to: "memory", change: "replace" });
            assert.equal(only({ storage: "memory" }, {}, v).change, "replace");
        }
    });

    test("deny_delete, deny_purge, sealed: false -> true in place, true -> false replace", () => {
        // (sealing also forces deny_delete and deny_purge on: those come along as changes of their own)
        const of = (field: string, have: Partial<StreamConfig>, want: Partial<StreamConfig>, v: Version) => changes(have, want, v).find((c) => c.field === field)!.change;
        for (const field of ["deny_delete", "deny_purge", "sealed"] as const) {
            for (const v of [V2_9, V2_12]) {
                assert.equal(of(field, { [field]: false }, { [field]: true }, v), "in-place", `${field} on`);
                assert.equal(of(field, {}, { [field]: true }, v), "in-place", `${field} on from absent`);
                assert.equal(of(field, { [field]: true }, { [field]: false }, v), "replace", `${field} off`);
                assert.equal(of(field, { [field]: true }, {}, v), "replace", `${field} off by omission`);
            }
        }
    });

    test("max_consumers: replace before 2.12.5, in place from 2.12.5", () => {
        assert.equal(only({}, { max_consumers: 5 }, V2_9).change, "replace");
        assert.equal(only({ max_consumers: 5 }, { max_consumers: 10 }, V2_12_4).change, "replace");
        assert.equal(only({ max_consumers: 5 }, { max_consumers: 10 }, [2, 12, 5]).change, "in-place");
        assert.equal(only({ max_consumers: 5 }, {}, V2_12).change, "in-place");
        assert.deepEqual(changes({ max_consumers: 0 }, { max_consumers: -1 }, V2_9), [], "0 and -1 are the same limit");
    });

    test("republish: any change is a replace on 2.9, in place on 2.10+", () => {
        const r = { src: "s.>", dest: "r.>" };
        assert.equal(only({}, { republish: r }, V2_9).change, "replace");
        assert.equal(only({ republish: r }, {}, V2_9).change, "replace");
        assert.equal(only({ republish: r }, { republish: { ...r, headers_only: true } }, V2_9).change, "replace");
        assert.equal(only({}, { republish: r }, V2_12).change, "in-place");
        assert.equal(only({ republish: r }, {}, V2_12).change, "in-place");
    });

    test("mirror: removal (promotion) in place only on 2.12; adding or changing always replaces", () => {
        const mirrored: StreamConfig = { name: "M", mirror: { name: "O" } };
        const promoted: StreamConfig = { name: "M" };
        const onV12 = compare(promoted, mirrored, V2_12).find((c) => c.field === "mirror")!;
        assert.equal(onV12.change, "in-place");
        assert.equal(compare(promoted, mirrored, V2_9).find((c) => c.field === "mirror")!.change, "replace");
        assert.equal(compare(promoted, mirrored, V2_10).find((c) => c.field === "mirror")!.change, "replace");
        assert.equal(compare(mirrored, promoted, V2_12).find((c) => c.field === "mirror")!.change, "replace", "adding a mirror");
        assert.equal(compare({ name: "M", mirror: { name: "P" } }, mirrored, V2_12).find((c) => c.field === "mirror")!.change, "replace");
        // Promotion also gives the stream its default subject and window; both apply in place.
        assert.ok(compare(promoted, mirrored, V2_12).every((c) => c.change === "in-place"));
    });

    test("sealing is in place and its forced settings are not differences", () => {
        const sealedByServer = { sealed: true, max_age: 0, discard: "new", deny_delete: true, deny_purge: true, allow_rollup_hdrs: false } as const;
        assert.deepEqual(changes(sealedByServer, { sealed: true }, V2_12), []);
        assert.deepEqual(changes(sealedByServer, { sealed: true, max_age: 3600e9, allow_rollup_hdrs: true }, V2_9), []);
        const sealing = changes({ allow_rollup_hdrs: true }, { sealed: true, allow_rollup_hdrs: true }, V2_12);
        assert.ok(sealing.length > 0 && sealing.every((c) => c.change === "in-place"), JSON.stringify(sealing));
        assert.equal(changes(sealedByServer, {}, V2_12).find((c) => c.field === "sealed")!.change, "replace", "unsealing");
    });

    test("name changes are replaces", () => {
        assert.equal(compare({ name: "B" }, { name: "A", subjects: ["B"] }, V2_12).find((c) => c.field === "name")!.change, "replace");
    });

    test("mutable limits change in place on every version", () => {
        for (const v of [V2_9, V2_12]) {
            for (const [field, value] of [["max_bytes", 1024], ["max_age", 3600e9], ["max_msgs", 10], ["max_msg_size", 512], ["max_msgs_per_subject", 5],
                ["discard", "new"], ["allow_direct", true], ["allow_rollup_hdrs", true], ["description", "x"], ["num_replicas", 3]] as const) {
                const all = changes({}, { [field]: value }, v);
                assert.ok(all.length >= 1 && all.every((c) => c.change === "in-place"), `${field} on ${v.join(".")}: ${JSON.stringify(all)}`);
            }
        }
    });

    test("a new max_age below 2m moves the derived duplicate window along, in place", () => {
        const all = changes({}, { max_age: 30e9 }, V2_12);
        assert.deepEqual(all.map((c) => [c.field, c.to, c.change]), [["max_age", 30e9, "in-place"], ["duplicate_window", 30e9, "in-place"]]);
    });

    test("fields newer than the server are not compared (2.9 drops them)", () => {
        assert.deepEqual(changes({}, { compression: "s2", metadata: { owner: "ops" }, subject_transform: { src: "s.>", dest: "t.>" } }, V2_9), []);
        assert.equal(only({}, { compression: "s2" }, V2_12).change, "in-place");
        assert.equal(only({ compression: "s2" }, {}, V2_12).change, "in-place");
    });

    test("first_seq only takes effect on create, so it is never a change", () => {
        assert.deepEqual(changes({ first_seq: 100 }, { first_seq: 500 }, V2_12), []);
    });

    test("describeChange shows field, old and new", () => {
        assert.equal(describeChange(only({ storage: "memory" }, { storage: "file" }, V2_12)), 'storage: "memory" -> "file"');
        assert.equal(describeChange({ field: "republish", from: undefined, to: { src: "a", dest: "b" }, change: "replace" }), 'republish: (unset) -> {"src":"a","dest":"b"}');
    });
});

describe("forServer: the request body for the connected version", () => {
    test("compression s2 on 2.9 fails naming the field and the version", () => {
        assert.throws(() => forServer({ name: "S", compression: "s2" }, V2_9, "2.9.10"),
            /^Error: nats-server 2\.9\.10 does not support compression \(needs nats-server >= 2\.10\.0\); remove the setting or upgrade the server$/);
    });

    test("every unsupported field is named at once", () => {
        assert.throws(() => forServer({ name: "S", metadata: { owner: "ops" }, subject_transform: { src: "a", dest: "b" }, first_seq: 5 }, V2_9, "2.9.10"),
            (e: Error) => /subject_transform/.test(e.message) && /first_seq/.test(e.message) && /metadata/.test(e.message) && /2\.9\.10/.test(e.message));
    });

    test("subject transforms of a source or a mirror on 2.9 fail naming the field, the part and 2.10", () => {
        const source = { name: "O", subject_transforms: [{ src: "a.>", dest: "b.>" }] };
        assert.throws(() => forServer({ name: "S", sources: [{ name: "P" }, source] }, V2_9, "2.9.10"),
            /does not support sources with subject_transforms \(needs nats-server >= 2\.10\.0\)/);
        assert.throws(() => forServer({ name: "M", mirror: source }, V2_9, "2.9.10"), /does not support mirror with subject_transforms/);
        assert.deepEqual(forServer({ name: "S", sources: [{ name: "P" }] }, V2_9, "2.9.10"), { name: "S", sources: [{ name: "P" }] });
        assert.deepEqual(forServer({ name: "M", mirror: source }, V2_12, "2.12.15"), { name: "M", mirror: source });
    });

    test("newer fields at their default are dropped silently on 2.9", () => {
        assert.deepEqual(forServer({ name: "S", compression: "none", metadata: {}, subjects: ["s"] }, V2_9, "2.9.10"), { name: "S", subjects: ["s"] });
    });

    test("2.12 gets everything as given", () => {
        const body: StreamConfig = { name: "S", compression: "s2", metadata: { owner: "ops" }, first_seq: 5, max_bytes: 1024 };
        assert.deepEqual(forServer(body, V2_12, "2.12.15"), body);
    });

    test("the input is not modified", () => {
        const body: StreamConfig = { name: "S", compression: "none" };
        forServer(body, V2_9, "2.9.10");
        assert.deepEqual(body, { name: "S", compression: "none" });
    });
});

describe("the rules table", () => {
    test("every managed field has a rule with a since version", () => {
        assert.ok(MANAGED_FIELDS.length > 20);
        for (const f of MANAGED_FIELDS) assert.equal(RULES[f].since.length, 3, f);
    });

    test("the fields each line added, as docs/server-rules.md §2 lists them", () => {
        const added = (before: Version, at: Version) => MANAGED_FIELDS.filter((f) => !atLeast(before, RULES[f].since) && atLeast(at, RULES[f].since)).sort();
        assert.deepEqual(added(V2_9, V2_10), ["compression", "consumer_limits", "first_seq", "metadata", "subject_transform"]);
        assert.deepEqual(added(V2_10, [2, 11, 0]), ["allow_msg_ttl", "subject_delete_marker_ttl"]);
        assert.deepEqual(added([2, 11, 17], [2, 12, 0]), ["allow_atomic", "allow_msg_counter", "allow_msg_schedules", "persist_mode"]);
    });
});

describe("the kinds' stream configs equal the async-nats 0.49 bootstrap's", () => {
    const cases = [
        { stream: "EXEC", kind: streamKind, args: { name: "EXEC", subjects: ["commands.>"], maxBytes: "64MiB", maxAge: "7d", maxMsgsPerSubject: 1 } },
        { stream: "KV_schedules", kind: keyValueKind, args: { bucket: "schedules", history: 5 } },
        { stream: "OBJ_result_output", kind: objectStoreKind, args: { bucket: "result_output", maxBytes: "1GiB", ttl: "30d" } },
    ] as const;
    for (const c of cases) {
        for (const [dir, version] of [["server-2.12", V2_12], ["server-2.9-replay", V2_9]] as const) {
            test(`${c.stream} against ${dir}`, () => {
                const kind = c.kind as typeof streamKind;
                const desired = kind.toStreamConfig(kind.schema.parse(c.args));
                assert.deepEqual(compare(desired, golden(dir, c.stream), version), []);
                assert.deepEqual(forServer(desired, version, version.join(".")), desired, "nothing the server does not know is sent");
            });
        }
    }

    test("every golden config survives fromStreamConfig -> toStreamConfig unchanged", () => {
        const dir = join(FIXTURES, "server-2.12");
        const names = readdirSync(dir).filter((f) => f.endsWith(".json"));
        assert.ok(names.length >= 20);
        for (const file of names) {
            const g = golden("server-2.12", file.replace(/\.json$/, ""));
            const kind = (g.name.startsWith("KV_") ? keyValueKind : g.name.startsWith("OBJ_") ? objectStoreKind : streamKind) as typeof streamKind;
            const inputs = kind.schema.parse(kind.fromStreamConfig(g));
            assert.deepEqual(compare(kind.toStreamConfig(inputs), g, V2_12), [], g.name);
        }
    });
});
