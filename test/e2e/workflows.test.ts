// The kanade fleet's operator workflows through the real pulumi CLI, on both
// nats-server lines: a fresh up, drift repair, seed evolution, taking over the
// backend's own pre-cap broker, an immutable change behind the data-loss
// guard, a fleet that does not fit, protection and destroy.
//
// Every assertion is on the CLI (exit code, plan summary, output) and on the
// broker read back with raw $JS.API requests, checked against the
// async-nats fixtures (test/fixtures/async-nats-0.49), never against the
// program's own view (state, outputs, fleet/).
//
// Each chain of steps (a describe) has its own broker and stack and runs its
// steps in order, skipping the rest once a step fails; chains run side by
// side (KANADE_E2E_CONCURRENCY chains per server line, default 2).
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe } from "node:test";
import { type NatsConnection } from "nats";
import { e2eServerVersions, jsApi, type ServerVersion } from "../harness/nats.ts";
import { planSummary, PulumiWorkspace } from "../harness/pulumi.ts";
import {
    type Broker, chain, cliFails, cliOk, DEFAULT_SCALE, expectedConfig, FLEET_STREAMS, FLEET_STREAMS_REV1, fleetStack, goldenConfig,
    precapBroker, scaledCap, setStackConfig, startBroker, streamConfig, streamInfo, streamNames,
} from "./stack.ts";

const MIB = 1024 * 1024;
const CONCURRENCY = Number(process.env.KANADE_E2E_CONCURRENCY ?? 2);
/**
 * `up` where the plan is not what the step is about (a fresh stack) or was
 * just asserted by `pulumi preview` on the same state: its own preview pass
 * would run the program and refresh all 24 resources once more, for nothing.
 * The operator's full `up --yes` runs where it matters: the takeover, the
 * data-loss guard and its opt-in, and a fleet that does not fit.
 */
const UP_AFTER_PREVIEW = ["up", "--yes", "--skip-preview"];
/** Pulumi counts the stack and the Fleet component besides the 24 JetStream resources. */
const NON_FLEET = 2;

/** Every fleet stream on the broker equals the expected config (the fixtures, caps scaled). */
async function assertFleetConfigs(nc: NatsConnection, version: ServerVersion, streams: readonly string[] = FLEET_STREAMS) {
    for (const stream of streams) {
        assert.deepEqual(await streamConfig(nc, stream), expectedConfig(version, stream), `${stream} on the broker`);
    }
}

/**
 * Only these counts in the CLI's summary, everything else unchanged: planned
 * ({ "to update": 2 }, as preview prints them) or done ({ updated: 2 }, as up
 * and destroy print them after their own preview's "to ..." lines).
 */
function assertPlan(output: string, expected: Record<string, number>) {
    const summary = planSummary(output);
    const planned = Object.keys(expected).every((k) => k.startsWith("to "));
    const changes = Object.fromEntries(Object.entries(summary).filter(([k]) => k !== "unchanged" && k.startsWith("to ") === planned));
    assert.deepEqual(changes, expected, `plan summary ${JSON.stringify(summary)}:\n${output}`);
}

async function fullUpdate(nc: NatsConnection, stream: string, change: Record<string, unknown>) {
    const info = await streamInfo(nc, stream);
    assert.ok(info, `${stream} missing`);
    await jsApi(nc, `$JS.API.STREAM.UPDATE.${stream}`, { ...info.config, ...change });
}

async function counts(nc: NatsConnection, streams: readonly string[]): Promise<Record<string, { messages: number; bytes: number }>> {
    const out: Record<string, { messages: number; bytes: number }> = {};
    for (const s of streams) {
        const info = await streamInfo(nc, s);
        out[s] = { messages: info?.state.messages ?? -1, bytes: info?.state.bytes ?? -1 };
    }
    return out;
}

const versions = e2eServerVersions();

