// Create and adopt, on every server line: what the providers create equals
// what the kanade backend's async-nats 0.49 bootstrap leaves on the broker
// (the golden fixtures), an existing stream is adopted and reconciled in
// place with its data, and what cannot be reconciled or is too new for the
// server fails before anything is touched.
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { before, describe, test } from "node:test";
import { keyValueKind, provider as keyValue } from "../../providers/keyValue.ts";
import { objectStoreKind, provider as objectStore } from "../../providers/objectStore.ts";
import { type StreamConfig } from "../../providers/rules.ts";
import { provider as stream, streamKind } from "../../providers/stream.ts";
import { bothServerVersions } from "../harness/nats.ts";
import {
    brokerConfig, brokerForSuite, checked, created, golden, isolateFromNatsEnv, messages, precap, type Props, type Provider, publish, rawCreate,
    rawDelete, rejects, streamInfo,
} from "./support.ts";

isolateFromNatsEnv();

const FIXTURES_2_12 = join(import.meta.dirname, "..", "fixtures", "async-nats-0.49", "server-2.12");

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);
        const is29 = version.label === "2.9";

        describe("create equals the async-nats bootstrap's stream", () => {
            test("stream EXEC as the seed declares it", async () => {
                const { id, outs, stored } = await created(stream, { name: "EXEC", subjects: ["commands.>"], maxBytes: "64MiB", maxAge: "7d", maxMsgsPerSubject: 1 });
                assert.equal(id, "EXEC");
                assert.deepEqual(await brokerConfig(broker.nc, "EXEC"), golden(version, "EXEC"));
                assert.equal(outs.stream, "EXEC");
                assert.deepEqual(outs.config, await brokerConfig(broker.nc, "EXEC"), "state keeps the broker's config without _nats.* metadata");
                assert.equal(stored.maxBytes, "64MiB");
                assert.equal(stored.maxAge, "7d");
                assert.equal(outs.allowDataLoss, false);
            });

            test("KV bucket schedules, history 5", async () => {
                const { id, outs, stored } = await created(keyValue, { bucket: "schedules", history: 5 });
                assert.equal(id, "KV_schedules");
                assert.deepEqual(await brokerConfig(broker.nc, "KV_schedules"), golden(version, "KV_schedules"));
                assert.equal(stored.bucket, "schedules");
                assert.equal(stored.history, 5);
                assert.equal(outs.stream, "KV_schedules");
            });

            test("object store result_output, ttl 30d, 1GiB", async () => {
                const { id, stored } = await created(objectStore, { bucket: "result_output", maxBytes: "1GiB", ttl: "30d" });
                assert.equal(id, "OBJ_result_output");
                assert.deepEqual(await brokerConfig(broker.nc, "OBJ_result_output"), golden(version, "OBJ_result_output"));
                assert.equal(stored.ttl, "30d");
                assert.equal(stored.maxBytes, "1GiB");
                await rawDelete(broker.nc, "OBJ_result_output"); // the adopt test below creates it the pre-cap way
            });

            test("a second create of the same inputs adopts it unchanged", async () => {
                const before = await brokerConfig(broker.nc, "KV_schedules");
                const { id, stored } = await created(keyValue, { bucket: "schedules", history: 5 });
                assert.equal(id, "KV_schedules");
                assert.equal(stored.history, 5);
                assert.deepEqual(await brokerConfig(broker.nc, "KV_schedules"), before);
            });

            test("every seed resource, its inputs read off the golden config", async () => {
                const names = readdirSync(FIXTURES_2_12).map((f) => f.replace(/\.json$/, "")).filter((n) => n !== "EXEC" && n !== "KV_schedules");
                assert.ok(names.length >= 20);
                for (const name of names) {
                    const want = golden(version, name);
                    const [kind, p] = (name.startsWith("KV_") ? [keyValueKind, keyValue] : name.startsWith("OBJ_") ? [objectStoreKind, objectStore] : [streamKind, stream]) as [typeof streamKind, Provider];
                    const { id } = await created(p, kind.fromStreamConfig(want as StreamConfig) as Record<string, unknown>);
                    assert.equal(id, name);
                    assert.deepEqual(await brokerConfig(broker.nc, name), want, name);
                    await rawDelete(broker.nc, name); // reservations add up to ~11GiB otherwise
                }
            });
        });

        describe("adopt and reconcile", () => {
            test("the pre-cap result_output store gets its cap and ttl, objects intact (#506)", async () => {
                await rawCreate(broker.nc, precap("OBJ_result_output"));
                const os = await broker.nc.jetstream().views.os("result_output");
                const objects = new Map<string, Uint8Array>([
                    ["run-1/stdout", new TextEncoder().encode("hello from run 1\n".repeat(100))],
                    ["run-2/stdout", new Uint8Array(300_000).map((_, i) => i % 251)],
                    ["run-3/stderr", new TextEncoder().encode("")],
                ]);
                for (const [name, data] of objects) await os.putBlob({ name }, data);
                const before = await messages(broker.nc, "OBJ_result_output");
                assert.ok(before >= 6);

                const { stored } = await created(objectStore, { bucket: "result_output", maxBytes: "1GiB", ttl: "30d" });

                assert.deepEqual(await brokerConfig(broker.nc, "OBJ_result_output"), golden(version, "OBJ_result_output"));
                assert.equal(stored.maxBytes, "1GiB");
                assert.equal(stored.ttl, "30d");
                assert.equal(await messages(broker.nc, "OBJ_result_output"), before);
                const after = await broker.nc.jetstream().views.os("result_output");
                for (const [name, data] of objects) assert.deepEqual(Buffer.from((await after.getBlob(name))!), Buffer.from(data), name);
            });

            test("a stream with messages gets a new max_bytes; messages and the no_ack it was made with kept", async () => {
                await rawCreate(broker.nc, { name: "ADOPT_S", subjects: ["adopt.s.>"], no_ack: true });
                broker.nc.publish("adopt.s.x", new Uint8Array(10)); // no_ack: the stream sends no ack to wait for
                await broker.nc.flush();
                await rawCreate(broker.nc, { name: "ADOPT_T", subjects: ["adopt.t.>"] });
                await publish(broker.nc, "adopt.t.x", 5);

                const { stored } = await created(stream, { name: "ADOPT_T", subjects: ["adopt.t.>"], maxBytes: "1MiB", maxAge: "1d" });
                const config = await brokerConfig(broker.nc, "ADOPT_T");
                assert.equal(config.max_bytes, 1024 * 1024);
                assert.equal(config.max_age, 86400e9);
                assert.equal(await messages(broker.nc, "ADOPT_T"), 5);
                assert.equal(stored.maxBytes, "1MiB");

                await created(stream, { name: "ADOPT_S", subjects: ["adopt.s.>"], maxBytes: "1MiB", noAck: true });
                const s = await brokerConfig(broker.nc, "ADOPT_S");
                assert.equal(s.max_bytes, 1024 * 1024);
                assert.equal(s.no_ack, true);
            });

            test("a KV bucket made by nats.js (deny_delete false) is adopted with history and deny_delete set", async () => {
                const kv = await broker.nc.jetstream().views.kv("adopted", { history: 1 });
                await kv.put("a", new TextEncoder().encode("1"));
                await kv.put("b", new TextEncoder().encode("2"));
                await created(keyValue, { bucket: "adopted", history: 5 });
                const config = await brokerConfig(broker.nc, "KV_adopted");
                assert.equal(config.max_msgs_per_subject, 5);
                assert.equal(config.deny_delete, true);
                const again = await broker.nc.jetstream().views.kv("adopted");
                assert.equal(new TextDecoder().decode((await again.get("b"))!.value), "2");
            });

            test("an immutable difference (storage) fails naming the field and the way out; nothing touched", async () => {
                await rawCreate(broker.nc, { name: "ADOPT_MEM", subjects: ["adopt.mem.>"], storage: "memory" });
                await publish(broker.nc, "adopt.mem.x", 3);
                const before = await brokerConfig(broker.nc, "ADOPT_MEM");

                const patterns = [/stream "ADOPT_MEM"/, /storage \(storage: "memory" -> "file"\)/, new RegExp(`nats-server ${version.version.replace(/\./g, "\\.")}`),
                    /cannot change in place/, /Make the program match the broker/, /nats stream rm/];
                // Refused in preview already: check() of a resource new to the stack judges the adoption.
                const { inputs, failures } = await stream.check!({}, { name: "ADOPT_MEM", subjects: ["adopt.mem.>"], storage: "file", maxBytes: "1MiB" });
                assert.equal(failures?.length, 1, JSON.stringify(failures));
                for (const p of patterns) assert.match(failures[0].reason, p);
                assert.doesNotMatch(failures[0].reason, /max_bytes|maxBytes/, "only the blocking field is named");
                // And by create, should the broker have changed since.
                const message = await rejects(stream.create(inputs), ...patterns);
                assert.doesNotMatch(message, /max_bytes|maxBytes/, "only the blocking field is named");

                assert.deepEqual(await brokerConfig(broker.nc, "ADOPT_MEM"), before, "the mutable max_bytes was not applied either");
                assert.equal(await messages(broker.nc, "ADOPT_MEM"), 3);
            });

            test(`retention limits -> interest on adopt: ${is29 ? "refused on 2.9" : "applied in place"}`, async () => {
                await rawCreate(broker.nc, { name: "ADOPT_RET", subjects: ["adopt.ret.>"] });
                const raw = { name: "ADOPT_RET", subjects: ["adopt.ret.>"], retention: "interest" };
                if (is29) {
                    const { inputs, failures } = await stream.check!({}, raw);
                    assert.match(failures?.[0]?.reason ?? "", /retention \(retention: "limits" -> "interest"\)/, "refused in preview");
                    await rejects(stream.create(inputs), /retention \(retention: "limits" -> "interest"\)/);
                    assert.equal((await brokerConfig(broker.nc, "ADOPT_RET")).retention, "limits");
                } else {
                    await created(stream, raw);
                    assert.equal((await brokerConfig(broker.nc, "ADOPT_RET")).retention, "interest");
                }
            });
        });

        describe("fields newer than the server", () => {
            if (is29) {
                test("stream compression s2 fails naming compression and the version; nothing created", async () => {
                    await rejects(created(stream, { name: "COMP", subjects: ["comp.>"], compression: "s2" }),
                        /stream "COMP"/, /create failed/, /nats-server 2\.9\.\d+ does not support compression \(needs nats-server >= 2\.10\.0\)/);
                    assert.equal(await streamInfo(broker.nc, "COMP"), undefined);
                });

                test("KV and object store compression fail the same way", async () => {
                    await rejects(created(keyValue, { bucket: "comp", compression: true }), /KV bucket "comp"/, /compression/, /2\.9\./);
                    assert.equal(await streamInfo(broker.nc, "KV_comp"), undefined);
                    await rejects(created(objectStore, { bucket: "comp", compression: true }), /object store "comp"/, /compression/, /2\.9\./);
                    assert.equal(await streamInfo(broker.nc, "OBJ_comp"), undefined);
                });

                test("adopting an existing stream with compression s2 fails too, and leaves it alone", async () => {
                    await rawCreate(broker.nc, { name: "COMP_ADOPT", subjects: ["comp.adopt.>"] });
                    await rejects(created(stream, { name: "COMP_ADOPT", subjects: ["comp.adopt.>"], compression: "s2" }),
                        /stream "COMP_ADOPT"/, /does not support compression/);
                    await rejects(created(stream, { name: "COMP_ADOPT", subjects: ["comp.adopt.>"], maxBytes: "1MiB", compression: "s2" }),
                        /does not support compression/);
                    assert.equal((await brokerConfig(broker.nc, "COMP_ADOPT")).max_bytes, -1);
                });

                test("metadata fails, default-valued newer fields are dropped", async () => {
                    await rejects(created(stream, { name: "META", subjects: ["meta.>"], metadata: { owner: "ops" } }), /does not support metadata/);
                    await created(stream, { name: "PLAIN", subjects: ["plain.>"], compression: "none", metadata: {} });
                    const plain = await brokerConfig(broker.nc, "PLAIN");
                    assert.equal(plain.compression, undefined);
                    assert.equal(plain.metadata, undefined);
                });
            } else {
                test("stream compression s2 applies", async () => {
                    const { stored } = await created(stream, { name: "COMP", subjects: ["comp.>"], compression: "s2" });
                    assert.equal((await brokerConfig(broker.nc, "COMP")).compression, "s2");
                    assert.equal(stored.compression, "s2");
                });

                test("KV and object store compression apply", async () => {
                    const kv = await created(keyValue, { bucket: "comp", compression: true });
                    assert.equal((await brokerConfig(broker.nc, "KV_comp")).compression, "s2");
                    assert.equal(kv.stored.compression, true);
                    await created(objectStore, { bucket: "comp", compression: true });
                    assert.equal((await brokerConfig(broker.nc, "OBJ_comp")).compression, "s2");
                });

                test("user metadata applies next to the server's own keys", async () => {
                    const { outs, stored } = await created(stream, { name: "META", subjects: ["meta.>"], metadata: { owner: "ops" } });
                    assert.deepEqual((await brokerConfig(broker.nc, "META")).metadata, { owner: "ops" });
                    assert.deepEqual(stored.metadata, { owner: "ops" });
                    assert.deepEqual((outs.config as { metadata: unknown }).metadata, { owner: "ops" }, "no _nats.* keys in state");
                });
            }
        });

        test("replicas > 1 on a single server fails before anything is created (a cluster is needed)", async () => {
            await rejects(created(stream, { name: "R3ALONE", subjects: ["r3alone"], replicas: 3 }),
                /stream "R3ALONE"/, /replicas 3 needs a JetStream cluster/, /runs alone: use replicas 1/);
            assert.equal(await streamInfo(broker.nc, "R3ALONE"), undefined);
            const { id, outs, inputs } = await created(stream, { name: "R1ALONE", subjects: ["r1alone"] });
            await rejects(stream.diff!(id, outs, { ...inputs, replicas: 3 }), /replicas 3 needs a JetStream cluster/);
        });

        describe("every setting round-trips: created, read back and planned without a difference", () => {
            const cases: { label: string; p: Provider; args: Record<string, unknown>; since12?: boolean; refreshed?: Record<string, unknown> }[] = [
                { label: "stream republish", p: stream, args: { name: "RT_REPUB", subjects: ["rt.repub.>"], republish: { src: "rt.repub.>", dest: "out.repub.>" } } },
                { label: "stream republish headers only", p: stream, args: { name: "RT_REPUBH", subjects: ["rt.repubh.>"], republish: { src: "rt.repubh.>", dest: "out.repubh.>", headersOnly: true } } },
                { label: "stream placement cluster", p: stream, args: { name: "RT_PLC", subjects: ["rt.plc"], placement: { cluster: "east" } } },
                { label: "stream placement tags", p: stream, args: { name: "RT_PLT", subjects: ["rt.plt"], placement: { tags: ["ssd", "eu"] } } },
                {
                    label: "stream limits and flags", p: stream, args: {
                        name: "RT_FLAGS", subjects: ["rt.flags.*", "rt.flags2"], description: "every flag", retention: "limits", maxMsgs: 1000, maxMsgSize: "64KiB",
                        maxConsumers: 7, maxMsgsPerSubject: 3, discard: "new", discardNewPerSubject: true, duplicateWindow: "1m", maxAge: "1h",
                        allowRollup: true, denyDelete: true, denyPurge: false, allowDirect: true, maxBytes: "10MiB",
                    },
                },
                { label: "stream interest retention", p: stream, args: { name: "RT_INT", subjects: ["rt.int"], retention: "interest" } },
                { label: "stream workqueue retention, memory", p: stream, args: { name: "RT_WQ", subjects: ["rt.wq"], retention: "workqueue", storage: "memory" } },
                // The broker stores its default subject; refresh reports it, the plan counts it as equal to none.
                { label: "stream without subjects (the server's default)", p: stream, args: { name: "RT_NOSUBJ" }, refreshed: { subjects: ["RT_NOSUBJ"] } },
                { label: "stream mirror", p: stream, args: { name: "RT_MIRROR", mirror: { name: "RT_ORIGIN" } } },
                { label: "stream sources", p: stream, args: { name: "RT_AGG", sources: [{ name: "RT_ORIGIN", filterSubject: "rt.origin.a", optStartSeq: 2 }, { name: "RT_INT" }] } },
                { label: "stream subject transform, metadata, first seq, compression", p: stream, since12: true, args: {
                    name: "RT_NEW", subjects: ["rt.new.>"], subjectTransform: { src: "rt.new.>", dest: "moved.>" }, metadata: { owner: "ops", tier: "1" },
                    firstSeq: 100, compression: "s2",
                } },
                { label: "KV with every setting", p: keyValue, args: {
                    bucket: "rt_full", description: "d", history: 10, ttl: "30s", maxBytes: "1MiB", maxValueSize: "1KiB", storage: "memory",
                    placement: { tags: ["a"] }, republish: { src: "$KV.rt_full.>", dest: "kvout.>" },
                } },
                { label: "KV mirror", p: keyValue, args: { bucket: "rt_kvmirror", mirror: { bucket: "rt_origin" } } },
                { label: "KV sources", p: keyValue, args: { bucket: "rt_kvagg", sources: [{ bucket: "rt_origin" }] } },
                { label: "KV metadata", p: keyValue, since12: true, args: { bucket: "rt_kvmeta", metadata: { owner: "ops" } } },
                { label: "object store with every setting", p: objectStore, args: { bucket: "rt_obj", description: "d", ttl: "1d", maxBytes: "1MiB", storage: "memory", placement: { cluster: "c" } } },
                { label: "object store metadata", p: objectStore, since12: true, args: { bucket: "rt_objmeta", metadata: { owner: "ops" } } },
            ];

            before(async () => {
                await created(stream, { name: "RT_ORIGIN", subjects: ["rt.origin.>"] });
                await created(keyValue, { bucket: "rt_origin" });
            });

            for (const c of cases) {
                if (c.since12 && is29) continue;
                test(c.label, async () => {
                    const { id, outs, inputs } = await created(c.p, c.args);
                    assert.deepEqual(await c.p.diff!(id, outs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false }, "no plan after create");
                    const r = await c.p.read!(id, outs);
                    assert.deepEqual(r.props, outs, "refresh finds what create stored");
                    assert.deepEqual(r.inputs, { ...inputs, ...c.refreshed }, "refresh gives back the program's inputs");
                    assert.deepEqual(await c.p.diff!(id, r.props as Props, inputs), { changes: false, replaces: [], deleteBeforeReplace: false }, "no plan after refresh");
                    assert.deepEqual(await c.p.create(inputs).then((x) => x.outs), outs, "adopting it again changes nothing");
                });
            }
        });

        test("a subject another stream captures fails with the broker's code and advice", async () => {
            await rawCreate(broker.nc, { name: "OWNER", subjects: ["owned.>"] });
            await rejects(created(stream, { name: "INTRUDER", subjects: ["owned.x"] }), /stream "INTRUDER": create failed/, /10065/, /another stream on the broker/);
        });

        test("check output is what create takes: the same create twice through check is stable", async () => {
            const inputs = await checked(stream, { name: "TWICE", subjects: ["twice.>"], maxAge: 90 });
            const first = await stream.create(inputs);
            const second = await stream.create(inputs);
            assert.deepEqual(second.outs, first.outs);
        });
    });
}
