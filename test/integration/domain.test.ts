// Another JetStream than the connected account's own, on every server line:
// through a hub with jsDomain set to its leaf node's domain, and from account
// B with jsApiPrefix set to the prefix it imports account A's JetStream API
// under. The resources, and their entries in the ownership registry, land in
// the target's JetStream and nowhere else (read back on the target's own
// $JS.API); diff, update and delete work through it; a domain or prefix
// nothing answers on fails within seconds, saying so.
import assert from "node:assert/strict";
import { before, describe, test } from "node:test";
import { type NatsConnection } from "nats";
import { checkAgainstBroker, declared } from "../../providers/checks.ts";
import { brokerConnection, resolveSettings } from "../../providers/connection.ts";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as objectStore } from "../../providers/objectStore.ts";
import { REGISTRY_STREAM } from "../../providers/ownership.ts";
import { provider as stream } from "../../providers/stream.ts";
import { bothServerVersions, jsApi, newestServerVersion } from "../harness/nats.ts";
import {
    brokerConfig, checked, configure, created, isolateFromNatsEnv, leafPairForSuite, type Props, type Provider, registeredOwner, rejects, streamInfo,
    twoAccountsForSuite,
} from "./support.ts";

isolateFromNatsEnv();

const OWNER = "org/kanade-jetstream/domain";
const MiB = 1024 ** 2;

/** Awaits a rejection within `ms`; returns the message. */
async function rejectsWithin(ms: number, promise: Promise<unknown>, ...patterns: RegExp[]): Promise<string> {
    const start = Date.now();
    const message = await rejects(promise, ...patterns);
    assert.ok(Date.now() - start < ms, `took ${Date.now() - start}ms, more than ${ms}ms`);
    return message;
}

/**
 * A stream, a KV bucket and an object store created through the configured
 * target: each exists in `target` (its own $JS.API) exactly as the outputs
 * say, and not in `elsewhere`; each registered to OWNER in the target's
 * registry; a second diff finds nothing to change.
 */
async function createsInTarget(target: NatsConnection, elsewhere: NatsConnection, tag: string): Promise<void> {
    const resources: [Provider, Record<string, unknown>][] = [
        [stream, { name: `${tag}_ORDERS`, subjects: [`${tag.toLowerCase()}.orders.>`], maxBytes: "1MiB", owner: OWNER }],
        [keyValue, { bucket: `${tag.toLowerCase()}_config`, history: 2, owner: OWNER }],
        [objectStore, { bucket: `${tag.toLowerCase()}_blobs`, maxBytes: "1MiB", owner: OWNER }],
    ];
    for (const [p, raw] of resources) {
        const { id, outs, inputs } = await created(p, raw);
        assert.deepEqual(await brokerConfig(target, id), outs.config, `${id} in the target's JetStream, as the outputs say`);
        assert.equal(await streamInfo(elsewhere, id), undefined, `${id} not in the connected account's own JetStream`);
        assert.equal(await registeredOwner(target, id), OWNER, `${id} registered in the target's registry`);
        assert.deepEqual(await p.diff!(id, outs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false }, `${id}: no change`);
        assert.equal((await p.read!(id, outs)).id, id);
    }
    assert.equal(await streamInfo(elsewhere, REGISTRY_STREAM), undefined, "no registry in the connected account's own JetStream");
}

/** An update in place through the target, read back there; then a delete there, which also releases the registry entry. */
async function updatesAndDeletesInTarget(target: NatsConnection, tag: string): Promise<void> {
    const args = { name: `${tag}_UPD`, subjects: [`${tag.toLowerCase()}.upd.>`], maxBytes: "1MiB", owner: OWNER };
    const { id, outs } = await created(stream, args);
    const news = await checked(stream, { ...args, maxBytes: "2MiB" });
    assert.deepEqual(await stream.diff!(id, outs, news), { changes: true, replaces: [], deleteBeforeReplace: false });
    const { outs: updated } = await stream.update!(id, outs, news);
    assert.equal((await brokerConfig(target, id)).max_bytes, 2 * MiB);
    assert.deepEqual(await stream.diff!(id, updated as Props, news), { changes: false, replaces: [], deleteBeforeReplace: false });

    await stream.delete!(id, updated as Props);
    assert.equal(await streamInfo(target, id), undefined);
    assert.equal(await registeredOwner(target, id), undefined, "released");
}

