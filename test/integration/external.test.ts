// Sources and mirrors of another JetStream (`external`), on 2.12: across
// domains (a hub's streams and KV buckets sourcing and mirroring its leaf
// node's, with external.api and no deliver) and across accounts (account B's
// of account A's, with the deliver prefix A exports). Created, the messages
// published on the origin side afterwards arrive (counted on the copies), and
// then a diff against what refresh reads back finds nothing to change: the
// server fills in external.deliver ("" when none was sent), which must not
// plan an update on every run, nor a replacement of a mirror.
import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, test } from "node:test";
import { type NatsConnection } from "nats";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as stream } from "../../providers/stream.ts";
import { atLeast, parseVersion } from "../../providers/rules.ts";
import { newestServerVersion } from "../harness/nats.ts";
import {
    brokerConfig, configure, created, isolateFromNatsEnv, leafPairForSuite, type Props, type Provider, publish, streamInfo, twoAccountsForSuite,
} from "./support.ts";

isolateFromNatsEnv();

const NO_CHANGE = { changes: false, replaces: [], deleteBeforeReplace: false };

/** Waits until the stream holds `count` messages; fails with what it holds after 30s. */
async function holds(nc: NatsConnection, name: string, count: number): Promise<void> {
    const deadline = Date.now() + 30_000;
    let last: number | undefined;
    for (;;) {
        last = (await streamInfo(nc, name))?.state.messages;
        if (last === count) return;
        if (Date.now() > deadline) assert.fail(`${name} holds ${last} messages after 30s, expected ${count}`);
        await sleep(200);
    }
}

/** A copy created through the providers: its id, and the diffs against its outputs and against what read (refresh) gives back. */
async function copy(p: Provider, raw: Record<string, unknown>): Promise<{ id: string; again: () => Promise<void> }> {
    const { id, outs, inputs } = await created(p, raw);
    return {
        id,
        again: async () => {
            assert.deepEqual(await p.diff!(id, outs, inputs), NO_CHANGE, `${id}: diff against the outputs of create`);
            const read = await p.read!(id, outs);
            assert.deepEqual(await p.diff!(id, read.props as Props, inputs), NO_CHANGE, `${id}: diff after refresh`);
        },
    };
}

/** Puts `count` keys into a KV bucket on its own account's JetStream (acknowledged). */
async function putKeys(nc: NatsConnection, bucket: string, count: number): Promise<void> {
    const js = nc.jetstream();
    for (let i = 0; i < count; i++) await js.publish(`$KV.${bucket}.key${i}`, new TextEncoder().encode(`value ${i}`));
}

// On the newest line, 2.12 or later.
for (const version of [newestServerVersion()].filter((v) => atLeast(parseVersion(v.version), [2, 12, 0]))) {
    describe(`nats-server ${version.version}: a hub's sources and mirrors of its leaf node's JetStream (external.api, no deliver)`, () => {
        const suite = leafPairForSuite({ bin: version.bin });

        test("streams and KV buckets: created, messages published on the leaf arrive, a second diff plans nothing", async () => {
            // The origins, made on the leaf by the providers pointed at it.
            await configure({ servers: suite.pair.leaf.url });
            await created(stream, { name: "ORIGIN", subjects: ["origin.>"] });
            await created(keyValue, { bucket: "origin_kv", history: 1 });

            await configure({ servers: suite.pair.hub.url });
            const external = { api: `$JS.${suite.pair.leafDomain}.API` };
            const copies = [
                await copy(stream, { name: "SOURCED", sources: [{ name: "ORIGIN", external }] }),
                await copy(stream, { name: "MIRRORED", mirror: { name: "ORIGIN", external } }),
                await copy(keyValue, { bucket: "kv_sourced", sources: [{ bucket: "origin_kv", external }] }),
                await copy(keyValue, { bucket: "kv_mirrored", mirror: { bucket: "origin_kv", external } }),
            ];
            // The premise: the server stores the deliver it was not sent.
            assert.deepEqual((await brokerConfig(suite.hub, "MIRRORED")).mirror, { name: "ORIGIN", external: { api: external.api, deliver: "" } });

            await publish(suite.leaf, "origin.x", 5);
            await putKeys(suite.leaf, "origin_kv", 3);
            await holds(suite.hub, "SOURCED", 5);
            await holds(suite.hub, "MIRRORED", 5);
            await holds(suite.hub, "KV_kv_sourced", 3);
            await holds(suite.hub, "KV_kv_mirrored", 3);
            for (const c of copies) await c.again();
        });
    });

    describe(`nats-server ${version.version}: account B's sources and mirrors of account A's streams (external.api and deliver)`, () => {
        const suite = twoAccountsForSuite(version);

        test("streams: created in B, messages published in A arrive, a second diff plans nothing", async () => {
            await configure({ servers: suite.accounts.server.url, natsUser: suite.accounts.a.user, natsPassword: suite.accounts.a.pass });
            await created(stream, { name: "XORIGIN", subjects: ["xorigin.>"] });

            await configure({ servers: suite.accounts.server.url, natsUser: suite.accounts.b.user, natsPassword: suite.accounts.b.pass });
            const external = (what: string) => ({ api: suite.accounts.apiPrefix, deliver: `${suite.accounts.deliverPrefix}.${what}` });
            const copies = [
                await copy(stream, { name: "XSOURCED", sources: [{ name: "XORIGIN", external: external("sourced") }] }),
                await copy(stream, { name: "XMIRRORED", mirror: { name: "XORIGIN", external: external("mirrored") } }),
            ];

            await publish(suite.a, "xorigin.x", 5);
            await holds(suite.b, "XSOURCED", 5);
            await holds(suite.b, "XMIRRORED", 5);
            assert.equal(await streamInfo(suite.a, "XSOURCED"), undefined, "the copies are B's");
            for (const c of copies) await c.again();
        });
    });
}