describe("kanade fleet workflows through the pulumi CLI", { concurrency: true }, () => {
    for (const version of versions) {
        describe(`nats-server ${version.version}`, { concurrency: CONCURRENCY }, () => {
            describe("fresh up, drift repair, destroy (scenarios 1, 2, 10)", { concurrency: 1 }, () => {
                const step = chain();
                let broker: Broker;
                let ws: PulumiWorkspace;
                before(async () => {
                    broker = await startBroker(version);
                    ws = await fleetStack(broker.server);
                });
                after(async () => {
                    await broker?.stop();
                    await ws?.dispose();
                });

                step("1. up on an empty broker creates all 24 resources with the scaled caps", async () => {
                    const up = await cliOk(ws, UP_AFTER_PREVIEW);
                    assertPlan(up.output, { created: FLEET_STREAMS.length + NON_FLEET });
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                    await assertFleetConfigs(broker.nc, version);
                    // Spot checks of the scaling itself, not only of the table.
                    assert.equal((await streamConfig(broker.nc, "RESULTS")).max_bytes, 20 * MIB);
                    assert.equal((await streamConfig(broker.nc, "EXEC")).max_bytes, 1 * MIB);
                    assert.equal((await streamConfig(broker.nc, "OBJ_collections")).max_bytes, 51 * MIB);
                    assert.equal((await streamConfig(broker.nc, "OBJ_scripts")).max_bytes, -1);
                });

                step("1. then preview --expect-no-changes exits 0", async () => {
                    await cliOk(ws, ["preview", "--expect-no-changes"]);
                });

                step("2. drift behind Pulumi's back shows as exactly two updates and one create", async () => {
                    await fullUpdate(broker.nc, "RESULTS", { max_bytes: 7 * MIB });
                    await jsApi(broker.nc, "$JS.API.STREAM.DELETE.KV_jobs");
                    await fullUpdate(broker.nc, "OBJ_scripts", { max_bytes: 3 * MIB });
                    const preview = await cliOk(ws, ["preview"]);
                    assertPlan(preview.output, { "to update": 2, "to create": 1 });
                    assert.match(preview.output, /~\s.*\bRESULTS\b.*\bupdate/, preview.output);
                    assert.match(preview.output, /~\s.*\bscripts\b.*\bupdate/, preview.output);
                    // Property by property: a changed limit, and one the program leaves at its default (state keeps no defaults).
                    const detail = (await cliOk(ws, ["preview", "--diff"])).output;
                    assert.match(detail, /RESULTS[\s\S]*~ maxBytes\s*: "7MiB" => "/, detail);
                    assert.match(detail, /OBJ_scripts[\s\S]*- maxBytes\s*: "3MiB"/, detail);
                    assert.match(preview.output, /\+\s.*\bjobs\b.*\bcreate/, preview.output);
                    // A preview changes nothing.
                    assert.equal((await streamConfig(broker.nc, "RESULTS")).max_bytes, 7 * MIB);
                    assert.equal(await streamInfo(broker.nc, "KV_jobs"), undefined);
                });

                step("2. up repairs the drift and the next preview finds nothing", async () => {
                    const up = await cliOk(ws, UP_AFTER_PREVIEW);
                    assertPlan(up.output, { updated: 2, created: 1 });
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                    await assertFleetConfigs(broker.nc, version);
                    assert.equal((await streamConfig(broker.nc, "OBJ_scripts")).max_bytes, -1, "the object store's cap is removed again");
                    await cliOk(ws, ["preview", "--expect-no-changes"]);
                });

                step("10. without protect, destroy removes every (empty) resource", async () => {
                    const destroy = await cliOk(ws, ["destroy", "--yes"]);
                    assertPlan(destroy.output, { deleted: FLEET_STREAMS.length + NON_FLEET });
                    assert.deepEqual(await streamNames(broker.nc), []);
                });
            });

            describe("seed evolution, then an immutable change (scenarios 3, 5)", { concurrency: 1 }, () => {
                const step = chain();
                let broker: Broker;
                let ws: PulumiWorkspace;
                before(async () => {
                    broker = await startBroker(version);
                    ws = await fleetStack(broker.server, { fleetRevision: 1 });
                });
                after(async () => {
                    await broker?.stop();
                    await ws?.dispose();
                });

                step("3. a stack on the older seed (fleetRevision 1) has no group_contacts", async () => {
                    const up = await cliOk(ws, UP_AFTER_PREVIEW);
                    assertPlan(up.output, { created: FLEET_STREAMS_REV1.length + NON_FLEET });
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS_REV1);
                    await assertFleetConfigs(broker.nc, version, FLEET_STREAMS_REV1);
                });

                step("3. switching to fleetRevision 2 plans exactly one create, and up makes KV_group_contacts", async () => {
                    await setStackConfig(ws, { fleetRevision: 2 });
                    const preview = await cliOk(ws, ["preview"]);
                    assertPlan(preview.output, { "to create": 1 });
                    assert.match(preview.output, /\+\s.*\bgroup_contacts\b.*\bcreate/, preview.output);
                    const up = await cliOk(ws, UP_AFTER_PREVIEW);
                    assertPlan(up.output, { created: 1 });
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                    await assertFleetConfigs(broker.nc, version);
                });

                const EVENTS_MESSAGES = 5;
                step("5. a stream recreated by hand as memory storage, holding messages: preview refuses the replacement", async () => {
                    const expected = expectedConfig(version, "EVENTS");
                    await jsApi(broker.nc, "$JS.API.STREAM.DELETE.EVENTS");
                    const { metadata: _m, ...hand } = expected;
                    await jsApi(broker.nc, "$JS.API.STREAM.CREATE.EVENTS", { ...hand, storage: "memory" });
                    const js = broker.nc.jetstream();
                    for (let i = 0; i < EVENTS_MESSAGES; i++) await js.publish(`events.agent.${i}`, `event ${i}`);
                    // The data-loss guard judges the replacement in preview (check), naming what it would delete.
                    await cliFails(ws, ["preview"], /stream "EVENTS": replacing it \(storage cannot change in place\)/,
                        new RegExp(`holds ${EVENTS_MESSAGES} messages`), /overrides\.EVENTS\.allowDataLoss/);
                });

                step("5. up refuses the replacement with the data-loss guard and changes nothing", async () => {
                    await cliFails(ws, ["up", "--yes"], /EVENTS/, new RegExp(`holds ${EVENTS_MESSAGES} messages`), /allowDataLoss/);
                    const info = await streamInfo(broker.nc, "EVENTS");
                    assert.ok(info, "EVENTS was deleted despite the guard");
                    assert.equal(info.config.storage, "memory");
                    assert.equal(info.state.messages, EVENTS_MESSAGES);
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                });

                step("5. with overrides.EVENTS.allowDataLoss, up replaces it: file storage, empty", async () => {
                    await setStackConfig(ws, { "overrides.EVENTS.allowDataLoss": true });
                    const up = await cliOk(ws, ["up", "--yes"]);
                    assertPlan(up.output, { replaced: 1 });
                    // The plan says what the opted-in replacement leaves behind.
                    assert.match(up.output, new RegExp('warning: stream "EVENTS": replacing it \\(storage cannot change in place\\) deletes the stream EVENTS ' +
                        `and creates it anew without: ${EVENTS_MESSAGES} messages \\(\\d+ bytes\\); its sequence numbers`), up.output);
                    const info = await streamInfo(broker.nc, "EVENTS");
                    assert.ok(info, "EVENTS is gone");
                    assert.equal(info.config.storage, "file");
                    assert.equal(info.state.messages, 0);
                    await assertFleetConfigs(broker.nc, version);
                    await cliOk(ws, ["preview", "--expect-no-changes"]);
                });
            });

            describe("takeover of the backend's pre-cap broker, protected (scenarios 4, 10)", { concurrency: 1 }, () => {
                const step = chain();
                let broker: Broker;
                let ws: PulumiWorkspace;
                let before_: Record<string, { messages: number; bytes: number }>;
                const objects = {
                    result_output: { "job-1/stdout": randomBytes(300 * 1024), "job-2/stdout": randomBytes(2048) },
                    collections: { "inventory/2024.tar": randomBytes(600 * 1024) },
                };
                before(async () => {
                    broker = await startBroker(version);
                    ws = await fleetStack(broker.server, { protect: true });
                });
                after(async () => {
                    await broker?.stop();
                    await ws?.dispose();
                });

                step("4. the pre-cap broker holds messages and objects", async () => {
                    await precapBroker(broker.nc, version);
                    const js = broker.nc.jetstream();
                    for (let i = 0; i < 10; i++) await js.publish(`results.job-${i}.agent-1`, JSON.stringify({ exit: i }));
                    for (let i = 0; i < 4; i++) await js.publish(`inventory.agent-${i}`, "{}");
                    for (let i = 0; i < 3; i++) await js.publish(`commands.agent-${i}`, "run");
                    await js.publish("audit.login", "x");
                    await js.publish("$KV.jobs.nightly", "cron: 0 3 * * *");
                    for (const [bucket, objs] of Object.entries(objects)) {
                        const os = await js.views.os(bucket);
                        for (const [name, data] of Object.entries(objs)) await os.putBlob({ name }, data);
                    }
                    assert.equal((await streamConfig(broker.nc, "RESULTS")).max_bytes, -1, "pre-cap RESULTS is uncapped");
                    assert.equal((await streamConfig(broker.nc, "OBJ_result_output")).max_bytes, -1, "pre-cap result_output is uncapped");
                    before_ = await counts(broker.nc, FLEET_STREAMS);
                    for (const s of ["RESULTS", "INVENTORY", "EXEC", "AUDIT", "KV_jobs", "OBJ_result_output", "OBJ_collections"]) {
                        assert.ok(before_[s].messages > 0, `${s} should hold messages`);
                    }
                });

                step("4. up adopts all 24, applies the caps in place and loses nothing", async () => {
                    const up = await cliOk(ws, ["up", "--yes"]);
                    assertPlan(up.output, { created: FLEET_STREAMS.length + NON_FLEET });
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                    assert.deepEqual(await counts(broker.nc, FLEET_STREAMS), before_, "messages before and after the takeover");
                    await assertFleetConfigs(broker.nc, version);
                    assert.equal((await streamConfig(broker.nc, "RESULTS")).max_bytes, 20 * MIB);
                    const ro = await streamConfig(broker.nc, "OBJ_result_output");
                    assert.equal(ro.max_bytes, 10 * MIB);
                    assert.equal(ro.max_age, 30 * 86400e9);
                    assert.equal((await streamConfig(broker.nc, "OBJ_collections")).max_bytes, 51 * MIB);
                    const js = broker.nc.jetstream();
                    for (const [bucket, objs] of Object.entries(objects)) {
                        const os = await js.views.os(bucket);
                        for (const [name, data] of Object.entries(objs)) {
                            const got = await os.getBlob(name);
                            assert.ok(got, `${bucket}/${name} is gone`);
                            assert.ok(Buffer.from(got).equals(data), `${bucket}/${name} changed`);
                        }
                    }
                });

                step("10. with protect, destroy is refused and deletes nothing", async () => {
                    await cliFails(ws, ["destroy", "--yes"], /protected/);
                    assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
                    assert.deepEqual(await counts(broker.nc, FLEET_STREAMS), before_);
                });
            });

            describe("a fleet that does not fit the server (scenario 7)", { concurrency: 1 }, () => {
                const step = chain();
                let broker: Broker;
                let ws: PulumiWorkspace;
                before(async () => {
                    broker = await startBroker(version, { maxFileStore: 20 * MIB });
                    ws = await fleetStack(broker.server);
                });
                after(async () => {
                    await broker?.stop();
                    await ws?.dispose();
                });

                // What the fleet reserves at this scale, from the fixtures' production caps.
                const need = FLEET_STREAMS.reduce((sum, s) => sum + Math.max(scaledCap(goldenConfig(version, s).max_bytes as number, Number(DEFAULT_SCALE)), 0), 0);
                const reservation = new RegExp(`reserves ${need / MIB}MiB .*allows 20MiB`);

                step("7. preview fails naming the reservation and the limit", async () => {
                    await cliFails(ws, ["preview"], reservation);
                    assert.deepEqual(await streamNames(broker.nc), []);
                });

                step("7. up fails the same way before creating anything", async () => {
                    await cliFails(ws, ["up", "--yes"], reservation);
                    assert.deepEqual(await streamNames(broker.nc), []);
                });
            });
        });
    }
});
