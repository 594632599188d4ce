// The program's preview-time checks through the real pulumi CLI: whatever
// would make `pulumi up` fail halfway (a stream on the broker that overlaps
// the fleet, the account's limits, replicas the broker cannot place, settings
// the server refuses, bad stack configuration) stops preview and up with the
// problem named and nothing created on the broker; what cannot be checked is
// a warning that says how to enable the check. A rename that keeps the
// subjects of a stream this stack manages is planned as one replacement.
//
// Account limits, replicas and the rename run on every server line
// e2eServerVersions() gives (all of it exists in 2.9); the checks made by the
// program alone (stack config, settings) on the first one.
import assert from "node:assert/strict";
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REGISTRY_BUCKET, REGISTRY_STREAM } from "../../providers/ownership.ts";
import { accountJetStream, e2eServerVersions, jsApi, type ServerVersion } from "../harness/nats.ts";
import { planSummary, PulumiWorkspace, REPO_ROOT } from "../harness/pulumi.ts";
import {
    type Broker, cliFails, cliOk, FLEET_STREAMS, fleetStack, NAMESPACE, type StackValue, startBroker, streamInfo, streamNames,
} from "./stack.ts";

const MIB = 1024 * 1024;
const versions = e2eServerVersions();
const UP_AFTER_PREVIEW = ["up", "--yes", "--skip-preview"];

/** A stack of this project with no monitoring endpoints: a new stack's default. */
async function stackWithoutMonitoring(broker: Broker, config: Record<string, StackValue> = {}): Promise<PulumiWorkspace> {
    const ws = await fleetStack(broker.server, config);
    const rm = await ws.run(["config", "rm", `${NAMESPACE}:monitorUrls`]);
    assert.equal(rm.code, 0, rm.output);
    return ws;
}

/** Preview and up both fail with every pattern, and the broker keeps exactly the streams it had. */
async function failsBeforeAnyChange(broker: Broker, ws: PulumiWorkspace, ...patterns: RegExp[]): Promise<void> {
    const streams = await streamNames(broker.nc);
    await cliFails(ws, ["preview"], ...patterns);
    const up = await cliFails(ws, ["up", "--yes"], ...patterns);
    assert.doesNotMatch(up.output, /\d+ created/, up.output);
    assert.deepEqual(await streamNames(broker.nc), streams);
}

/**
 * A copy of this project whose catalogue renames one stream, keeping its
 * subjects: the next version of the program, for the same stack (the copy
 * runs with the workspace's backend and config file).
 */
async function renamedProject(from: string, to: string): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), "kanade-renamed-"));
    for (const entry of await readdir(REPO_ROOT, { withFileTypes: true })) {
        if (entry.isFile() || entry.name === "fleet" || entry.name === "providers") {
            await cp(path.join(REPO_ROOT, entry.name), path.join(dir, entry.name), { recursive: true });
        }
    }
    await symlink(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    const catalogue = path.join(dir, "fleet", "catalogue.ts");
    const source = await readFile(catalogue, "utf8");
    const renamed = source.replace(`stream("${from}",`, `stream("${to}",`);
    assert.notEqual(renamed, source, `the catalogue has no stream("${from}", ...) row`);
    await writeFile(catalogue, renamed);
    return dir;
}

/** The same stack (backend, config file) run from another project directory. */
function inProject(ws: PulumiWorkspace, dir: string): PulumiWorkspace {
    const there = Object.create(ws) as PulumiWorkspace;
    there.run = (args, env = {}) => ws.run(args, env, dir);
    return there;
}

for (const version of versions) {
    describe(`preview-time checks against the broker (nats-server ${version.version})`, { concurrency: 2 }, () => {
        brokerScenarios(version);
    });
}

