// The stream settings of 2.10-2.12 and the defects of issue 13, on every
// server line. Where a line knows a setting: set it, read the broker back,
// change it (in place, or planned as a replacement the update refuses), and
// let drift behind the provider's back show in read() and the next diff.
// Where it does not: the request is refused naming the setting and the
// version, and a raw request shows what the server would have done instead
// (dropped the field without a word).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { createRefusals } from "../../providers/plan.ts";
import { atLeast, type Field, parseVersion, RULES } from "../../providers/rules.ts";
import { provider as stream, streamKind } from "../../providers/stream.ts";
import { bothServerVersions, JsApiError } from "../harness/nats.ts";
import {
    brokerConfig, brokerForSuite, checked, created, isolateFromNatsEnv, type Props, type Provider, rawCreate, rawDelete, rawUpdate, rejects, streamInfo,
} from "./support.ts";

isolateFromNatsEnv();

interface Case {
    input: string;
    field: Field;
    /** The value a stream is created with, and what the broker then stores. */
    set: unknown;
    stored: unknown;
    /** Other fields the server turns on with this one. */
    alsoStored?: Record<string, unknown>;
    /** A change the server applies in place: to the input value, and what it stores (undefined: left out). */
    inPlace?: { to: unknown; stored: unknown };
    /** A change the server refuses (configUpdateCheck), so planned as a replacement. */
    replaceTo?: unknown;
    /** Switching the setting on for a stream made without it. */
    enable?: "in-place" | "replace";
}

const CASES: Case[] = [
    { input: "noAck", field: "no_ack", set: true, stored: true, inPlace: { to: false, stored: undefined }, enable: "in-place" },
    {
        input: "consumerLimits", field: "consumer_limits", set: { inactiveThreshold: "1h", maxAckPending: 100 },
        stored: { inactive_threshold: 3600e9, max_ack_pending: 100 }, inPlace: { to: { maxAckPending: 50 }, stored: { max_ack_pending: 50 } }, enable: "in-place",
    },
    { input: "allowMsgTtl", field: "allow_msg_ttl", set: true, stored: true, replaceTo: false, enable: "in-place" },
    {
        input: "subjectDeleteMarkerTtl", field: "subject_delete_marker_ttl", set: "1m", stored: 60e9,
        alsoStored: { allow_msg_ttl: true, allow_rollup_hdrs: true }, inPlace: { to: "2m", stored: 120e9 }, enable: "in-place",
    },
    { input: "allowMsgCounter", field: "allow_msg_counter", set: true, stored: true, replaceTo: false, enable: "replace" },
    { input: "allowAtomic", field: "allow_atomic", set: true, stored: true, inPlace: { to: false, stored: undefined }, enable: "in-place" },
    {
        input: "allowMsgSchedules", field: "allow_msg_schedules", set: true, stored: true, alsoStored: { allow_rollup_hdrs: true },
        replaceTo: false, enable: "in-place",
    },
    { input: "persistMode", field: "persist_mode", set: "async", stored: "async", replaceTo: "default", enable: "replace" },
];

