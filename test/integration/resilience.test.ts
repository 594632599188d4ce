// Broker faults the providers must live through or end cleanly: a port that
// accepts and never speaks (the call fails in seconds and the process can
// exit), a broker that restarts while a request is in flight, a stream
// leader lost during an update on a 3-node cluster, and rules taken from the
// lowest server version of a mixed cluster.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { brokerConnection, brokerVersion, closeConnections, jsApi as brokerApi, resolveSettings } from "../../providers/connection.ts";
import { resourceError } from "../../providers/errors.ts";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { REGISTRY_BUCKET, REGISTRY_STREAM, claim, registration } from "../../providers/ownership.ts";
import { provider as stream } from "../../providers/stream.ts";
import { REPO_ROOT } from "../harness/pulumi.ts";
import {
    bothServerVersions,
    e2eServerVersions,
    freePorts,
    jsApi,
    pauseServer,
    resumeServer,
    serverVersion,
    silentListener,
    startCluster,
    startServer,
    stopAll,
} from "../harness/nats.ts";
import { checked, configure, created, isolateFromNatsEnv, rejects, streamInfo } from "./support.ts";

isolateFromNatsEnv();
after(async () => {
    await closeConnections();
    await stopAll();
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const escape = (s: string) => s.replace(/[.]/g, "\\.");

async function elapsed<T>(f: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const start = Date.now();
    const value = await f();
    return { value, ms: Date.now() - start };
}

describe("a broker that accepts TCP and never sends INFO", () => {
    test("a provider call fails within seconds with 'cannot reach NATS at <url>'", async () => {
        const silent = await silentListener();
        after(() => silent.close());
        await configure({ servers: silent.url });
        // check() may already ask the broker; either step must fail, naming the URL.
        const { ms } = await elapsed(() =>
            rejects(created(stream, { name: "SILENT", subjects: ["silent.>"] }), /^stream "SILENT": (planning|create) failed: /,
                new RegExp(`cannot reach NATS at ${escape(silent.url)}: TIMEOUT`)));
        assert.ok(silent.accepted() >= 1, "the listener never saw the connection");
        // Generous: the connect timeout is 3s; a hang would never end.
        assert.ok(ms < 15_000, `took ${ms}ms`);
    });

    test("a node process that failed to connect exits on its own (nats.js' socket of the timed-out connect is closed)", async () => {
        const silent = await silentListener();
        after(() => silent.close());
        const module = join(REPO_ROOT, "providers", "connection.ts");
        const script = `
            const { brokerConnection, resolveSettings } = await import(${JSON.stringify(module)});
            try {
                await brokerConnection(resolveSettings(() => undefined, { NATS_URL: ${JSON.stringify(silent.url)} }));
                console.log("connected?!");
            } catch (err) {
                console.log(err.message);
                process.exitCode = 2;
            }`;
        // The listener lives in this process, so the child runs alongside (not spawnSync).
        const start = Date.now();
        const r = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string }>((resolve) => {
            const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: ["ignore", "pipe", "inherit"] });
            let stdout = "";
            child.stdout.setEncoding("utf8").on("data", (d: string) => (stdout += d));
            const guard = setTimeout(() => child.kill("SIGKILL"), 30_000);
            child.on("close", (code, signal) => {
                clearTimeout(guard);
                resolve({ code, signal, stdout });
            });
        });
        const ms = Date.now() - start;
        assert.equal(r.signal, null, `the child hung and was killed after ${ms}ms; it printed: ${r.stdout}`);
        assert.equal(r.code, 2, r.stdout);
        assert.match(r.stdout, new RegExp(`cannot reach NATS at ${escape(silent.url)}: TIMEOUT`));
        assert.ok(ms < 20_000, `the child took ${ms}ms to exit`);
    });
});