function brokerScenarios(version: ServerVersion) {
    const workspaces: PulumiWorkspace[] = [];
    const brokers: Broker[] = [];
    after(async () => {
        await Promise.all(brokers.map((b) => b.stop()));
        await Promise.all(workspaces.map((ws) => ws.dispose()));
    });
    const broker = async (opts: Parameters<typeof startBroker>[1] = {}) => {
        const b = await startBroker(version, opts);
        brokers.push(b);
        return b;
    };
    const track = (ws: PulumiWorkspace) => {
        workspaces.push(ws);
        return ws;
    };

    test("a stream on the broker that overlaps the fleet: preview and up fail naming both, nothing is created", async () => {
        const b = await broker();
        await jsApi(b.nc, "$JS.API.STREAM.CREATE.ARCHIVE", { name: "ARCHIVE", subjects: ["results.archive.>"], storage: "file" });
        const ws = track(await fleetStack(b.server));
        await failsBeforeAnyChange(b, ws, /subjects overlap/, /stream "RESULTS" "results\.>"/,
            /stream "ARCHIVE" \(on the broker, not declared here\) "results\.archive\.>"/, /10065/);
    });

    test("account limits: max_streams below the fleet's 24, max_bytes_required, a per-stream cap: preview and up fail naming each, nothing is created", async () => {
        // At 1% the fleet caps RESULTS at 20MiB and collections at 51MiB; 16MiB per stream is too little for them.
        const b = await broker({ config: accountJetStream({ max_streams: 10, max_bytes_required: true, store_max_stream_bytes: 16 * MIB }) });
        const ws = track(await fleetStack(b.server));
        await failsBeforeAnyChange(b, ws,
            /the account allows 10 streams \(max_streams\); 0 are on the broker and this run would create 25 more/, /10027/,
            /requires every stream to set max_bytes \(max_bytes_required\), but [^\n]*KV bucket "agent_config"[^\n]*object store "scripts", the ownership registry/, /10113/,
            /allows at most 16MiB per file stream \(storage_max_stream_bytes\), but stream "RESULTS" sets 20MiB, [^\n]*object store "collections" sets 51MiB/, /10122/);
    });

    test("max_streams counts the streams already on the broker", async () => {
        const b = await broker({ config: accountJetStream({ max_streams: 25 }) });
        await jsApi(b.nc, "$JS.API.STREAM.CREATE.A", { name: "A", subjects: ["a.>"] });
        await jsApi(b.nc, "$JS.API.STREAM.CREATE.B", { name: "B", subjects: ["b.>"] });
        const ws = track(await fleetStack(b.server));
        await failsBeforeAnyChange(b, ws, /the account allows 25 streams \(max_streams\); 2 are on the broker and this run would create 25 more/);
    });

    test("an account storage limit with no monitorUrls: preview and up fail, nothing is created", async () => {
        const b = await broker({ accountLimits: { maxFileStore: 20 * MIB } });
        const ws = track(await stackWithoutMonitoring(b));
        await failsBeforeAnyChange(b, ws, /the fleet reserves \d+MiB of file storage \(max_bytes x replicas\) but the account's JetStream limit allows 20MiB/, /10047/);
    });

    test("a server store too small with no monitorUrls: preview warns what it cannot check and how to enable it, nothing is created", async () => {
        const b = await broker({ maxFileStore: 20 * MIB });
        const ws = track(await stackWithoutMonitoring(b));
        const preview = await cliOk(ws, ["preview"]);
        assert.match(preview.output, /warning: cannot check that each server's JetStream store can hold the reservation of the fleet \(\d+MiB file\)/, preview.output);
        assert.match(preview.output, /Set kanade-jetstream:monitorUrls/, preview.output);
        assert.match(preview.output, /or export the system account's \$SYS\.REQ\.SERVER\.PING\.JSZ service to this account/, preview.output);
        assert.equal(planSummary(preview.output)["to create"], FLEET_STREAMS.length + 2, preview.output);
        assert.deepEqual(await streamNames(b.nc), []);
    });

    test("a server store too small, no monitorUrls, but the system account's JSZ service exported to the account: preview and up fail naming the server, nothing is created", async () => {
        const SYS_JSZ = "$SYS.REQ.SERVER.PING.JSZ";
        const b = await broker({
            maxFileStore: 20 * MIB,
            config: {
                accounts: {
                    SYS: { users: [{ user: "sys", password: "sys-test" }], exports: [{ service: SYS_JSZ }] },
                    APP: { jetstream: "enabled", users: [{ user: "app", password: "app-test" }], imports: [{ service: { account: "SYS", subject: SYS_JSZ } }] },
                },
                system_account: "SYS",
                no_auth_user: "app",
            },
        });
        const ws = track(await stackWithoutMonitoring(b));
        await failsBeforeAnyChange(b, ws, /the fleet reserves \d+MiB of file storage \(max_bytes, once per server hosting a replica\) but the server \S+ \(\$SYS\.REQ\.SERVER\.PING\.JSZ\) \(max_file_store\) allows 20MiB/, /10047/);
    });

    test("replicas 3 on a single server: preview and up fail naming the resources and the cluster's size, nothing is created", async () => {
        const b = await broker();
        const ws = track(await fleetStack(b.server, { replicas: 3, "overrides.EXEC.replicas": 1 }));
        const failed = await cliFails(ws, ["preview"], /replicas 3 needs 3 servers, but nats-server [\d.]+ at \S+ runs alone \(not in a cluster\)/,
            /stream "EVENTS"/, /KV bucket "agent_config"/, /object store "collections"/, /10074/, /kanade-jetstream:replicas/);
        // EXEC asks for 1 replica: it is not named.
        assert.doesNotMatch(failed.output, /stream "EXEC"/, failed.output);
        await failsBeforeAnyChange(b, ws, /replicas 3 needs 3 servers/);
    });

    describe("a rename that keeps the subjects", { concurrency: 1 }, () => {
        let b: Broker;
        let ws: PulumiWorkspace;
        let renamed: string;
        before(async () => {
            b = await broker();
            ws = track(await fleetStack(b.server));
            renamed = await renamedProject("EVENTS", "EVENTS_V2");
        });
        after(async () => {
            if (renamed) await rm(renamed, { recursive: true, force: true });
        });
        /** Records `owner` for EVENTS in the ownership registry, as a stack's provider would. */
        const ownEvents = async (owner: string) => (await b.nc.jetstream().views.kv(REGISTRY_BUCKET, { bindOnly: true })).put("EVENTS", owner);
        const fleetOnBroker = async () => (await streamNames(b.nc)).filter((s) => s !== REGISTRY_STREAM);

        test("the first version creates the fleet", async () => {
            await cliOk(ws, UP_AFTER_PREVIEW);
            assert.deepEqual(await fleetOnBroker(), FLEET_STREAMS);
        });

        test("while another stack owns the old stream, the renamed version's preview fails on the overlap", async () => {
            await ownEvents("organization/kanade-jetstream/other");
            await cliFails(inProject(ws, renamed), ["preview"],
                /subjects overlap: stream "EVENTS_V2" "events\.>" and stream "EVENTS" \(on the broker, not declared here\)/);
            assert.deepEqual(await fleetOnBroker(), FLEET_STREAMS);
        });

        test("owned by this stack, preview plans one replacement and up moves the subjects to the new stream", async () => {
            await ownEvents("organization/kanade-jetstream/e2e");
            const next = inProject(ws, renamed);
            const preview = await cliOk(next, ["preview"]);
            assert.equal(planSummary(preview.output)["to replace"], 1, preview.output);
            assert.equal(planSummary(preview.output)["to create"], undefined, preview.output);
            const up = await cliOk(next, UP_AFTER_PREVIEW);
            assert.equal(planSummary(up.output).replaced, 1, up.output);
            assert.deepEqual(await fleetOnBroker(), [...FLEET_STREAMS.filter((s) => s !== "EVENTS"), "EVENTS_V2"].sort());
            assert.deepEqual((await streamInfo(b.nc, "EVENTS_V2"))?.config.subjects, ["events.>"]);
            await cliOk(next, ["preview", "--expect-no-changes"]);
        });
    });
}

describe(`preview-time checks of the program alone (nats-server ${versions[0].version})`, { concurrency: 2 }, () => {
    let broker: Broker;
    const workspaces: PulumiWorkspace[] = [];
    before(async () => {
        broker = await startBroker(versions[0]);
    });
    after(async () => {
        await broker?.stop();
        await Promise.all(workspaces.map((ws) => ws.dispose()));
    });
    const stack = async (config: Record<string, StackValue> = {}) => {
        const ws = await fleetStack(broker.server, config);
        workspaces.push(ws);
        return ws;
    };

    const refused: [string, Record<string, StackValue>, RegExp[]][] = [
        ["a stream maxAge of 50ms", { "overrides.EVENTS.maxAge": "50ms" }, [/kanade-jetstream:overrides\.EVENTS\.maxAge: must be "unlimited" or at least 100ms/]],
        ["a KV bucket ttl of 50ms", { "overrides.agent_config.maxAge": "50ms" }, [/kanade-jetstream:overrides\.agent_config\.maxAge: must be "unlimited" or at least 100ms/]],
    ];
    for (const [what, config, patterns] of refused) {
        test(`a setting the server refuses: ${what} fails preview naming the property and the server's rule`, async () => {
            const ws = await stack(config);
            await cliFails(ws, ["preview"], ...patterns, /10052 "max age needs to be >= 100ms"/);
            assert.deepEqual(await streamNames(broker.nc), []);
        });
    }

    const badConfig: [string, Record<string, StackValue>, RegExp[]][] = [
        ["an unknown key", { sizeScal: "0.5" }, [/unknown key\(s\) kanade-jetstream:sizeScal\b/]],
        ["a sizeScale that is not a number", { sizeScale: "abc" }, [/kanade-jetstream:sizeScale: /]],
        ["an override of a resource not in the fleet", { "overrides.NOPE.maxBytes": "1GiB" }, [/kanade-jetstream:overrides\.NOPE\b/, /not a resource of the kanade fleet/]],
        ["an override with a bad size", { "overrides.EVENTS.maxBytes": "lots" }, [/kanade-jetstream:overrides\.EVENTS\.maxBytes: /, /lots/]],
        ["an override with an unknown setting", { "overrides.EVENTS.maxByte": "1GiB" }, [/unknown key\(s\) kanade-jetstream:overrides\.EVENTS\.maxByte\b/]],
    ];
    for (const [what, config, patterns] of badConfig) {
        test(`bad stack config: ${what} fails preview with the key named`, async () => {
            const ws = await stack(config);
            await cliFails(ws, ["preview"], /invalid stack configuration/, ...patterns);
            assert.deepEqual(await streamNames(broker.nc), []);
        });
    }
});