const errorText = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** check() as the engine calls it for a resource the stack already has (no adoption to judge): the checked inputs. */
async function checkedUpdate(p: Provider, olds: Props, raw: Record<string, unknown>): Promise<Record<string, unknown>> {
    const r = await p.check!(olds, raw);
    assert.equal(r.failures, undefined, JSON.stringify(r.failures));
    return r.inputs as Record<string, unknown>;
}

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);
        const v = parseVersion(version.version);

        CASES.forEach((c, n) => {
            const since = RULES[c.field].since.join(".");
            const name = `SET${n}`;
            const args = { name, subjects: [`set${n}.>`] };

            if (!atLeast(v, RULES[c.field].since)) {
                test(`${c.input}: refused, naming ${c.field} and ${since}; the server would have dropped it`, async () => {
                    const inputs = await checked(stream, { ...args, [c.input]: c.set });
                    await rejects(stream.create(inputs), new RegExp(`nats-server ${version.version} does not support ${c.field} \\(needs nats-server >= ${since}\\)`));
                    assert.equal(await streamInfo(broker.nc, name), undefined, "nothing was created");
                    // What the guard prevents: 2.9 and 2.10 drop an unknown field, 2.11 does so with a warning in its log.
                    const kept = await rawCreate(broker.nc, streamKind.toStreamConfig(streamKind.schema.parse(inputs)));
                    assert.equal(kept[c.field], undefined);
                    await rawDelete(broker.nc, name);
                });
                return;
            }

            describe(c.input, () => {
                test(`set: the broker stores ${c.field}, read back as the input, and plans no change`, async () => {
                    const { id, outs, inputs, stored } = await created(stream, { ...args, [c.input]: c.set });
                    const config = await brokerConfig(broker.nc, name);
                    assert.deepEqual(config[c.field], c.stored);
                    for (const [f, value] of Object.entries(c.alsoStored ?? {})) assert.deepEqual(config[f], value, f);
                    assert.deepEqual(stored[c.input], c.set);
                    const plan = await stream.diff!(id, outs, inputs);
                    assert.equal(plan.changes, false, JSON.stringify(plan));
                });

                if (c.inPlace) {
                    const { to, stored } = c.inPlace;
                    test(`change in place to ${JSON.stringify(to)}, read back`, async () => {
                        const outs = (await stream.read!(name, { stream: name } as never)).props as Props;
                        const news = await checkedUpdate(stream, outs, { ...args, [c.input]: to });
                        const plan = await stream.diff!(name, outs, news);
                        assert.equal(plan.changes, true);
                        assert.deepEqual(plan.replaces, []);
                        const { outs: updated } = await stream.update!(name, outs, news);
                        assert.deepEqual((await brokerConfig(broker.nc, name))[c.field], stored);
                        assert.equal((await stream.diff!(name, updated, news)).changes, false);
                    });

                    test("drift: changed behind the provider's back, read() shows it and the next diff plans it back", async () => {
                        const { inputs } = await created(stream, { ...args, [c.input]: c.set });
                        await rawUpdate(broker.nc, name, { [c.field]: c.inPlace!.stored });
                        const r = await stream.read!(name, { stream: name } as never);
                        assert.notDeepEqual(r.inputs![c.input], c.set);
                        const plan = await stream.diff!(name, r.props as Props, inputs);
                        assert.equal(plan.changes, true);
                        assert.deepEqual(plan.replaces, []);
                        await stream.update!(name, r.props as Props, inputs);
                        assert.deepEqual((await brokerConfig(broker.nc, name))[c.field], c.stored);
                    });
                }

                if (c.replaceTo !== undefined) {
                    test(`change to ${JSON.stringify(c.replaceTo)} plans a replacement; the update refuses it, nothing changed`, async () => {
                        const outs = (await stream.read!(name, { stream: name } as never)).props as Props;
                        const news = await checkedUpdate(stream, outs, { ...args, [c.input]: c.replaceTo });
                        assert.deepEqual((await stream.diff!(name, outs, news)).replaces, [c.input]);
                        await rejects(stream.update!(name, outs, news), new RegExp(`cannot change in place: ${c.input}`));
                        assert.deepEqual((await brokerConfig(broker.nc, name))[c.field], c.stored);
                        // The server's own refusal, for the record.
                        await assert.rejects(rawUpdate(broker.nc, name, { [c.field]: c.replaceTo }), JsApiError);
                    });
                }

                if (c.enable) {
                    test(`switched on for a stream made without it: ${c.enable}`, async () => {
                        const made = `${name}_ON`;
                        const { id, outs } = await created(stream, { name: made, subjects: [`set${n}on.>`] });
                        const news = await checkedUpdate(stream, outs, { name: made, subjects: [`set${n}on.>`], [c.input]: c.set });
                        const plan = await stream.diff!(id, outs, news);
                        assert.equal(plan.changes, true);
                        if (c.enable === "replace") {
                            assert.deepEqual(plan.replaces, [c.input]);
                            await assert.rejects(rawUpdate(broker.nc, made, { [c.field]: c.stored }), JsApiError, "the server refuses it too");
                        } else {
                            assert.deepEqual(plan.replaces, []);
                            await stream.update!(id, outs, news);
                            assert.deepEqual((await brokerConfig(broker.nc, made))[c.field], c.stored);
                        }
                    });
                }
            });
        });

        describe("KV markerTtl", () => {
            if (!atLeast(v, [2, 11, 0])) {
                test("refused, naming subject_delete_marker_ttl and 2.11.0", async () => {
                    const inputs = await checked(keyValue, { bucket: "markers", markerTtl: "1m" });
                    await rejects(keyValue.create(inputs), /does not support .*subject_delete_marker_ttl \(needs nats-server >= 2\.11\.0\)/);
                    assert.equal(await streamInfo(broker.nc, "KV_markers"), undefined);
                });
                return;
            }
            test("the bucket's stream gets the marker TTL with message TTLs on (as nats.go writes it); nats.js reads it back", async () => {
                const { id, outs, inputs, stored } = await created(keyValue, { bucket: "markers", markerTtl: "1m" });
                const config = await brokerConfig(broker.nc, "KV_markers");
                assert.equal(config.subject_delete_marker_ttl, 60e9);
                assert.equal(config.allow_msg_ttl, true);
                assert.equal(config.allow_rollup_hdrs, true);
                assert.equal(config.deny_delete, true);
                assert.equal(stored.markerTtl, "1m");
                assert.equal((await keyValue.diff!(id, outs, inputs)).changes, false);
                const kv = await broker.nc.jetstream().views.kv("markers");
                await kv.put("k", new TextEncoder().encode("v"));
                assert.equal(new TextDecoder().decode((await kv.get("k"))!.value), "v");
            });

            test("removing it keeps message TTLs, which cannot be switched off: planned as a replacement", async () => {
                const outs = (await keyValue.read!("KV_markers", { stream: "KV_markers" } as never)).props as Props;
                // The bucket holds a key: the replacement needs the data-loss opt-in to pass check.
                const news = await checkedUpdate(keyValue, outs, { bucket: "markers", allowDataLoss: true });
                assert.deepEqual((await keyValue.diff!("KV_markers", outs, news)).replaces, ["markerTtl"]);
            });
        });

        describe("issue 13 defects", () => {
            test("(a) an external source and mirror without deliver: no change planned against the broker's read-back", async () => {
                const external = { api: "$JS.hub.API" };
                const src = await created(stream, { name: "EXT_SRC", sources: [{ name: "ORIGIN", external }] });
                assert.deepEqual((await brokerConfig(broker.nc, "EXT_SRC")).sources, [{ name: "ORIGIN", external: { api: "$JS.hub.API", deliver: "" } }]);
                assert.equal((await stream.diff!(src.id, src.outs, src.inputs)).changes, false);
                const mirror = await created(stream, { name: "EXT_MIRROR", mirror: { name: "ORIGIN", external } });
                const plan = await stream.diff!(mirror.id, mirror.outs, mirror.inputs);
                assert.deepEqual([plan.changes, plan.replaces], [false, []]);
            });

            test("(b) a mirror gets its origin's allow_direct as mirror_direct: no change planned, none refused", async () => {
                await created(stream, { name: "DIRECT_ORIGIN", subjects: ["direct.>"], allowDirect: true });
                const mirror = await created(stream, { name: "DIRECT_MIRROR", mirror: { name: "DIRECT_ORIGIN" } });
                assert.equal((await brokerConfig(broker.nc, "DIRECT_MIRROR")).mirror_direct, true, "the server's choice");
                assert.equal((await stream.diff!(mirror.id, mirror.outs, mirror.inputs)).changes, false);
            });

            test("(b) mirrorDirect without a mirror: check refuses what the server's create refuses", async () => {
                const r = await stream.check!({}, { name: "NO_MIRROR", subjects: ["nomirror.>"], mirrorDirect: true });
                assert.match(JSON.stringify(r.failures), /stream has no mirror but does have mirror direct/);
                const refusal = await rawCreate(broker.nc, { name: "NO_MIRROR", subjects: ["nomirror.>"], mirror_direct: true }).then(() => "", errorText);
                assert.match(refusal, /stream has no mirror but does have mirror direct/);
            });

            test("(c) sealed: the server refuses it in a create, as createRefusals says; an update seals", async () => {
                const config = streamKind.toStreamConfig(streamKind.schema.parse({ name: "SEALED", subjects: ["sealed.>"], sealed: true }));
                const reason = createRefusals(config)[0].reason;
                const refusal = await rawCreate(broker.nc, config).then(() => "", errorText);
                assert.match(refusal, /stream configuration for create can not be sealed/);
                assert.ok(reason.includes("stream configuration for create can not be sealed"));

                const { id, outs } = await created(stream, { name: "SEALED", subjects: ["sealed.>"] });
                const news = await checkedUpdate(stream, outs, { name: "SEALED", subjects: ["sealed.>"], sealed: true });
                assert.deepEqual((await stream.diff!(id, outs, news)).replaces, []);
                const { outs: updated } = await stream.update!(id, outs, news);
                assert.equal((await brokerConfig(broker.nc, "SEALED")).sealed, true);
                assert.equal((await stream.diff!(id, updated, news)).changes, false);
            });

            test("(d) firstSeq with a mirror: check refuses what the server refuses (2.10+)", async () => {
                const r = await stream.check!({}, { name: "FS_MIRROR", mirror: { name: "DIRECT_ORIGIN" }, firstSeq: 10 });
                assert.match(JSON.stringify(r.failures), /stream mirrors can not have first sequence configured/);
                if (atLeast(v, RULES.first_seq.since)) {
                    const refusal = await rawCreate(broker.nc, { name: "FS_MIRROR", mirror: { name: "DIRECT_ORIGIN" }, first_seq: 10 }).then(() => "", errorText);
                    assert.match(refusal, /10143/);
                }
            });
        });
    });
}