for (const version of bothServerVersions()) {
    describe(`nats-server ${version.version}: transient faults`, () => {
        test("the broker restarts (same port and store) while a create is in flight: the create succeeds", async () => {
            const server = await startServer({ bin: version.bin });
            await configure({ servers: server.url });
            // Connected first, so the request below is the one in flight.
            await created(stream, { name: "BEFORE", subjects: ["before.>"] });

            pauseServer(server); // the request reaches the socket and stays unanswered
            const create = elapsed(() => created(stream, { name: "BOUNCE", subjects: ["bounce.>"], maxBytes: "1MiB" }));
            await sleep(300);
            await server.kill();
            await server.start();
            const { value, ms } = await create;
            assert.equal(value.id, "BOUNCE");
            const nc = await server.connect();
            assert.equal((await streamInfo(nc, "BOUNCE"))!.config.max_bytes, 1024 ** 2);
            assert.ok(await streamInfo(nc, "BEFORE"), "the stream made before the restart is still there");
            assert.ok(ms < 45_000, `the create took ${ms}ms`);
            await closeConnections();
            await server.stop();
        });

        test("a 3-node cluster loses the stream's leader during an update: the update succeeds on the new leader", async () => {
            const cluster = await startCluster(3, { bin: version.bin });
            const nc = await cluster.connect();
            await configure({ servers: cluster.urls });
            const { id, outs } = await created(stream, { name: "LEADER", subjects: ["leader.>"], replicas: 3, maxAge: "1h" });
            const leaderName = await streamLeader(nc, "LEADER");
            const leader = cluster.servers.findIndex((s) => s.name === leaderName);
            assert.ok(leader >= 0, `stream leader ${leaderName} is not a node of the cluster`);
            await nc.close();
            await closeConnections();

            // The providers talk to the other two nodes; the leader freezes with
            // the update's requests unanswered, then dies.
            const followers = cluster.servers.filter((_, i) => i !== leader);
            await configure({ servers: followers.map((s) => s.url).join(",") });
            await stream.read!(id, outs); // connected, before the fault
            pauseServer(cluster.servers[leader]);
            const news = await checked(stream, { name: "LEADER", subjects: ["leader.>"], replicas: 3, maxAge: "2h" });
            const update = elapsed(() => stream.update!(id, outs, news));
            await sleep(500);
            await cluster.servers[leader].kill();
            const { ms } = await update;

            const check = await cluster.connect();
            const info = await jsApi<{ config: { max_age: number }; cluster: { leader: string } }>(check, "$JS.API.STREAM.INFO.LEADER");
            assert.equal(info.config.max_age, 2 * 3600 * 1e9, "the update reached the broker");
            assert.notEqual(info.cluster.leader, leaderName, "a new leader holds the stream");
            assert.ok(ms < 45_000, `the update took ${ms}ms`);
            await closeConnections();
            resumeServer(cluster.servers[leader]);
            await cluster.stop();
        });
    });
}

async function streamLeader(nc: Awaited<ReturnType<typeof brokerConnection>>, name: string): Promise<string> {
    for (const deadline = Date.now() + 10_000; Date.now() < deadline; await sleep(100)) {
        const info = await jsApi<{ cluster?: { leader?: string } }>(nc, `$JS.API.STREAM.INFO.${name}`);
        if (info.cluster?.leader) return info.cluster.leader;
    }
    throw new Error(`stream ${name} has no leader`);
}

describe(`nats-server ${bothServerVersions()[0].version}: the ownership registry made by concurrent creates on a cluster`, () => {
    test("three R3 creates at once on a cluster without the registry: all register, the registry taking writes once its stream has a leader", async () => {
        const cluster = await startCluster(3, { bin: bothServerVersions()[0].bin });
        after(() => cluster.stop());
        await configure({ servers: cluster.urls });
        const owner = "organization/kanade-jetstream/race";
        const names = ["RACE_A", "RACE_B", "RACE_C"];
        await Promise.all(names.map((name) => created(stream, { name, subjects: [`${name.toLowerCase()}.>`], replicas: 3, owner })));
        const nc = await cluster.connect();
        for (const name of names) {
            const { message } = await jsApi<{ message: { data: string } }>(nc, `$JS.API.STREAM.MSG.GET.${REGISTRY_STREAM}`, { last_by_subj: `$KV.${REGISTRY_BUCKET}.${name}` });
            assert.equal(Buffer.from(message.data, "base64").toString(), owner, name);
        }
        await closeConnections();
    });
});

