// The production shape through the real pulumi CLI: a 3-node JetStream
// cluster, every server and monitoring endpoint in the stack config, replicas
// 3. The fleet is created R3; with a node (the meta leader) down, preview and
// an update still work; and a stack that started at replicas 1 moves to 3 in
// place, keeping its messages.
//
// Each scenario has its own cluster and stack; scenarios run side by side
// (KANADE_E2E_CONCURRENCY, default 2).
import assert from "node:assert/strict";
import { after, describe, test, type TestContext } from "node:test";
import { type NatsConnection, StringCodec } from "nats";
import { type NatsCluster, type ServerVersion, e2eServerVersions, jsApi, startCluster } from "../harness/nats.ts";
import { PulumiWorkspace, planSummary } from "../harness/pulumi.ts";
import { FLEET_STREAMS, cliOk, fleetStack, setStackConfig, streamInfo, streamNames } from "./stack.ts";

const CONCURRENCY = Number(process.env.KANADE_E2E_CONCURRENCY ?? 2);
const MIB = 1024 * 1024;

async function cluster(version: ServerVersion): Promise<NatsCluster> {
    const c = await startCluster(3, { bin: version.bin });
    after(() => c.stop());
    return c;
}

/** A stack naming every node and every monitoring endpoint, as Pulumi.prod.yaml does. */
async function clusterStack(c: NatsCluster, replicas: number): Promise<PulumiWorkspace> {
    const monitors = Object.fromEntries(c.servers.slice(1).map((s, i) => [`monitorUrls[${i + 1}]`, s.monitorUrl]));
    const ws = await fleetStack({ url: c.urls, monitorUrl: c.servers[0].monitorUrl }, { replicas, ...monitors });
    after(() => ws.dispose());
    return ws;
}

async function withConnection<T>(c: NatsCluster, f: (nc: NatsConnection) => Promise<T>): Promise<T> {
    const nc = await c.connect();
    try {
        return await f(nc);
    } finally {
        await nc.close();
    }
}

type ClusterInfo = { config: { num_replicas: number }; cluster?: { leader?: string; replicas?: unknown[] } };

/**
 * Every fleet stream exists with this many replicas, and (R>1) a leader plus
 * R-1 followers. Right after a scale-up the peer set may still be moving
 * (2.9 lists an extra peer for a moment), so the peer count gets a while to settle.
 */
async function assertReplicas(c: NatsCluster, replicas: number): Promise<void> {
    await withConnection(c, async (nc) => {
        assert.deepEqual(await streamNames(nc), [...FLEET_STREAMS]);
        for (const stream of FLEET_STREAMS) {
            const info = (await streamInfo(nc, stream)) as unknown as ClusterInfo;
            assert.equal(info.config.num_replicas, replicas, `${stream}: num_replicas`);
            if (replicas === 1) continue;
            let peers = info.cluster?.replicas?.length ?? 0;
            for (const deadline = Date.now() + 20_000; peers !== replicas - 1 && Date.now() < deadline; ) {
                await new Promise((r) => setTimeout(r, 250));
                peers = ((await streamInfo(nc, stream)) as unknown as ClusterInfo).cluster?.replicas?.length ?? 0;
            }
            assert.equal(peers, replicas - 1, `${stream}: peers besides the leader`);
        }
    });
}

/** The node that currently leads the JetStream meta group. */
async function metaLeaderIndex(c: NatsCluster): Promise<number> {
    const leader = await c.waitForMetaLeader();
    const i = c.servers.findIndex((s) => s.name === leader);
    assert.ok(i >= 0, `meta leader ${leader} is not one of the cluster's nodes`);
    return i;
}

function scenarios(version: ServerVersion) {
    test(`${version.version}: replicas 3 creates the fleet R3; with the meta leader down preview and an update still work`, async (t: TestContext) => {
        const c = await cluster(version);
        const ws = await clusterStack(c, 3);
        await cliOk(ws, ["up", "--yes"]);
        await assertReplicas(c, 3);

        const down = await metaLeaderIndex(c);
        await c.stopNode(down);
        t.diagnostic(`stopped node ${down} (${c.servers[down].name}), the meta leader`);
        const preview = await cliOk(ws, ["preview", "--expect-no-changes"]);
        // Its monitoring endpoint is skipped with a warning, not a failed preview.
        assert.match(preview.output, new RegExp(`warning: cannot read the server's storage from ${c.servers[down].monitorUrl.replace(/[.]/g, "\\.")}/jsz`), preview.output);

        await setStackConfig(ws, { "overrides.EVENTS.maxBytes": "4MiB" });
        const up = await cliOk(ws, ["up", "--yes"]);
        assert.equal(planSummary(up.output).updated, 1, up.output);
        await withConnection(c, async (nc) => {
            const events = await streamInfo(nc, "EVENTS");
            assert.equal(events?.config.max_bytes, 4 * MIB);
            assert.equal((events?.config as { num_replicas?: number }).num_replicas, 3);
        });

        await c.startNode(down);
        await cliOk(ws, ["preview", "--expect-no-changes"]);
        await assertReplicas(c, 3);
    });

    test(`${version.version}: replicas 1 -> 3 is an in-place update that keeps the messages`, async () => {
        const c = await cluster(version);
        const ws = await clusterStack(c, 1);
        await cliOk(ws, ["up", "--yes"]);
        await assertReplicas(c, 1);

        // Data the backend would have written: stream messages, KV entries, before the change.
        const sc = StringCodec();
        const before = await withConnection(c, async (nc) => {
            const js = nc.jetstream();
            for (let i = 0; i < 5; i++) await js.publish(`events.agent.${i}`, sc.encode(`event ${i}`));
            for (let i = 0; i < 3; i++) await js.publish(`inventory.host${i}`, sc.encode(`inv ${i}`));
            const kv = await js.views.kv("jobs");
            await kv.put("nightly", sc.encode("cron 0 3 * * *"));
            await kv.put("nightly", sc.encode("cron 0 4 * * *"));
            return counts(nc);
        });
        assert.equal(before.EVENTS, 5);

        await setStackConfig(ws, { replicas: 3 });
        const preview = await cliOk(ws, ["preview"]);
        const plan = planSummary(preview.output);
        assert.equal(plan["to replace"], undefined, `replicas must not replace anything:\n${preview.output}`);
        assert.equal(plan["to update"], FLEET_STREAMS.length, preview.output);

        await cliOk(ws, ["up", "--yes"]);
        await assertReplicas(c, 3);
        await withConnection(c, async (nc) => {
            assert.deepEqual(await counts(nc), before, "messages per stream after the change");
            // From the stream's leader: a direct get (the KV view's) may be answered by a new replica still catching up.
            const { message } = await jsApi<{ message: { data: string } }>(nc, "$JS.API.STREAM.MSG.GET.KV_jobs", { last_by_subj: "$KV.jobs.nightly" });
            assert.equal(Buffer.from(message.data, "base64").toString(), "cron 0 4 * * *");
        });
        await cliOk(ws, ["preview", "--expect-no-changes"]);
    });
}

/** Messages per fleet stream. */
async function counts(nc: NatsConnection): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const stream of FLEET_STREAMS) out[stream] = (await streamInfo(nc, stream))!.state.messages;
    return out;
}

describe("a 3-node JetStream cluster", { concurrency: CONCURRENCY }, () => {
    for (const version of e2eServerVersions()) scenarios(version);
});
