// The data-loss guard and the ownership registry through the real pulumi CLI
// (issue 11): a cap lowered below what a stream holds and an adoption that
// would drop messages fail `pulumi preview` with nothing changed; removing a
// resource from the fleet deletes it only with the opt-in of the config the
// run uses; a second stack on the same broker neither adopts nor destroys
// what the first manages, until it takes the fleet over explicitly.
//
// Lines: the guard chains run on 2.12 and 2.9 (e2eServerVersions); the
// two-stack ownership chain, the slowest (six pulumi runs), on 2.12 only:
// the registry's requests are the same on every line and the integration
// suite covers them on each (test/integration/guard.test.ts).
import assert from "node:assert/strict";
import { after, before, describe } from "node:test";
import { type NatsConnection } from "nats";
import { REGISTRY_BUCKET, REGISTRY_STREAM } from "../../providers/ownership.ts";
import { e2eServerVersions, jsApi } from "../harness/nats.ts";
import { type PulumiWorkspace } from "../harness/pulumi.ts";
import { type Broker, chain, cliFails, fleetForSuite, cliOk, FLEET_STREAMS, FLEET_STREAMS_REV1, fleetStack, setStackConfig, startBroker, streamInfo, streamNames } from "./stack.ts";

const UP_AFTER_PREVIEW = ["up", "--yes", "--skip-preview"];
/** Chains side by side, as in workflows.test.ts: each runs pulumi programs of 24 resources. */
const CONCURRENCY = Number(process.env.KANADE_E2E_CONCURRENCY ?? 2);
/** 100 messages of ~38 KiB: ~3.7 MiB, above a 1 MiB cap. */
const BIG = { count: 100, size: 38 * 1024 };

async function publishBig(nc: NatsConnection, subject: string): Promise<void> {
    const js = nc.jetstream();
    for (let i = 0; i < BIG.count; i++) await js.publish(subject, new Uint8Array(BIG.size).fill(i));
}

async function state(nc: NatsConnection, stream: string): Promise<{ messages: number; max_bytes: unknown }> {
    const info = await streamInfo(nc, stream);
    assert.ok(info, `${stream} is gone`);
    return { messages: info.state.messages, max_bytes: info.config.max_bytes };
}

/** The registry's entry for a stream, read with a raw request. */
async function registeredOwner(nc: NatsConnection, stream: string): Promise<string> {
    const { message } = await jsApi<{ message: { data: string } }>(nc, `$JS.API.STREAM.MSG.GET.${REGISTRY_STREAM}`, { last_by_subj: `$KV.${REGISTRY_BUCKET}.${stream}` });
    return Buffer.from(message.data, "base64").toString();
}