// nats-server 2.9.0-2.9.15 lists a new stream before its store exists; the
// node hosting a new R1 stream dies of a nil pointer when a message get for
// it arrives in that moment. Every create of a fleet reads the registry while
// one of them makes it, so those reads wait for the create: each round here
// drops the registry and makes it again under a stream of reads.
for (const version of e2eServerVersions()) {
    describe(`nats-server ${version.version}: reads of the ownership registry while it is made on an R1 cluster`, () => {
        test("wait for its create, and every node lives through eight rounds", async () => {
            const cluster = await startCluster(3, { bin: version.bin });
            after(() => cluster.stop());
            const nc = await cluster.connect();
            const owner = "organization/kanade-jetstream/reads";
            const failed = await (async () => {
                for (let round = 0; round < 8; round++) {
                    if (await streamInfo(nc, REGISTRY_STREAM)) await jsApi(nc, `$JS.API.STREAM.DELETE.${REGISTRY_STREAM}`);
                    let made = false;
                    const claimed = claim(nc, `READS_${round}`, owner, 0, 1).finally(() => void (made = true));
                    const reader = async () => {
                        while (!made) await registration(nc, `READS_${round}`);
                    };
                    await Promise.all([claimed, reader(), reader(), reader(), reader()]);
                    assert.equal((await registration(nc, `READS_${round}`)).owner, owner, `round ${round}`);
                }
            })().then(() => undefined, (err: unknown) => err);
            // A dead node is the finding; the timeouts it caused come second.
            for (const s of cluster.servers) assert.ok(s.running && !/panic:/.test(s.logs()), `${s.name} died:\n${s.logs().slice(-2500)}`);
            if (failed) throw failed;
        });
    });
}