const versions = bothServerVersions();
for (const version of versions) {
    describe(`nats-server ${version.version}: through a hub, its leaf node's JetStream domain`, () => {
        const suite = leafPairForSuite({ bin: version.bin });

        test("a stream, a KV bucket and an object store are made in the leaf's JetStream, registered there, and not in the hub's", async () => {
            await configure({ servers: suite.pair.hub.url, jsDomain: suite.pair.leafDomain });
            await createsInTarget(suite.leaf, suite.hub, "DOM");
        });

        test("an update in place and a delete, through the domain", async () => {
            await configure({ servers: suite.pair.hub.url, jsDomain: suite.pair.leafDomain });
            await updatesAndDeletesInTarget(suite.leaf, "DOM");
        });

        test("replicas are the target JetStream's to judge, not the connected server's: a single leaf refuses R3 itself", async () => {
            await configure({ servers: suite.pair.hub.url, jsDomain: suite.pair.leafDomain });
            const message = await rejects(created(stream, { name: "DOM_R3", subjects: ["dom.r3.>"], replicas: 3, owner: OWNER }), /10074/);
            assert.doesNotMatch(message, /runs alone/, "not refused for the hub's lack of a cluster");
            assert.equal(await streamInfo(suite.leaf, "DOM_R3"), undefined);
        });

        test("the other way: from the leaf node, the hub's domain", async () => {
            await configure({ servers: suite.pair.leaf.url, jsDomain: suite.pair.hubDomain });
            const { id } = await created(stream, { name: "UP_HUB", subjects: ["up.hub.>"], owner: OWNER });
            assert.ok(await streamInfo(suite.hub, id));
            assert.equal(await streamInfo(suite.leaf, id), undefined);
            assert.equal(await registeredOwner(suite.hub, id), OWNER);
        });

        test("the preview checks read the leaf's JetStream (its streams' subjects); replicas and server stores are only warned of", async () => {
            await jsApi(suite.leaf, "$JS.API.STREAM.CREATE.LEAF_ONLY", { name: "LEAF_ONLY", subjects: ["leaf.only.>"] });
            await jsApi(suite.hub, "$JS.API.STREAM.CREATE.HUB_ONLY", { name: "HUB_ONLY", subjects: ["hub.only.>"] });
            const settings = { servers: suite.pair.hub.url, jsDomain: suite.pair.leafDomain } as Record<string, string>;
            const nc = await brokerConnection(resolveSettings((key) => settings[key], {}));
            const plan = await checkAgainstBroker(nc, [
                declared({ kind: "stream", args: { name: "CLASH", subjects: ["leaf.only.x"], maxBytes: "1MiB" } }),
                declared({ kind: "stream", args: { name: "NO_CLASH", subjects: ["hub.only.x"], maxBytes: "1MiB" } }),
                declared({ kind: "stream", args: { name: "WIDE", subjects: ["wide.>"], replicas: 3, maxBytes: "1MiB" } }),
            ], { monitorUrls: [], owner: OWNER, allowsDataLoss: () => false });
            assert.equal(plan.problems.length, 1, plan.problems.join("\n"));
            assert.match(plan.problems[0], /\bCLASH\b/);
            assert.match(plan.problems[0], /LEAF_ONLY/);
            assert.match(plan.warnings.join("\n"), /cannot check replicas against the cluster's size: the servers of the JetStream domain "leaf" \(kanade-jetstream:jsDomain\) are not announced/);
            assert.match(plan.warnings.join("\n"), /cannot check that each server's JetStream store/);
        });

        test("a domain nothing answers on fails within seconds, saying it is not reachable and what to check", async () => {
            await configure({ servers: suite.pair.hub.url, jsDomain: "nowhere" });
            await rejectsWithin(10_000, created(stream, { name: "LOST", subjects: ["lost.>"], owner: OWNER }),
                /^stream "LOST": (planning|create) failed: the JetStream domain "nowhere" \(kanade-jetstream:jsDomain\) is not reachable from NATS at 127\.0\.0\.1:\d+ \(no responders for \$JS\.nowhere\.API\.[A-Z.]+\)/,
                /check that a server with jetstream \{ domain: nowhere \} is connected to this broker/,
                /or unset kanade-jetstream:jsDomain/);
            for (const nc of [suite.hub, suite.leaf]) assert.equal(await streamInfo(nc, "LOST"), undefined);
        });
    });

    describe(`nats-server ${version.version}: from account B, account A's JetStream under an API prefix`, () => {
        const suite = twoAccountsForSuite(version);
        const asB = (extra: Record<string, string>) =>
            configure({ servers: suite.accounts.server.url, natsUser: suite.accounts.b.user, natsPassword: suite.accounts.b.pass, ...extra });

        test("a stream, a KV bucket and an object store are made in A's JetStream, registered there, and not in B's", async () => {
            await asB({ jsApiPrefix: suite.accounts.apiPrefix });
            await createsInTarget(suite.a, suite.b, "XACC");
        });

        test("an update in place and a delete, through the prefix", async () => {
            await asB({ jsApiPrefix: suite.accounts.apiPrefix });
            await updatesAndDeletesInTarget(suite.a, "XACC");
        });

        test("a prefix nothing answers on fails within seconds, saying what to check", async () => {
            await asB({ jsApiPrefix: "JS.NOBODY.API" });
            await rejectsWithin(10_000, created(stream, { name: "LOST", subjects: ["lost.>"], owner: OWNER }),
                /the JetStream API prefix JS\.NOBODY\.API \(kanade-jetstream:jsApiPrefix\) is not reachable .*no responders for JS\.NOBODY\.API\.[A-Z.]+\)/,
                /check that this account imports the other account's \$JS\.API\.> as a service under JS\.NOBODY\.API\.>/);
        });
    });
}

// The newest line as the hub, 2.10 as the leaf: both are there unless
// KANADE_SERVER_VERSIONS narrows the suite (under CI, always).
const newest = newestServerVersion();
const current = newest.label === "2.10" ? undefined : newest;
const older = versions.find((v) => v.label === "2.10");
if (current && older) {
    describe(`a hub on nats-server ${current.version}, its leaf node on ${older.version}`, () => {
        const suite = leafPairForSuite({ bin: current.bin, leafBin: older.bin });
        before(() => configure({ servers: suite.pair.hub.url, jsDomain: suite.pair.leafDomain }));

        test("the rules follow the leaf's line (its JetStream API level), not the hub's: a 2.11 setting is refused before anything is sent", async () => {
            await rejects(created(keyValue, { bucket: "mixed_ttl", markerTtl: "1s" }),
                /nats-server 2\.10\.0 \(the newest the API level of the JetStream domain "leaf" allows\) does not support/);
            assert.equal(await streamInfo(suite.leaf, "KV_mixed_ttl"), undefined);
        });

        test("what 2.10 stores is what the plan expects: no change after a create", async () => {
            const { id, outs, inputs } = await created(keyValue, { bucket: "mixed_plain", history: 3 });
            assert.deepEqual(await brokerConfig(suite.leaf, id), outs.config);
            assert.deepEqual(await keyValue.diff!(id, outs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false });
        });
    });
}
