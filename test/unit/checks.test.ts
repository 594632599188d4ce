// The preview-time rules without a broker: the package's checks (providers/checks.ts)
// against a broker described by hand, and the server's stream-config rules in
// the providers' check() (providers/schema.ts). Each case is what nats-server
// (checkStreamCfg, selectLimits, checkBytesLimits) would refuse or allow.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, test } from "node:test";
import { type AccountInfo, type AccountLimits, type BrokerView, accountProblems as accountOf, describeStream, plannedStreams, replicaProblems, subjectPlan } from "../../providers/checks.ts";
import { type FleetEntry } from "../../fleet/fleet.ts";
import { FLEET_ADVICE, parseStackConfig } from "../../fleet/config.ts";
import { desiredFleet } from "../../fleet/fleet.ts";
import { provider as keyValue } from "../../providers/keyValue.ts";
import { provider as objectStore } from "../../providers/objectStore.ts";
import { type StreamConfig } from "../../providers/rules.ts";
import { propertyPath, subjectsOverlap } from "../../providers/schema.ts";
import { provider as stream } from "../../providers/stream.ts";

const MIB = 1024 * 1024;
const fleet = (config: Record<string, string> = {}) =>
    desiredFleet(parseStackConfig({ "kanade-jetstream:servers": "nats://127.0.0.1:1", "kanade-jetstream:sizeScale": "0.01", ...config }));
const FLEET = fleet();
const UNLIMITED: AccountLimits = { max_memory: -1, max_storage: -1, max_streams: -1, max_bytes_required: false };
const account = (limits: Partial<AccountLimits>): AccountInfo => ({ limits: { ...UNLIMITED, ...limits } });
const tiered = (tiers: Record<string, Partial<AccountLimits>>): AccountInfo => ({
    limits: { max_memory: 0, max_storage: 0, max_streams: 0 },
    tiers: Object.fromEntries(Object.entries(tiers).map(([t, l]) => [t, { limits: { ...UNLIMITED, ...l } }])),
});
const other = (name: string, extra: Partial<StreamConfig> = {}): StreamConfig => ({ name, subjects: [`${name.toLowerCase()}.>`], ...extra });
const view = (v: Partial<BrokerView>): BrokerView => ({ streams: [], account: account({}), cluster: { size: 1, source: "alone" }, ownStreams: new Set(), ...v });
/** The account's problems with what `up` would create: the fleet, and the ownership registry when the broker has none. */
const accountProblems = (entries: FleetEntry[], broker: BrokerView) => accountOf(plannedStreams(entries, broker.streams), broker, FLEET_ADVICE);
const REGISTRY = { name: "KV_kanade-jetstream-owners", subjects: ["$KV.kanade-jetstream-owners.>"] };
/** The fleet's file reservation at this scale: every cap. */
const fileCaps = (entries = FLEET) => entries.reduce((s, e) => s + Math.max(e.config.max_bytes ?? -1, 0), 0);

