// The 2.10-2.12 settings' rows (rules.ts, settings.ts) and the defects of
// issue 13, as pure rules: what the server fills and forces, how each change
// applies per version, what an older server is refused, and the schema's
// refusals in the server's words. test/integration/settings.test.ts checks
// the same against the real servers.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { keyValueKind } from "../../providers/keyValue.ts";
import { compare, createRefusals, effective, forServer, updateRefusals } from "../../providers/plan.ts";
import { type StreamConfig, type Version } from "../../providers/rules.ts";
import { streamKind } from "../../providers/stream.ts";
import { BASE, changes, only } from "./changes.ts";

const V2_9: Version = [2, 9, 10];
const V2_10: Version = [2, 10, 29];
const V2_11_1: Version = [2, 11, 1];
const V2_11: Version = [2, 11, 17];
const V2_12: Version = [2, 12, 15];

/** How the one change from `have` to `want` applies, asserting nothing else differs. */
const how = (have: Partial<StreamConfig>, want: Partial<StreamConfig>, version: Version): string => only(have, want, version).change;

/** The stream check's failures for these inputs, as "path: message". */
function refusals(args: Record<string, unknown>, kind: { schema: typeof streamKind.schema } = streamKind): string[] {
    const r = kind.schema.safeParse({ name: "S", subjects: ["s.>"], ...args });
    return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`);
}

describe("how each new setting changes, per server line (configUpdateCheck)", () => {
    test("allow_msg_ttl: 2.11.0-2.11.1 refuse any change; from 2.11.2 on in place, off never", () => {
        assert.equal(how({}, { allow_msg_ttl: true }, V2_11_1), "replace");
        assert.equal(how({ allow_msg_ttl: true }, {}, V2_11_1), "replace");
        assert.equal(how({}, { allow_msg_ttl: true }, V2_11), "in-place");
        assert.equal(how({ allow_msg_ttl: true }, { allow_msg_ttl: false }, V2_11), "replace");
        assert.equal(how({ allow_msg_ttl: true }, {}, V2_12), "replace");
    });

    test("subject_delete_marker_ttl changes in place and brings the TTLs and roll-ups the server turns on", () => {
        const stored = { allow_msg_ttl: true, allow_rollup_hdrs: true, subject_delete_marker_ttl: 60e9 };
        assert.deepEqual(changes(stored, { subject_delete_marker_ttl: 60e9 }, V2_11), [], "the server's read-back equals the request");
        assert.equal(how(stored, { subject_delete_marker_ttl: 120e9 }, V2_12), "in-place");
        assert.deepEqual(changes({ allow_msg_ttl: true, allow_rollup_hdrs: true }, { subject_delete_marker_ttl: 60e9 }, V2_11).map((c) => c.field), ["subject_delete_marker_ttl"]);
        // Removing the markers leaves the TTLs on: switching them off needs a new stream.
        assert.equal(how(stored, { allow_msg_ttl: true, allow_rollup_hdrs: true }, V2_12), "in-place");
        assert.deepEqual(changes(stored, {}, V2_12).find((c) => c.field === "allow_msg_ttl")?.change, "replace");
    });

    test("allow_msg_counter and persist_mode: any change replaces", () => {
        assert.equal(how({}, { allow_msg_counter: true }, V2_12), "replace");
        assert.equal(how({ allow_msg_counter: true }, {}, V2_12), "replace");
        assert.equal(how({}, { persist_mode: "async" }, V2_12), "replace");
        assert.equal(how({ persist_mode: "async" }, { persist_mode: "default" }, V2_12), "replace");
        assert.deepEqual(changes({}, { persist_mode: "default" }, V2_12), [], "absent is the default mode");
    });

    test("allow_atomic both ways in place; allow_msg_schedules on in place, off never", () => {
        assert.equal(how({}, { allow_atomic: true }, V2_12), "in-place");
        assert.equal(how({ allow_atomic: true }, {}, V2_12), "in-place");
        const schedules = { allow_msg_schedules: true, allow_rollup_hdrs: true };
        assert.deepEqual(changes({}, { allow_msg_schedules: true }, V2_12).map((c) => [c.field, c.change]),
            [["allow_rollup_hdrs", "in-place"], ["allow_msg_schedules", "in-place"]], "schedules bring roll-ups, as the server does");
        assert.deepEqual(changes(schedules, { allow_msg_schedules: true }, V2_12), []);
        assert.equal(changes(schedules, {}, V2_12).find((c) => c.field === "allow_msg_schedules")?.change, "replace");
    });

    test("consumer_limits: {} is none, changes in place; no_ack in place both ways", () => {
        assert.deepEqual(changes({ consumer_limits: {} }, {}, V2_10), []);
        assert.equal(how({ consumer_limits: {} }, { consumer_limits: { max_ack_pending: 10 } }, V2_10), "in-place");
        assert.equal(how({ consumer_limits: { inactive_threshold: 3600e9 } }, {}, V2_12), "in-place");
        assert.equal(how({}, { no_ack: true }, V2_9), "in-place");
        assert.equal(how({ no_ack: true }, {}, V2_12), "in-place");
    });

    test("a field the connected server does not know is no change (2.9/2.10 drop it silently)", () => {
        assert.deepEqual(changes({}, { allow_msg_ttl: true }, V2_10), []);
        assert.deepEqual(changes({}, { allow_atomic: true }, V2_11), []);
        assert.deepEqual(changes({}, { consumer_limits: { max_ack_pending: 5 } }, V2_9), []);
    });
});

describe("forServer: a non-default value of a field the server is too old for is an error naming it and the version", () => {
    const cases: [Partial<StreamConfig>, Version, string][] = [
        [{ consumer_limits: { max_ack_pending: 5 } }, V2_9, "consumer_limits (needs nats-server >= 2.10.0)"],
        [{ allow_msg_ttl: true }, V2_10, "allow_msg_ttl (needs nats-server >= 2.11.0)"],
        [{ subject_delete_marker_ttl: 60e9 }, V2_10, "subject_delete_marker_ttl (needs nats-server >= 2.11.0)"],
        [{ allow_msg_counter: true }, V2_11, "allow_msg_counter (needs nats-server >= 2.12.0)"],
        [{ allow_atomic: true }, V2_11, "allow_atomic (needs nats-server >= 2.12.0)"],
        [{ allow_msg_schedules: true }, V2_11, "allow_msg_schedules (needs nats-server >= 2.12.0)"],
        [{ persist_mode: "async" }, V2_11, "persist_mode (needs nats-server >= 2.12.0)"],
    ];
    for (const [set, version, named] of cases) {
        test(`${Object.keys(set)[0]} on ${version.join(".")}`, () => {
            assert.throws(() => forServer({ ...BASE, ...set }, version, version.join(".")),
                (e: Error) => e.message.startsWith(`nats-server ${version.join(".")} does not support `) && e.message.includes(named));
        });
    }

    test("default values are left out for an older server, and sent as they are to a newer one", () => {
        const defaults: StreamConfig = { ...BASE, no_ack: false, allow_msg_ttl: false, allow_atomic: false, persist_mode: "default", consumer_limits: {} };
        assert.deepEqual(forServer(defaults, V2_9, "2.9.10"), { ...BASE, no_ack: false });
        assert.deepEqual(forServer(defaults, V2_11, "2.11.17"), { ...BASE, no_ack: false, allow_msg_ttl: false, consumer_limits: {} });
    });

    test("a marker TTL carries the TTLs and roll-ups it needs (2.11.0-2.11.1 refuse it without)", () => {
        assert.deepEqual(forServer({ ...BASE, subject_delete_marker_ttl: 60e9 }, V2_11_1, "2.11.1"),
            { ...BASE, subject_delete_marker_ttl: 60e9, allow_msg_ttl: true, allow_rollup_hdrs: true, deny_purge: false });
    });
});

describe("issue 13 defects", () => {
    test("(a) an external source or mirror without deliver equals the server's read-back with deliver \"\"", () => {
        const external = { api: "$JS.hub.API" };
        const readBack = { api: "$JS.hub.API", deliver: "" };
        for (const version of [V2_9, V2_12]) {
            assert.deepEqual(compare({ name: "M", mirror: { name: "O", external } }, { name: "M", mirror: { name: "O", external: readBack } }, version), []);
            assert.deepEqual(compare({ ...BASE, sources: [{ name: "O", external }] }, { ...BASE, sources: [{ name: "O", external: readBack }] }, version), []);
        }
        const other = compare({ ...BASE, sources: [{ name: "O", external: { ...external, deliver: "d" } }] }, { ...BASE, sources: [{ name: "O", external: readBack }] }, V2_12);
        assert.deepEqual(other.map((c) => c.field), ["sources"], "a deliver prefix set is still compared");
    });

    test("(b) a mirror of a stream the server sees gets the origin's allow_direct: mirror_direct is not compared", () => {
        assert.deepEqual(compare({ name: "M", mirror: { name: "O" } }, { name: "M", mirror: { name: "O" }, mirror_direct: true }, V2_12), []);
        assert.deepEqual(compare({ name: "M", mirror: { name: "O" }, mirror_direct: true }, { name: "M", mirror: { name: "O" } }, V2_9), []);
        const external = { name: "O", external: { api: "$JS.hub.API" } };
        assert.equal(compare({ name: "M", mirror: external, mirror_direct: true }, { name: "M", mirror: external }, V2_12)[0]?.field, "mirror_direct",
            "an external origin is not looked up: the server keeps what is sent");
    });

    test("(b) mirrorDirect needs a mirror, in the server's words", () => {
        assert.deepEqual(refusals({ mirrorDirect: true }), ['mirrorDirect: needs a mirror: nats-server refuses it (10052 "stream has no mirror but does have mirror direct")']);
        assert.deepEqual(refusals({ subjects: [], mirror: { name: "O" }, mirrorDirect: true }), []);
    });

    test("(c) sealed is refused for a create, allowed as an update", () => {
        assert.deepEqual(createRefusals({ ...BASE, sealed: true }).map((r) => r.field), ["sealed"]);
        assert.match(createRefusals({ ...BASE, sealed: true })[0].reason, /stream configuration for create can not be sealed/);
        assert.deepEqual(createRefusals({ ...BASE, sealed: false }), []);
        const sealing = changes({}, { sealed: true }, V2_12);
        assert.deepEqual(sealing.map((c) => c.field), ["discard", "sealed", "deny_delete", "deny_purge"], "with what sealing forces");
        assert.ok(sealing.every((c) => c.change === "in-place"));
    });

    test("(d) firstSeq with a mirror, discardNewPerSubject without discard new and a per-subject limit", () => {
        assert.deepEqual(refusals({ subjects: [], mirror: { name: "O" }, firstSeq: 10 }),
            ['firstSeq: cannot be set on a mirror: nats-server refuses it (10143 "stream mirrors can not have first sequence configured")']);
        assert.deepEqual(refusals({ discardNewPerSubject: true }), [
            'discardNewPerSubject: needs discard "new": nats-server refuses it otherwise (10052 "discard new per subject requires discard new policy to be set")',
            'discardNewPerSubject: needs maxMsgsPerSubject > 0: nats-server refuses it otherwise (10052 "discard new per subject requires max msgs per subject > 0")',
        ]);
        assert.deepEqual(refusals({ discardNewPerSubject: true, discard: "new", maxMsgsPerSubject: 1 }), []);
    });
});

describe("the new inputs: schema, mapping both ways", () => {
    test("left unset they send nothing: the config is the one written before they existed", () => {
        const config = streamKind.toStreamConfig(streamKind.schema.parse({ name: "S", subjects: ["s.>"] }));
        for (const f of ["no_ack", "consumer_limits", "allow_msg_ttl", "subject_delete_marker_ttl", "allow_msg_counter", "allow_atomic", "allow_msg_schedules", "persist_mode"]) {
            assert.equal(f in config, false, f);
        }
    });

    test("set, they map to the server's fields and back", () => {
        const args = {
            name: "S", subjects: ["s.>"], noAck: true, consumerLimits: { inactiveThreshold: "1h", maxAckPending: 100 }, allowMsgTtl: true,
            subjectDeleteMarkerTtl: "15m", allowMsgSchedules: true, persistMode: "async",
        };
        const inputs = streamKind.schema.parse(args);
        const config = streamKind.toStreamConfig(inputs);
        assert.deepEqual(
            {
                no_ack: config.no_ack, consumer_limits: config.consumer_limits, allow_msg_ttl: config.allow_msg_ttl,
                subject_delete_marker_ttl: config.subject_delete_marker_ttl, allow_msg_schedules: config.allow_msg_schedules, persist_mode: config.persist_mode,
            },
            {
                no_ack: true, consumer_limits: { inactive_threshold: 3600e9, max_ack_pending: 100 }, allow_msg_ttl: true,
                subject_delete_marker_ttl: 900e9, allow_msg_schedules: true, persist_mode: "async",
            },
        );
        const back = streamKind.fromStreamConfig(config);
        assert.deepEqual(streamKind.schema.parse(back), inputs);
        assert.equal(streamKind.inputOf("subject_delete_marker_ttl"), "subjectDeleteMarkerTtl");
        assert.equal(streamKind.inputOf("consumer_limits"), "consumerLimits");
    });

    test("the settings the server refuses together, in its words", () => {
        assert.deepEqual(refusals({ allowMsgCounter: true, discard: "new", allowMsgTtl: true, retention: "interest" }), [
            'allowMsgCounter: needs discard "old": nats-server refuses it (10052 "counter stream cannot use discard new")',
            'allowMsgCounter: cannot be combined with message TTLs or delete markers: nats-server refuses it (10052 "counter stream cannot use message TTLs")',
            'allowMsgCounter: needs retention "limits": nats-server refuses it (10052 "counter stream can only use limits retention")',
        ]);
        assert.deepEqual(refusals({ persistMode: "async", storage: "memory", replicas: 3, allowAtomic: true }).length, 3);
        assert.deepEqual(refusals({ subjects: [], mirror: { name: "O" }, subjectDeleteMarkerTtl: "1m", allowMsgSchedules: true }).length, 2);
        assert.match(refusals({ subjectDeleteMarkerTtl: "500ms" })[0], /subjectDeleteMarkerTtl: must be at least 1s/);
        assert.match(refusals({ subjectDeleteMarkerTtl: "1m", denyPurge: true })[0], /denyPurge: .*silently turns deny purge off/);
    });

    test("KV markerTtl writes what nats.go's LimitMarkerTTL writes: the marker TTL with per-message TTLs on", () => {
        const config = keyValueKind.toStreamConfig(keyValueKind.schema.parse({ bucket: "b", markerTtl: "5m" }));
        assert.equal(config.allow_msg_ttl, true);
        assert.equal(config.subject_delete_marker_ttl, 300e9);
        assert.equal(keyValueKind.fromStreamConfig(config).markerTtl, "5m");
        assert.equal("allow_msg_ttl" in keyValueKind.toStreamConfig(keyValueKind.schema.parse({ bucket: "b" })), false);
        const mirrored = keyValueKind.schema.safeParse({ bucket: "b", mirror: { bucket: "o" }, markerTtl: "5m" });
        assert.match(JSON.stringify(mirrored.error?.issues), /subject delete markers forbidden on mirrors/);
        assert.deepEqual(effective(config).allow_rollup_hdrs, true);
    });
});

test("moving and scaling a stream in one update is refused, with the server's code; either alone is not", () => {
    const v: Version = [2, 12, 15];
    const both = changes({ num_replicas: 1 }, { num_replicas: 3, placement: { tags: ["ssd"] } }, v);
    assert.match(updateRefusals(both).join(), /move \(placement\) and scale \(replicas\) a stream in one update \(10123\)/);
    assert.deepEqual(updateRefusals(changes({ num_replicas: 1 }, { num_replicas: 3 }, v)), []);
    assert.deepEqual(updateRefusals(changes({}, { placement: { tags: ["ssd"] } }, v)), []);
});