describe("the data-loss guard and stack ownership through the pulumi CLI", { concurrency: CONCURRENCY }, () => {
    for (const version of e2eServerVersions()) {
        describe(`nats-server ${version.version}`, { concurrency: CONCURRENCY }, () => {
            describe("a cap below what INVENTORY holds; group_contacts removed from the fleet", { concurrency: 1 }, () => {
                const step = chain();
                const suite = fleetForSuite(version);
                let inventory: { messages: number; max_bytes: unknown };

                step("the fleet is up; INVENTORY holds 100 messages of ~38 KiB", async () => {
                    await cliOk(suite.ws, UP_AFTER_PREVIEW);
                    await publishBig(suite.broker.nc, "inventory.agent-1");
                    inventory = await state(suite.broker.nc, "INVENTORY");
                    assert.equal(inventory.messages, BIG.count);
                });

                step("overrides.INVENTORY.maxBytes 1MiB: preview fails naming INVENTORY and the loss", async () => {
                    await setStackConfig(suite.ws, { "overrides.INVENTORY.maxBytes": "1MiB" });
                    await cliFails(suite.ws, ["preview"], /stream "INVENTORY": the update would drop messages/,
                        /maxBytes 1MiB: it holds 3\.7MiB in 100 messages, about 7\d of the oldest would be dropped/, /overrides\.INVENTORY\.allowDataLoss/);
                    assert.deepEqual(await state(suite.broker.nc, "INVENTORY"), inventory);
                });

                step("up fails the same way and changes nothing", async () => {
                    await cliFails(suite.ws, ["up", "--yes"], /stream "INVENTORY": the update would drop messages/);
                    assert.deepEqual(await state(suite.broker.nc, "INVENTORY"), inventory);
                    await setStackConfig(suite.ws, { "overrides.INVENTORY.maxBytes": String(inventory.max_bytes) });
                });

                step("fleetRevision 1 drops group_contacts: without the opt-in preview and up refuse the delete, naming it and the opt-in", async () => {
                    await suite.broker.nc.jetstream().publish("$KV.group_contacts.team-a", "ops@example.com");
                    await setStackConfig(suite.ws, { fleetRevision: 1 });
                    // The engine does not ask the provider about a delete in preview; the program's checks do.
                    const refused = /KV bucket "group_contacts" \(stream KV_group_contacts\) is no longer declared, so up would delete it, and it holds 1 message/;
                    await cliFails(suite.ws, ["preview"], refused, /overrides\.group_contacts\.allowDataLoss/);
                    await cliFails(suite.ws, ["up", "--yes"], refused);
                    assert.equal((await state(suite.broker.nc, "KV_group_contacts")).messages, 1);
                });

                step("with overrides.group_contacts.allowDataLoss set now, up deletes it and nothing else", async () => {
                    await setStackConfig(suite.ws, { "overrides.group_contacts.allowDataLoss": true });
                    await cliOk(suite.ws, ["up", "--yes"]);
                    assert.deepEqual(await streamNames(suite.broker.nc), [...FLEET_STREAMS_REV1]);
                    assert.deepEqual(await state(suite.broker.nc, "INVENTORY"), inventory);
                });
            });

            describe("adopting a pre-existing INVENTORY at sizeScale 0.001", { concurrency: 1 }, () => {
                const step = chain();
                const suite = fleetForSuite(version, { sizeScale: "0.001" });

                step("preview fails naming INVENTORY and the loss; up creates nothing", async () => {
                    await jsApi(suite.broker.nc, "$JS.API.STREAM.CREATE.INVENTORY", { name: "INVENTORY", subjects: ["inventory.>"], max_age: 90 * 86400e9 });
                    await publishBig(suite.broker.nc, "inventory.agent-1");
                    const before_ = await state(suite.broker.nc, "INVENTORY");
                    const loss = /stream "INVENTORY": adopting the existing stream would drop messages: maxBytes 1MiB: it holds 3\.7MiB in 100 messages/;
                    await cliFails(suite.ws, ["preview"], loss, /Set allowDataLoss: true/);
                    await cliFails(suite.ws, ["up", "--yes"], loss);
                    assert.deepEqual(await streamNames(suite.broker.nc), ["INVENTORY"]);
                    assert.deepEqual(await state(suite.broker.nc, "INVENTORY"), before_);
                });
            });
        });
    }

    const [current] = e2eServerVersions();
    describe(`two stacks on one broker (nats-server ${current.version} only)`, { concurrency: 1 }, () => {
        const step = chain();
        let broker: Broker;
        let first: PulumiWorkspace;
        let second: PulumiWorkspace;
        let owner: string;
        before(async () => {
            broker = await startBroker(current);
            first = await fleetStack(broker.server, {}, { stack: "first" });
            second = await fleetStack(broker.server, {}, { stack: "second" });
        });
        after(async () => {
            await broker?.stop();
            await first?.dispose();
            await second?.dispose();
        });

        step("the first stack's up registers it as the owner of all 24", async () => {
            await cliOk(first, UP_AFTER_PREVIEW);
            await broker.nc.jetstream().publish("inventory.agent-1", "{}");
            owner = await registeredOwner(broker.nc, "INVENTORY");
            assert.match(owner, /^[^/]+\/kanade-jetstream\/first$/);
            for (const stream of FLEET_STREAMS) assert.equal(await registeredOwner(broker.nc, stream), owner, stream);
        });

        step("a copy of its config as a second stack: preview and up refuse to adopt, naming the owner", async () => {
            const refused = new RegExp(`managed by the stack ${owner}`);
            await cliFails(second, ["preview"], refused, /takeOverFrom/);
            await cliFails(second, ["up", "--yes"], refused);
            assert.deepEqual(await streamNames(broker.nc), [...FLEET_STREAMS]);
            assert.equal((await state(broker.nc, "INVENTORY")).messages, 1);
        });

        step("destroy of the second stack deletes nothing of the first", async () => {
            await cliOk(second, ["destroy", "--yes"]);
            assert.deepEqual(await streamNames(broker.nc), [...FLEET_STREAMS]);
            assert.equal((await state(broker.nc, "INVENTORY")).messages, 1);
        });

        step("hand-over: with takeOverFrom the second stack adopts all 24; the first's destroy then deletes nothing", async () => {
            await setStackConfig(second, { takeOverFrom: owner });
            await cliOk(second, ["up", "--yes"]);
            const newOwner = await registeredOwner(broker.nc, "INVENTORY");
            assert.match(newOwner, /\/kanade-jetstream\/second$/);
            await cliOk(first, ["destroy", "--yes"]);
            assert.deepEqual(await streamNames(broker.nc), [...FLEET_STREAMS]);
            assert.equal((await state(broker.nc, "INVENTORY")).messages, 1);
            for (const stream of FLEET_STREAMS) assert.equal(await registeredOwner(broker.nc, stream), newOwner, stream);
        });
    });
});