describe("account limits", () => {
    test("no limits: nothing to report", () => {
        assert.deepEqual(accountProblems(FLEET, view({})), []);
    });

    test("max_streams counts the streams on the broker and this run's creates, the ownership registry's first one included", () => {
        const [p] = accountProblems(FLEET, view({ account: account({ max_streams: 10 }) }));
        assert.match(p, /^the account allows 10 streams \(max_streams\); 0 are on the broker and this run would create 25 more \(stream "INVENTORY", /);
        assert.match(p, /object store "collections", the ownership registry \(KV bucket kanade-jetstream-owners, made by the first create\)\)/);
        assert.match(p, /10027/);
        assert.match(p, /KV bucket "agent_config"/);
        assert.doesNotMatch(p, /KV_agent_config/);
        const others = [other("A"), other("B")];
        assert.deepEqual(accountProblems(FLEET, view({ streams: others, account: account({ max_streams: 27 }) })), []);
        assert.match(accountProblems(FLEET, view({ streams: others, account: account({ max_streams: 26 }) }))[0], /2 are on the broker and this run would create 25 more/);
        // The fleet's streams already there are not created again, nor is the registry.
        const half = [...FLEET.slice(0, 12).map((e) => e.config), REGISTRY];
        assert.match(accountProblems(FLEET, view({ streams: [...half, ...others], account: account({ max_streams: 26 }) }))[0],
            /15 are on the broker and this run would create 12 more/);
        assert.deepEqual(accountProblems(FLEET, view({ streams: [...half, ...others], account: account({ max_streams: 27 }) })), []);
    });

    test("max_streams 0 is no limit, as the server reads it", () => {
        assert.deepEqual(accountProblems(FLEET, view({ account: account({ max_streams: 0 }) })), []);
    });

    test("max_bytes_required names every uncapped resource as the stack names it", () => {
        const [p] = accountProblems(FLEET, view({ account: account({ max_bytes_required: true }) }));
        assert.match(p, /requires every stream to set max_bytes \(max_bytes_required\), but KV bucket "script_current", /);
        assert.match(p, /object store "agent_releases", object store "app_packages", object store "scripts", the ownership registry \(KV bucket kanade-jetstream-owners, made by the first create\) set none/);
        assert.match(p, /nats kv add kanade-jetstream-owners --history 1 --max-bucket-size 1MiB/);
        assert.doesNotMatch(p, /stream "EVENTS"|object store "collections"/, "capped resources are not named");
        assert.match(p, /10113/);
        assert.match(p, /overrides\.<name>\.maxBytes/);
    });

    test("a per-stream cap names what exceeds it and by how much", () => {
        const [p] = accountProblems(FLEET, view({ account: account({ storage_max_stream_bytes: 16 * MIB }) }));
        assert.match(p, /allows at most 16MiB per file stream \(storage_max_stream_bytes\), but stream "RESULTS" sets 20MiB, object store "collections" sets 51MiB;/);
        assert.match(p, /10122/);
    });

    test("flat limits count max_bytes x replicas against the storage left by other streams", () => {
        const r3 = fleet({ "kanade-jetstream:replicas": "3" });
        const need = fileCaps(r3) * 3;
        assert.deepEqual(accountProblems(r3, view({ account: account({ max_storage: need }) })), []);
        const [p] = accountProblems(r3, view({ account: account({ max_storage: need }), streams: [other("X", { max_bytes: MIB })] }));
        assert.match(p, new RegExp(`the fleet reserves ${need / MIB}MiB of file storage \\(max_bytes x replicas\\) but the account's JetStream limit allows ${need / MIB}MiB, 1MiB of it already reserved`));
    });

    test("tiered limits: each replica count against its own tier, max_bytes once; a missing tier is 10120", () => {
        const r3 = fleet({ "kanade-jetstream:replicas": "3" });
        const caps = fileCaps(r3);
        assert.deepEqual(accountProblems(r3, view({ account: tiered({ R3: { max_storage: caps, max_streams: 24 } }), streams: [other("R1ONLY"), REGISTRY] })), [],
            "R1 streams (the registry among them) do not count in R3, and R3 caps count once");
        const [missing] = accountProblems(r3, view({ account: tiered({ R1: { max_storage: 10 * caps } }) }));
        assert.match(missing, /^the account has JetStream limits only for R1, none for R3: stream "INVENTORY", /);
        assert.match(missing, /10120/);
        const [small] = accountProblems(r3, view({ account: tiered({ R3: { max_storage: caps - 1 } }) }));
        assert.match(small, /max_bytes, once per stream in a tier\) but the account's R3 tier \(streams with replicas 3\)'s JetStream limit/);
        const [count] = accountProblems(r3, view({ account: tiered({ R3: { max_streams: 25 } }), streams: [other("X", { num_replicas: 3 }), other("Y", { num_replicas: 3 })] }));
        assert.match(count, /the account's R3 tier \(streams with replicas 3\) allows 25 streams \(max_streams\); 2 are on the broker/);
    });
});