describe("the retry policy, against a scripted JetStream API", () => {
    // A server without JetStream, and this test answering $JS.API.> itself:
    // each subject gets the scripted answers in order, then success.
    const script = new Map<string, number[]>();
    const seen: string[] = [];
    let nc: Awaited<ReturnType<typeof brokerConnection>>;

    before(async () => {
        const server = await startServer({ config: { jetstream: "disabled" } });
        const responder = await server.connect();
        responder.subscribe("$JS.API.>", {
            callback: (_err, msg) => {
                seen.push(msg.subject);
                const code = script.get(msg.subject)?.shift();
                msg.respond(JSON.stringify(code ? { error: { code: 503, err_code: code, description: `scripted ${code}` } } : { success: true }));
            },
        });
        await responder.flush();
        nc = await brokerConnection(resolveSettings(() => undefined, { NATS_URL: server.url }));
    });

    const requests = (subject: string) => seen.filter((s) => s === subject).length;

    test("an idempotent request answered 10008 (no leader) and 10009 is sent again until it succeeds", async () => {
        script.set("$JS.API.STREAM.INFO.A", [10008, 10009, 10008]);
        assert.deepEqual(await brokerApi(nc, "STREAM.INFO.A"), { success: true });
        assert.equal(requests("$JS.API.STREAM.INFO.A"), 4);
    });

    test("a DELETE whose repeat finds the stream gone (10059) is done; a first 10059 is an error", async () => {
        script.set("$JS.API.STREAM.DELETE.B", [10008, 10059]);
        assert.deepEqual(await brokerApi(nc, "STREAM.DELETE.B"), { success: true });
        script.set("$JS.API.STREAM.DELETE.C", [10059]);
        await rejects(brokerApi(nc, "STREAM.DELETE.C"), /^\[10059\] scripted 10059$/);
    });

    test("a request that is not idempotent (purge) and a permanent error are sent once", async () => {
        script.set("$JS.API.STREAM.PURGE.D", [10008]);
        await rejects(brokerApi(nc, "STREAM.PURGE.D"), /^\[10008\] scripted 10008$/);
        assert.equal(requests("$JS.API.STREAM.PURGE.D"), 1);
        script.set("$JS.API.STREAM.CREATE.E", [10047]);
        await rejects(brokerApi(nc, "STREAM.CREATE.E", { name: "E" }), /^\[10047\]/);
        assert.equal(requests("$JS.API.STREAM.CREATE.E"), 1);
    });

    test("no responders on a server without JetStream is not retried: it says so at once", async () => {
        const bare = await startServer({ config: { jetstream: "disabled" } });
        const direct = await brokerConnection(resolveSettings(() => undefined, { NATS_URL: bare.url }));
        const { value: message, ms } = await elapsed(() => rejects(brokerApi(direct, "INFO")));
        assert.match(message, /^JetStream is not enabled on the broker \(nats-server [\d.]+ at .*, no responders for \$JS\.API\.INFO\): enable jetstream in its config$/);
        assert.ok(ms < 5000, `took ${ms}ms`);
    });

    test("a transient error that does not pass fails after about 30s, naming the subject, the code and what to do", async () => {
        script.set("$JS.API.STREAM.UPDATE.F", Array(100).fill(10008));
        const { value: message, ms } = await elapsed(() =>
            rejects(brokerApi(nc, "STREAM.UPDATE.F", { name: "F" }).catch((err) => Promise.reject(resourceError('stream "F"', "update", err)))));
        assert.match(message, /^stream "F": update failed: the broker answered \[10008\] scripted 10008 \(\$JS\.API\.STREAM\.UPDATE\.F, still after \d+ attempts\)/);
        assert.match(message, /majority of the cluster's servers/);
        assert.ok(requests("$JS.API.STREAM.UPDATE.F") > 5, `only ${requests("$JS.API.STREAM.UPDATE.F")} attempts`);
        assert.ok(ms > 25_000 && ms < 40_000, `gave up after ${ms}ms`);
    });
});

describe("rules of a mixed-version cluster", () => {
    // 2.10 and 2.12 form one JetStream cluster (a rolling upgrade); 2.9 does not route with 2.12.
    const current = process.env.NATS_SERVER_CURRENT;
    const older = process.env.NATS_SERVER_2_10;
    const both = !!current && !!older && existsSync(current) && existsSync(older);
    const why = "needs NATS_SERVER_CURRENT and NATS_SERVER_2_10 (npm run setup, then source scripts/env.sh)";

    test("the providers follow the lowest version among the routed servers, learned from their INFO", { skip: !both && !process.env.CI && why }, async () => {
        assert.ok(both, why);
        const [routeA, routeB] = await freePorts(2);
        const name = `mixed-${routeA}`;
        const route = (port: number) => `nats-route://127.0.0.1:${port}`;
        const [newNode, oldNode] = await Promise.all([
            startServer({ bin: current, config: { cluster: { name, listen: `127.0.0.1:${routeA}`, routes: [route(routeB)] } } }),
            startServer({ bin: older, config: { cluster: { name, listen: `127.0.0.1:${routeB}`, routes: [route(routeA)] } } }),
        ]);
        const nc = await brokerConnection(resolveSettings(() => undefined, { NATS_URL: newNode.url }));
        // Routes and the gossip of client URLs take a moment.
        for (const deadline = Date.now() + 10_000; !(nc.info?.connect_urls ?? []).some((u) => u.endsWith(`:${oldNode.port}`)); await sleep(100)) {
            assert.ok(Date.now() < deadline, `the newer server never advertised the older one: ${JSON.stringify(nc.info)}`);
        }
        assert.equal(nc.info!.version, serverVersion(current!), "connected to the newer server");
        assert.equal(await brokerVersion(nc), serverVersion(older!));
        // Connected to the 2.12 node, a KV bucket with markerTtl (2.11+) is refused by the 2.10 rules.
        await configure({ servers: newNode.url });
        await rejects(created(keyValue, { bucket: "mixed", markerTtl: "1m" }),
            new RegExp(`KV bucket "mixed" \\(stream KV_mixed\\): (planning|create) failed: nats-server ${escape(serverVersion(older!))} does not support allow_msg_ttl`));
        await closeConnections();
        await Promise.all([newNode.stop(), oldNode.stop()]);
    });
});
