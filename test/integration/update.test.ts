// Diff, update and refresh on every server line: mutable settings change in
// place (read back from the broker), immutable ones plan a replacement, the
// version rules decide retention, and drift made behind the providers' back
// shows up in read() and the next diff.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as objectStore } from "../../providers/objectStore.ts";
import { atLeast, parseVersion } from "../../providers/rules.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions } from "../harness/nats.ts";
import {
    brokerConfig, brokerForSuite, checked, created, isolateFromNatsEnv, messages, type Props, publish, rawDelete, rawUpdate, rejects, streamInfo,
} from "./support.ts";

isolateFromNatsEnv();

const MiB = 1024 ** 2;

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}`, () => {
        const broker = brokerForSuite(version);
        const is29 = version.label === "2.9";
        // Mirror promotion applies in place from 2.12.0, a max_consumers change from 2.12.5 (rules.ts).
        const promotes = atLeast(parseVersion(version.version), [2, 12, 0]);
        const maxConsumersInPlace = atLeast(parseVersion(version.version), [2, 12, 5]);

        describe("in-place updates", () => {
            test("drift in a setting the kind fixes (a KV bucket's discard): read shows it as drift, diff plans the update, update puts it back", async () => {
                const { id, outs, inputs } = await created(keyValue, { bucket: "drift_fixed", history: 2 });
                await rawUpdate(broker.nc, "KV_drift_fixed", { discard: "old" });
                const read = await keyValue.read!(id, outs);
                assert.deepEqual((read.inputs as { drift?: unknown }).drift, { discard: "old" });
                const diff = await keyValue.diff!(id, read.props as Props, inputs);
                assert.equal(diff.changes, true);
                assert.deepEqual(diff.replaces, []);
                await keyValue.update!(id, read.props as Props, inputs);
                assert.equal((await brokerConfig(broker.nc, "KV_drift_fixed")).discard, "new");
                const again = await keyValue.read!(id, read.props as Props);
                assert.equal((again.inputs as { drift?: unknown }).drift, undefined);
            });

            test("stream maxBytes, maxAge and subjects: diff in place, update read back, messages kept", async () => {
                const args = { name: "UPD", subjects: ["upd.a.>"], maxBytes: "1MiB", maxAge: "1h" };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "upd.a.x", 4);

                const news = await checked(stream, { ...args, subjects: ["upd.a.>", "upd.b.>"], maxBytes: "2MiB", maxAge: "2h" });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: updated } = await stream.update!(id, outs, news);

                const config = await brokerConfig(broker.nc, "UPD");
                assert.equal(config.max_bytes, 2 * MiB);
                assert.equal(config.max_age, 7200e9);
                assert.deepEqual(config.subjects, ["upd.a.>", "upd.b.>"]);
                assert.equal(await messages(broker.nc, "UPD"), 4);
                assert.deepEqual(updated.config, config);
                const back = (await stream.read!(id, updated as Props)).inputs!;
                assert.equal(back.maxBytes, "2MiB");
                assert.equal(back.maxAge, "2h");
                assert.deepEqual(await stream.diff!(id, updated as Props, news), { changes: false, replaces: [], deleteBeforeReplace: false });
            });

            test("a maxAge below 2m moves the server's duplicate window along", async () => {
                const args = { name: "UPD_SHORT", subjects: ["upd.short.>"] };
                const { id, outs } = await created(stream, args);
                const news = await checked(stream, { ...args, maxAge: "30s" });
                assert.equal((await stream.diff!(id, outs, news)).changes, true);
                await stream.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "UPD_SHORT");
                assert.equal(config.max_age, 30e9);
                assert.equal(config.duplicate_window, 30e9);
            });

            test("a setting left out of the program goes back to the default (the API replaces the config)", async () => {
                const args = { name: "UPD_RESET", subjects: ["upd.reset.>"], maxMsgs: 100, description: "resettable" };
                const { id, outs } = await created(stream, args);
                const news = await checked(stream, { name: "UPD_RESET", subjects: ["upd.reset.>"] });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                await stream.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "UPD_RESET");
                assert.equal(config.max_msgs, -1);
                assert.equal(config.description, undefined);
            });

            test("KV history and ttl", async () => {
                const { id, outs } = await created(keyValue, { bucket: "upd", history: 1 });
                const news = await checked(keyValue, { bucket: "upd", history: 5, ttl: "1d", maxBytes: "10MiB" });
                assert.deepEqual(await keyValue.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: updated } = await keyValue.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "KV_upd");
                assert.equal(config.max_msgs_per_subject, 5);
                assert.equal(config.max_age, 86400e9);
                assert.equal(config.max_bytes, 10 * MiB);
                assert.equal(config.deny_delete, true);
                const back = (await keyValue.read!(id, updated as Props)).inputs!;
                assert.equal(back.history, 5);
                assert.equal(back.ttl, "1d");
            });

            test("object store maxBytes and ttl", async () => {
                const { id, outs } = await created(objectStore, { bucket: "upd", maxBytes: "1MiB" });
                const news = await checked(objectStore, { bucket: "upd", maxBytes: "4MiB", ttl: "30d" });
                assert.deepEqual(await objectStore.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                await objectStore.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "OBJ_upd");
                assert.equal(config.max_bytes, 4 * MiB);
                assert.equal(config.max_age, 30 * 86400e9);
            });

            test("deny_delete false -> true in place", async () => {
                const args = { name: "UPD_DENY", subjects: ["upd.deny.>"] };
                const { id, outs } = await created(stream, args);
                const news = await checked(stream, { ...args, denyDelete: true });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: updated } = await stream.update!(id, outs, news);
                assert.equal((await brokerConfig(broker.nc, "UPD_DENY")).deny_delete, true);

                // check() with the resource's olds, as the engine calls it for one the stack has
                // (check with none judges an adoption, and adopting this would be refused).
                const back = (await stream.check!(updated, { ...args, denyDelete: false })).inputs;
                assert.deepEqual(await stream.diff!(id, updated as Props, back), { changes: true, replaces: ["denyDelete"], deleteBeforeReplace: true });
            });

            test("only allowDataLoss changed: a change, nothing sent to the broker", async () => {
                const { id, outs } = await created(stream, { name: "UPD_ADL", subjects: ["upd.adl.>"] });
                const before = await brokerConfig(broker.nc, "UPD_ADL");
                const news = await checked(stream, { name: "UPD_ADL", subjects: ["upd.adl.>"], allowDataLoss: true });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: updated } = await stream.update!(id, outs, news);
                assert.equal(updated.allowDataLoss, true);
                assert.deepEqual(await brokerConfig(broker.nc, "UPD_ADL"), before);
            });
        });

        describe("mirrors, sources, sealing", () => {
            before(async () => {
                await created(stream, { name: "MS_ORIGIN", subjects: ["ms.origin.>"] });
                await created(stream, { name: "MS_OTHER", subjects: ["ms.other.>"] });
                await publish(broker.nc, "ms.origin.a", 2);
            });

            test("a mirror's limits change in place; the mirror itself is sent unchanged", async () => {
                const { id, outs } = await created(stream, { name: "MS_MIRROR", mirror: { name: "MS_ORIGIN" } });
                const news = await checked(stream, { name: "MS_MIRROR", mirror: { name: "MS_ORIGIN" }, maxBytes: "1MiB" });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                await stream.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "MS_MIRROR");
                assert.equal(config.max_bytes, MiB);
                assert.deepEqual(config.mirror, { name: "MS_ORIGIN" });
            });

            test("a mirror pointed elsewhere is a replace", async () => {
                const { id, outs } = await created(stream, { name: "MS_REPOINT", mirror: { name: "MS_ORIGIN" } });
                // The opt-in: a replacement of a mirror holding copies of MS_ORIGIN's messages is a loss too.
                const news = (await stream.check!(outs, { name: "MS_REPOINT", mirror: { name: "MS_OTHER" }, allowDataLoss: true })).inputs;
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: ["mirror"], deleteBeforeReplace: true });
            });

            test(`removing the mirror (promotion): ${promotes ? "in place on 2.12" : "replace before 2.12"}`, async () => {
                const { id, outs } = await created(stream, { name: "MS_PROMOTE", mirror: { name: "MS_ORIGIN" } });
                const news = (await stream.check!(outs, { name: "MS_PROMOTE", subjects: ["ms.promoted.>"] })).inputs;
                const diff = await stream.diff!(id, outs, news);
                if (!promotes) {
                    assert.deepEqual(diff, { changes: true, replaces: ["mirror"], deleteBeforeReplace: true });
                    await rejects(stream.update!(id, outs, news), /mirror \(mirror: \{"name":"MS_ORIGIN"\} -> \(unset\)\)/);
                } else {
                    assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
                    await stream.update!(id, outs, news);
                    const config = await brokerConfig(broker.nc, "MS_PROMOTE");
                    assert.equal(config.mirror, undefined);
                    assert.deepEqual(config.subjects, ["ms.promoted.>"]);
                }
            });

            test("sources added, filtered and removed in place", async () => {
                const { id, outs } = await created(stream, { name: "MS_AGG", sources: [{ name: "MS_ORIGIN" }] });
                const news = await checked(stream, { name: "MS_AGG", sources: [{ name: "MS_ORIGIN", filterSubject: "ms.origin.a" }, { name: "MS_OTHER" }] });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: updated } = await stream.update!(id, outs, news);
                assert.deepEqual((await brokerConfig(broker.nc, "MS_AGG")).sources, [{ name: "MS_ORIGIN", filter_subject: "ms.origin.a" }, { name: "MS_OTHER" }]);
                const fewer = await checked(stream, { name: "MS_AGG", sources: [{ name: "MS_OTHER" }] });
                await stream.update!(id, updated as Props, fewer);
                assert.deepEqual((await brokerConfig(broker.nc, "MS_AGG")).sources, [{ name: "MS_OTHER" }]);
            });

            test("sealing applies in place although the server forces other settings with it; unsealing is a replace", async () => {
                const args = { name: "MS_SEAL", subjects: ["ms.seal.>"], maxAge: "1h", allowRollup: true };
                const { id, outs } = await created(stream, args);
                await publish(broker.nc, "ms.seal.x", 2);
                const news = await checked(stream, { ...args, sealed: true });
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
                const { outs: sealed } = await stream.update!(id, outs, news);
                const config = await brokerConfig(broker.nc, "MS_SEAL");
                assert.equal(config.sealed, true);
                assert.equal(config.deny_delete, true);
                assert.equal(config.max_age, 0);
                assert.equal(await messages(broker.nc, "MS_SEAL"), 2);
                assert.deepEqual(await stream.diff!(id, sealed as Props, news), { changes: false, replaces: [], deleteBeforeReplace: false }, "no plan once sealed");
                const r = await stream.read!(id, sealed as Props);
                assert.deepEqual(await stream.diff!(id, r.props as Props, news), { changes: false, replaces: [], deleteBeforeReplace: false }, "nor after refresh");
                // Unsealing replaces it, and it holds messages: check refuses it in preview.
                const { inputs: unsealed, failures } = await stream.check!(sealed, args);
                assert.match(failures?.[0]?.reason ?? "", /stream "MS_SEAL": replacing it \(.*sealed.*\).*holds 2 messages/);
                const unseal = await stream.diff!(id, sealed as Props, unsealed);
                assert.ok(unseal.replaces!.includes("sealed") && unseal.deleteBeforeReplace, JSON.stringify(unseal));
            });

            test("a create asking for a sealed stream is refused in check, with the broker's rule, and create refuses it too", async () => {
                const args = { name: "MS_SEALNEW", subjects: ["ms.sealnew.>"], sealed: true };
                const { inputs, failures } = await stream.check!({}, args);
                assert.match(failures?.[0]?.reason ?? "", /stream "MS_SEALNEW": sealed: nats-server refuses to create a sealed stream \(10052 .*can not be sealed/);
                await rejects(stream.create(inputs), /stream "MS_SEALNEW": create failed/, /can not be sealed/);
                assert.equal(await streamInfo(broker.nc, "MS_SEALNEW"), undefined, "nothing was created");
            });
        });

        describe("replacements", () => {
            test("storage: diff replaces [storage], delete before replace; update refuses and touches nothing", async () => {
                const args = { name: "REP_STORAGE", subjects: ["rep.storage.>"] };
                const { id, outs } = await created(stream, args);
                const news = (await stream.check!(outs, { ...args, storage: "memory", maxBytes: "1MiB" })).inputs;
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: ["storage"], deleteBeforeReplace: true });
                await rejects(stream.update!(id, outs, news), /stream "REP_STORAGE": update failed/, /storage \(storage: "file" -> "memory"\)/);
                const config = await brokerConfig(broker.nc, "REP_STORAGE");
                assert.equal(config.storage, "file");
                assert.equal(config.max_bytes, -1);
            });

            test(`retention limits -> interest: ${is29 ? "replace on 2.9" : "in place"}`, async () => {
                const args = { name: "REP_RET", subjects: ["rep.ret.>"] };
                const { id, outs } = await created(stream, args);
                const news = (await stream.check!(outs, { ...args, retention: "interest" })).inputs;
                const diff = await stream.diff!(id, outs, news);
                if (is29) {
                    assert.deepEqual(diff, { changes: true, replaces: ["retention"], deleteBeforeReplace: true });
                    await rejects(stream.update!(id, outs, news), /retention \(retention: "limits" -> "interest"\)/);
                    assert.equal((await brokerConfig(broker.nc, "REP_RET")).retention, "limits");
                } else {
                    assert.deepEqual(diff, { changes: true, replaces: [], deleteBeforeReplace: false });
                    await stream.update!(id, outs, news);
                    assert.equal((await brokerConfig(broker.nc, "REP_RET")).retention, "interest");
                }
            });

            test("workqueue is a replace on every version", async () => {
                const args = { name: "REP_WQ", subjects: ["rep.wq.>"] };
                const { id, outs } = await created(stream, args);
                const news = (await stream.check!(outs, { ...args, retention: "workqueue" })).inputs;
                assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: ["retention"], deleteBeforeReplace: true });
            });

            test("a renamed bucket replaces [bucket]; a KV storage change replaces [storage]", async () => {
                const { id, outs } = await created(keyValue, { bucket: "rep_kv" });
                assert.deepEqual(await keyValue.diff!(id, outs, (await keyValue.check!(outs, { bucket: "rep_kv2" })).inputs),
                    { changes: true, replaces: ["bucket"], deleteBeforeReplace: true });
                assert.deepEqual(await keyValue.diff!(id, outs, (await keyValue.check!(outs, { bucket: "rep_kv", storage: "memory" })).inputs),
                    { changes: true, replaces: ["storage"], deleteBeforeReplace: true });
            });

            test(`maxConsumers: ${maxConsumersInPlace ? "in place on 2.12.5+" : "replace before 2.12.5"}`, async () => {
                const args = { name: "REP_MC", subjects: ["rep.mc.>"] };
                const { id, outs } = await created(stream, args);
                const news = (await stream.check!(outs, { ...args, maxConsumers: 10 })).inputs;
                const diff = await stream.diff!(id, outs, news);
                if (!maxConsumersInPlace) {
                    assert.deepEqual(diff.replaces, ["maxConsumers"]);
                } else {
                    assert.deepEqual(diff.replaces, []);
                    await stream.update!(id, outs, news);
                    assert.equal((await brokerConfig(broker.nc, "REP_MC")).max_consumers, 10);
                }
            });

            test(`republish: ${is29 ? "replace on 2.9" : "in place"}`, async () => {
                const args = { name: "REP_RP", subjects: ["rep.rp.>"] };
                const { id, outs } = await created(stream, args);
                const news = (await stream.check!(outs, { ...args, republish: { src: "rep.rp.>", dest: "out.rp.>" } })).inputs;
                const diff = await stream.diff!(id, outs, news);
                if (is29) {
                    assert.deepEqual(diff.replaces, ["republish"]);
                } else {
                    assert.deepEqual(diff.replaces, []);
                    await stream.update!(id, outs, news);
                    assert.deepEqual((await brokerConfig(broker.nc, "REP_RP")).republish, { src: "rep.rp.>", dest: "out.rp.>" });
                }
            });
        });

        if (is29) {
            test("compression s2 on 2.9: diff and update fail naming compression and the version", async () => {
                const args = { name: "UPD_COMP", subjects: ["upd.comp.>"] };
                const { id, outs } = await created(stream, args);
                const news = await checked(stream, { ...args, compression: "s2" });
                await rejects(stream.diff!(id, outs, news), /stream "UPD_COMP": planning failed/, /nats-server 2\.9\.\d+ does not support compression/);
                await rejects(stream.update!(id, outs, news), /stream "UPD_COMP": update failed/, /does not support compression/);
            });
        }

        describe("state layout", () => {
            test("outputs of schema 1 (every input copied next to the config): an update that sends nothing rewrites them without the copies; delete reads the name from the config", async () => {
                const { id, outs, inputs, stored } = await created(keyValue, { bucket: "layout_v1", history: 2 });
                assert.equal(outs.schemaVersion, 2);
                const v1 = { ...stored, ...outs, schemaVersion: 1 } as Props;
                const kv = await broker.nc.jetstream().views.kv("layout_v1");
                await kv.put("k", new TextEncoder().encode("v"));
                const before = await streamInfo(broker.nc, "KV_layout_v1");

                assert.deepEqual(await keyValue.diff!(id, v1, inputs), { changes: true, replaces: [], deleteBeforeReplace: false }, "an older schema is rewritten");
                const { outs: rewritten } = await keyValue.update!(id, v1, inputs);
                assert.deepEqual(Object.keys(rewritten).sort(), ["allowDataLoss", "config", "schemaVersion", "stream"]);
                assert.equal(rewritten.schemaVersion, 2);
                const after = await streamInfo(broker.nc, "KV_layout_v1");
                assert.deepEqual(after!.config, before!.config, "nothing sent to the broker");
                assert.equal(after!.state.messages, 1);
                assert.equal((await keyValue.diff!(id, rewritten as Props, inputs)).changes, false);

                await rejects(keyValue.delete!(id, v1), /KV bucket "layout_v1" \(stream KV_layout_v1\): delete failed/, /1 message/);
                await rejects(keyValue.delete!(id, rewritten as Props), /KV bucket "layout_v1" \(stream KV_layout_v1\): delete failed/, /1 message/);
            });
        });

        describe("drift", () => {
            test("max_bytes changed behind the provider's back: read() shows it, the next diff plans it back", async () => {
                const args = { name: "DRIFT", subjects: ["drift.>"], maxBytes: "1MiB" };
                const { id, outs, inputs } = await created(stream, args);
                await rawUpdate(broker.nc, "DRIFT", { max_bytes: 3 * MiB });

                const r = await stream.read!(id, outs);
                assert.equal(r.id, "DRIFT");
                assert.equal(r.props!.config.max_bytes, 3 * MiB);
                assert.equal(r.inputs!.maxBytes, "3MiB");
                assert.equal(r.inputs!.stream, undefined, "inputs are inputs only");
                assert.equal(r.inputs!.config, undefined);

                assert.deepEqual(await stream.diff!(id, r.props as Props, inputs), { changes: true, replaces: [], deleteBeforeReplace: false });
                await stream.update!(id, r.props as Props, inputs);
                assert.equal((await brokerConfig(broker.nc, "DRIFT")).max_bytes, MiB);
            });

            test("read() of an unchanged resource returns the same props and inputs that check accepts", async () => {
                const { id, outs } = await created(keyValue, { bucket: "drift_kv", history: 3, ttl: "1h" });
                const r = await keyValue.read!(id, outs);
                assert.deepEqual(r.props, outs);
                assert.deepEqual(await checked(keyValue, r.inputs!), r.inputs, "refreshed inputs are already in checked form");
            });

            test("deleted behind its back: read() returns {} and update says to refresh", async () => {
                const { id, outs, inputs } = await created(objectStore, { bucket: "drift_gone" });
                await rawDelete(broker.nc, "OBJ_drift_gone");
                assert.deepEqual(await objectStore.read!(id, outs), {});
                await rejects(objectStore.update!(id, outs, inputs), /object store "drift_gone" \(stream OBJ_drift_gone\): update failed/, /no longer exists/, /refresh/);
            });

            test("a drifted setting that cannot change back in place plans a replace", async () => {
                const args = { name: "DRIFT_DENY", subjects: ["driftdeny.>"] };
                const { id, outs, inputs } = await created(stream, args);
                await rawUpdate(broker.nc, "DRIFT_DENY", { deny_delete: true });
                const r = await stream.read!(id, outs);
                assert.equal(r.inputs!.denyDelete, true);
                assert.deepEqual(await stream.diff!(id, r.props as Props, inputs), { changes: true, replaces: ["denyDelete"], deleteBeforeReplace: true });
            });
        });
    });
}