describe("replicas against the servers", () => {
    const r3 = fleet({ "kanade-jetstream:replicas": "3", "kanade-jetstream:overrides": JSON.stringify({ EXEC: { replicas: 1 } }) });

    test("replicas 3 on a single server names every resource that asks for it, and the limit", () => {
        const { problems } = replicaProblems(r3, view({ cluster: { size: 1, source: "nats-server 2.12.15 at 127.0.0.1:4222 runs alone (not in a cluster)" } }), FLEET_ADVICE);
        assert.equal(problems.length, 1);
        assert.match(problems[0], /^replicas 3 needs 3 servers, but nats-server 2\.12\.15 at 127\.0\.0\.1:4222 runs alone \(not in a cluster\): stream "INVENTORY", stream "RESULTS", stream "EVENTS"/);
        assert.doesNotMatch(problems[0], /stream "EXEC"/);
        assert.match(problems[0], /object store "collections"\. The broker would refuse them \(10074\)\. Set kanade-jetstream:replicas \(or overrides\.<name>\.replicas\) to at most 1, or run a JetStream cluster$/);
    });

    test("a cluster of 3 places replicas 3; of 2, it cannot (10005)", () => {
        assert.deepEqual(replicaProblems(r3, view({ cluster: { size: 3, source: "3" } })).problems, []);
        assert.match(replicaProblems(r3, view({ cluster: { size: 2, source: 'cluster "c" has 2 servers up' } })).problems[0], /cluster "c" has 2 servers up: .*\(10005\)/);
    });

    test("streams already placed with those replicas need no new servers (a node down keeps them)", () => {
        const placed = r3.map((e) => ({ ...e.config }));
        assert.deepEqual(replicaProblems(r3, view({ streams: placed, cluster: { size: 2, source: "2" } })).problems, []);
    });

    test("an unknown cluster size is a warning naming what could not be checked", () => {
        const { problems, warnings } = replicaProblems(r3, view({ cluster: { source: "no_advertise" } }));
        assert.deepEqual(problems, []);
        assert.match(warnings[0], /^cannot check replicas against the cluster's size: no_advertise; stream "INVENTORY", /);
    });
});

describe("names and subjects", () => {
    test("a stream on the broker that is not this stack's: an overlap naming both, with the user's names", () => {
        const { problems, renames } = subjectPlan(FLEET, view({ streams: [other("ARCHIVE", { subjects: ["results.archive.>"] }), other("KV_x", { subjects: ["$KV.agent_config.a"] })] }));
        assert.deepEqual(renames, new Map());
        assert.equal(problems.length, 2);
        assert.match(problems[0], /^subjects overlap: stream "RESULTS" "results\.>" and stream "ARCHIVE" \(on the broker, not declared here\) "results\.archive\.>"; .*10065/);
        assert.match(problems[1], /KV bucket "agent_config" "\$KV\.agent_config\.>" and KV bucket "x" \(stream KV_x\) \(on the broker/);
    });

    test("this stack's own stream that the fleet no longer declares: a rename, aliased, when one resource of its kind takes its subjects", () => {
        const { problems, renames, replaced } = subjectPlan(FLEET, view({ streams: [other("OLD_EVENTS", { subjects: ["events.>"] })], ownStreams: new Set(["OLD_EVENTS"]) }));
        assert.deepEqual(problems, []);
        assert.deepEqual(renames, new Map([["EVENTS", "OLD_EVENTS"]]));
        assert.deepEqual(replaced, new Set(["OLD_EVENTS"]), "deleted before its successor is created: it takes no room in the account");
        const kv = subjectPlan(FLEET, view({ streams: [other("KV_old_config", { subjects: ["$KV.agent_config.>"] })], ownStreams: new Set(["KV_old_config"]) }));
        assert.deepEqual(kv.renames, new Map([["agent_config", "old_config"]]));
    });

    test("this stack's own stream taken by another kind, or by several resources: a problem saying what to do", () => {
        const { problems, renames } = subjectPlan(FLEET, view({ streams: [other("KV_old", { subjects: ["events.>", "audit.>"] })], ownStreams: new Set(["KV_old"]) }));
        assert.deepEqual(renames, new Map());
        assert.match(problems[0], /^stream "EVENTS", stream "AUDIT" take subjects of KV bucket "old" \(stream KV_old\), which this stack manages and no longer declares; .*10065.*pulumi destroy --target/);
    });

    test("within the fleet: overlaps and stream names used twice", () => {
        const twice = [...FLEET, FLEET[0]];
        const { problems } = subjectPlan(twice, view({}));
        assert.match(problems[0], /stream "INVENTORY" and stream "INVENTORY" both use the stream name INVENTORY/);
        assert.match(problems[1], /subjects overlap: stream "INVENTORY" "inventory\.>" and stream "INVENTORY" "inventory\.>"/);
    });

    test("describeStream names buckets by bucket", () => {
        assert.equal(describeStream("KV_agent_config"), 'KV bucket "agent_config" (stream KV_agent_config)');
        assert.equal(describeStream("OBJ_scripts"), 'object store "scripts" (stream OBJ_scripts)');
        assert.equal(describeStream("EVENTS"), 'stream "EVENTS"');
    });

    test("subjectsOverlap", () => {
        assert.ok(subjectsOverlap("a.>", "a.b.c"));
        assert.ok(subjectsOverlap("a.*", "*.b"));
        assert.ok(!subjectsOverlap("a.*", "a.b.c"));
        assert.ok(!subjectsOverlap("a.>", "a"));
    });
});

describe("the server's stream-config rules in check()", () => {
    const reasons = async (p: typeof stream, raw: Record<string, unknown>) => {
        const r = await p.check!({}, raw);
        return (r.failures ?? []).map((f) => `${f.property}: ${f.reason}`);
    };

    test("max_age under 100ms (10052), on streams, KV buckets and object stores; 100ms and unlimited pass", async () => {
        const rule = /must be "unlimited" or at least 100ms: nats-server refuses a shorter max age \(10052 "max age needs to be >= 100ms"\) \(got "50ms"\)$/;
        assert.match((await reasons(stream, { name: "S", maxAge: "50ms" })).join(), new RegExp(`^maxAge: stream: maxAge ${rule.source}`));
        assert.match((await reasons(keyValue, { bucket: "b", ttl: "50ms" })).join(), new RegExp(`^ttl: KV bucket: ttl ${rule.source}`));
        assert.match((await reasons(objectStore, { bucket: "b", ttl: "50ms" })).join(), new RegExp(`^ttl: object store: ttl ${rule.source}`));
        assert.deepEqual(await reasons(stream, { name: "S", maxAge: "100ms" }), []);
        assert.deepEqual(await reasons(stream, { name: "S", maxAge: "unlimited" }), []);
    });

    test("the duplicate window: at least 100ms, not longer than max_age", async () => {
        assert.match((await reasons(stream, { name: "S", duplicateWindow: "10ms" })).join(), /^duplicateWindow: .*10052 "duplicates window needs to be >= 100ms"/);
        assert.match((await reasons(stream, { name: "S", maxAge: "1s", duplicateWindow: "2s" })).join(),
            /^duplicateWindow: stream: duplicateWindow must not be longer than maxAge \(1s\): .*"duplicates window can not be larger then max age"\) \(got "2s"\)$/);
        assert.deepEqual(await reasons(stream, { name: "S", maxAge: "1s", duplicateWindow: "1s" }), []);
        assert.deepEqual(await reasons(stream, { name: "S", maxAge: "1s" }), [], "the derived window follows max_age");
    });

    test("subjects of one stream must not repeat or overlap each other", async () => {
        const r = await reasons(stream, { name: "S", subjects: ["a.>", "a.b", "c", "c"] });
        assert.equal(r.length, 2);
        assert.match(r[0], /overlaps subjects\[0\] "a\.>": .*10052/);
        assert.match(r[1], /repeats subjects\[2\]: .*"duplicate subjects detected"/);
    });

    test("roll-ups need the purge permission; discard new per subject needs discard new and a per-subject limit", async () => {
        assert.match((await reasons(stream, { name: "S", allowRollup: true, denyPurge: true })).join(), /^allowRollup: .*"roll-ups require the purge permission"/);
        const r = await reasons(stream, { name: "S", discardNewPerSubject: true });
        assert.match(r[0], /^discardNewPerSubject: .*"discard new per subject requires discard new policy to be set"/);
        assert.match(r[1], /^discardNewPerSubject: .*"discard new per subject requires max msgs per subject > 0"/);
        assert.deepEqual(await reasons(stream, { name: "S", discardNewPerSubject: true, discard: "new", maxMsgsPerSubject: 1 }), []);
    });

    test("propertyPath prints paths as Pulumi does", () => {
        assert.equal(propertyPath(["subjects", 0]), "subjects[0]");
        assert.equal(propertyPath(["sources", 1, "filterSubject"]), "sources[1].filterSubject");
        assert.equal(propertyPath(["maxAge"]), "maxAge");
        assert.equal(propertyPath([]), "");
    });
});

test("loading the package's checks loads no undici: node:http is taken without its ES module facade", () => {
    const undiciAfter = (script: string) => {
        const r = spawnSync(process.execPath, ["--input-type=module", "-e", `${script}\nconsole.log(JSON.stringify(process.moduleLoadList.filter((m) => m.includes("undici"))));`],
            { cwd: join(import.meta.dirname, "..", ".."), encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" } });
        assert.equal(r.status, 0, r.stderr);
        return JSON.parse(r.stdout) as string[];
    };
    assert.notDeepEqual(undiciAfter(`await import("node:http");`), [], "an ES import of node:http loads undici: otherwise this test proves nothing");
    assert.deepEqual(undiciAfter(`await import("./providers/index.ts");`), []);
});
