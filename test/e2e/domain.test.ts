// The fleet in a leaf node's JetStream, driven from the hub with jsDomain,
// through the real CLI: up puts all 24 in the leaf's JetStream and none in
// the hub's, a second preview plans nothing, and destroy empties the leaf.
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { type NatsConnection } from "nats";
import { type LeafPair, e2eServerVersions, startLeafPair } from "../harness/nats.ts";
import { type PulumiWorkspace, planSummary } from "../harness/pulumi.ts";
import { FLEET_STREAMS, chain, cliOk, fleetStack, streamNames } from "./stack.ts";

const current = e2eServerVersions().find((v) => v.label !== "2.9") ?? e2eServerVersions()[0];

describe(`the fleet in a leaf node's JetStream domain, from its hub (nats-server ${current.version})`, { concurrency: 1 }, () => {
    const step = chain();
    let pair: LeafPair;
    let hub: NatsConnection;
    let leaf: NatsConnection;
    let ws: PulumiWorkspace;
    before(async () => {
        pair = await startLeafPair({ bin: current.bin });
        [hub, leaf] = await Promise.all([pair.hub.connect(), pair.leaf.connect()]);
        // The hub's monitoring endpoint would describe the hub's store, not the leaf's.
        ws = await fleetStack({ url: pair.hub.url, monitorUrl: pair.leaf.monitorUrl }, { jsDomain: pair.leafDomain });
    });
    after(async () => {
        await ws?.dispose();
        await pair?.stop();
    });

    step("up creates all 24 in the leaf's JetStream and nothing in the hub's", async () => {
        const up = await cliOk(ws, ["up", "--yes"]);
        assert.equal(planSummary(up.output).created, FLEET_STREAMS.length + 2, up.output); // and the stack and the fleet component
        assert.deepEqual(await streamNames(leaf), FLEET_STREAMS);
        assert.deepEqual(await streamNames(hub), []);
    });

    step("preview --expect-no-changes exits 0", async () => {
        await cliOk(ws, ["preview", "--expect-no-changes"]);
    });

    step("destroy deletes them from the leaf", async () => {
        await cliOk(ws, ["destroy", "--yes"]);
        assert.deepEqual(await streamNames(leaf), []);
    });
});
