// The fleet as data: the catalogue against the backend's own bootstrap
// source (../shared/seeds), the configs it produces against what async-nats
// 0.49 left on a real broker, and the program's resources under Pulumi mocks.
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { describe, test } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import { CATALOGUE, type CatalogueRow, catalogueAt } from "../../fleet/catalogue.ts";
import { parseStackConfig } from "../../fleet/config.ts";
import { desiredFleet } from "../../fleet/fleet.ts";
import { effective } from "../../providers/plan.ts";
import { MANAGED_FIELDS, type StreamConfig } from "../../providers/rules.ts";
import { provider as streamProvider } from "../../providers/stream.ts";
import { REPO_ROOT } from "../harness/pulumi.ts";

const SEEDS = path.resolve(REPO_ROOT, "../shared/seeds");
const FIXTURES = path.join(REPO_ROOT, "test/fixtures/async-nats-0.49/server-2.12");
const config = (extra: Record<string, string> = {}) => parseStackConfig({ "kanade-jetstream:servers": "nats://127.0.0.1:1", ...extra });

interface SeedResource {
    kind: "stream" | "keyValue" | "objectStore";
    name: string;
    settings: Record<string, number | string>;
}

/** The resources a bootstrap.rs seed creates, read from its Rust source. */
function readSeed(file: string): SeedResource[] {
    const source = readFileSync(file, "utf8").split("\n").map((l) => l.replace(/^\d+\s?/, "")).join("\n");
    const text = source.slice(0, source.indexOf("#[cfg(test)]")); // the seed's own tests use literal names
    const consts: Record<string, number> = {};
    const evaluate = (expr: string): number => {
        const replaced = expr.replace(/[A-Z_]{2,}/g, (c) => {
            if (!(c in consts)) throw new Error(`unknown constant ${c} in ${expr}`);
            return String(consts[c]);
        });
        if (!/^[\d\s*+()]+$/.test(replaced)) throw new Error(`cannot evaluate ${expr}`);
        return Function(`return (${replaced});`)() as number;
    };
    for (const m of text.matchAll(/const ([A-Z_]+): (?:i64|u64) = ([^;]+);/g)) consts[m[1]] = evaluate(m[2]);
    const constName = (c: string) => (c.startsWith("STREAM_") ? c.slice(7) : c.replace(/^(BUCKET|OBJECT)_/, "").toLowerCase());
    const out: SeedResource[] = [];
    const calls = /(create_or_update_stream\(StreamConfig|create_or_update_key_value\(KvConfig|ObjectStoreConfig) \{([\s\S]*?)\n\s*\}/g;
    for (const m of text.matchAll(calls)) {
        const body = m[2];
        const field = (name: string) => new RegExp(`\\b${name}: ([^,\\n]+),`).exec(body)?.[1];
        const settings: Record<string, number | string> = {};
        const secs = (v: string | undefined) => v && evaluate(/Duration::from_secs\((.*)\)/.exec(v)![1]);
        const kind = m[1].includes("StreamConfig") ? "stream" : m[1].includes("Kv") ? "keyValue" : "objectStore";
        const name = constName(/(?:name|bucket): ([A-Z_]+)\.into\(\)/.exec(body)![1]);
        if (field("subjects")) settings.subjects = /"([^"]+)"/.exec(field("subjects")!)![1];
        if (field("max_age")) settings.maxAgeSecs = secs(field("max_age"))!;
        if (field("max_bytes")) settings.maxBytes = evaluate(field("max_bytes")!);
        if (field("max_messages_per_subject")) settings.maxMsgsPerSubject = evaluate(field("max_messages_per_subject")!);
        if (field("discard")) settings.discard = field("discard")!.replace("DiscardPolicy::", "").toLowerCase();
        if (field("history")) settings.history = evaluate(field("history")!);
        if (!out.some((r) => r.name === name)) out.push({ kind, name, settings });
    }
    return out;
}

/** The same view of the fleet, from the program's side. */
function fleetView(revision: number): SeedResource[] {
    return desiredFleet(config({ "kanade-jetstream:fleetRevision": String(revision) })).map((e) => {
        const c = e.config;
        const settings: Record<string, number | string> = {};
        if (e.kind === "stream") {
            settings.subjects = c.subjects![0];
            settings.discard = c.discard!;
        }
        if (c.max_age) settings.maxAgeSecs = c.max_age / 1e9;
        if (c.max_bytes && c.max_bytes > 0) settings.maxBytes = c.max_bytes;
        if (e.kind === "stream" && (c.max_msgs_per_subject ?? -1) > 0) settings.maxMsgsPerSubject = c.max_msgs_per_subject!;
        if (e.kind === "keyValue") settings.history = c.max_msgs_per_subject!;
        return { kind: e.kind, name: e.row.name, settings };
    });
}

const seedFiles = existsSync(SEEDS) ? readdirSync(SEEDS).filter((f) => f.endsWith(".txt")).sort() : [];

// Outside CI a checkout without shared/ beside it skips this; CI has it, and must run it.
const noSeeds = seedFiles.length !== 2 && `no seeds at ${SEEDS}`;
test("the backend's bootstrap source is there under CI", { skip: !process.env.CI && "not under CI" }, () => {
    assert.equal(noSeeds, false, "CI must check the catalogue against the seeds: shared/seeds is missing beside the checkout");
});

describe("catalogue against the backend's bootstrap source", { skip: noSeeds }, () => {
    test("the newer seed (001) is the latest revision, resource by resource and setting by setting", () => {
        const seed = readSeed(path.join(SEEDS, seedFiles[1]));
        assert.equal(seed.length, 24);
        assert.deepEqual(fleetView(2).sort(byName), seed.sort(byName));
    });

    test("the older seed (000) is revision 1: the same fleet without group_contacts", () => {
        const seed = readSeed(path.join(SEEDS, seedFiles[0]));
        assert.equal(seed.length, 23);
        assert.deepEqual(fleetView(1).sort(byName), seed.sort(byName));
        const newer = new Set(catalogueAt(2).map((r) => r.name));
        const older = new Set(catalogueAt(1).map((r) => r.name));
        assert.deepEqual([...newer].filter((n) => !older.has(n)), ["group_contacts"]);
    });
});

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

test("every resource's config is what async-nats 0.49 leaves on the broker (2.12.15 read-back)", () => {
    const managed = (c: StreamConfig) => Object.fromEntries(MANAGED_FIELDS.map((f) => [f, effective(c)[f]]).filter(([, v]) => v !== undefined));
    for (const e of desiredFleet(config())) {
        const golden = JSON.parse(readFileSync(path.join(FIXTURES, `${e.config.name}.json`), "utf8")) as StreamConfig;
        assert.deepEqual(managed(e.config), managed(golden), `${e.row.name} differs from the backend's ${e.config.name}`);
    }
});

test("stack config scales caps, applies overrides and rejects unknown keys, naming them", () => {
    const small = desiredFleet(config({ "kanade-jetstream:sizeScale": "0.01", "kanade-jetstream:overrides": '{"RESULTS":{"maxBytes":"300MiB","replicas":3}}' }));
    const byStream = Object.fromEntries(small.map((e) => [e.config.name, e.config]));
    assert.equal(byStream.INVENTORY.max_bytes, 10 * 1024 * 1024); // 1 GiB x 0.01, whole MiB
    assert.equal(byStream.RESULTS.max_bytes, 300 * 1024 * 1024);
    assert.equal(byStream.RESULTS.num_replicas, 3);
    assert.equal(byStream.KV_schedules.max_bytes, -1); // uncapped stays uncapped
    assert.throws(() => config({ "kanade-jetstream:sizeScal": "0.5" }), /unknown key\(s\) kanade-jetstream:sizeScal/);
    assert.throws(() => config({ "kanade-jetstream:sizeScale": "abc" }), /kanade-jetstream:sizeScale/);
    assert.throws(() => config({ "kanade-jetstream:overrides": '{"NOPE":{"maxBytes":"1GiB"}}' }), /kanade-jetstream:overrides.NOPE: is not a resource of the kanade fleet/);
    assert.throws(() => config({ "kanade-jetstream:overrides": '{"RESULTS":{"maxBytes":"lots"}}' }), /overrides.RESULTS.maxBytes/);
});

describe("the program's resources, under Pulumi mocks", () => {
    test("one resource per catalogue row, named as on the broker, with the catalogue's settings", async () => {
        const registered: { type: string; name: string; inputs: Record<string, unknown> }[] = [];
        pulumi.runtime.setMocks({
            newResource: (args) => {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs } };
            },
            call: () => ({}),
        }, "kanade-jetstream", "mock", false, "organization");
        const { KanadeFleet } = await import("../../fleet/fleet.ts");
        const fleet = new KanadeFleet("kanade", desiredFleet(config({ "kanade-jetstream:protect": "true" })));
        await new Promise<void>((resolve) => pulumi.all(Object.values(fleet.resources)).apply(() => resolve()));
        const dynamic = registered.filter((r) => r.type.startsWith("pulumi-nodejs:dynamic/jetstream:"));
        assert.equal(dynamic.length, CATALOGUE.length);
        const byName = Object.fromEntries(dynamic.map((r) => [r.name, r]));
        assert.equal(byName.EXEC.type, "pulumi-nodejs:dynamic/jetstream:Stream");
        assert.deepEqual(byName.EXEC.inputs.subjects, ["commands.>"]);
        assert.equal(byName.EXEC.inputs.maxMsgsPerSubject, 1);
        assert.equal(byName.schedules.type, "pulumi-nodejs:dynamic/jetstream:KeyValue");
        assert.equal(byName.schedules.inputs.history, 5);
        assert.equal(byName.collections.type, "pulumi-nodejs:dynamic/jetstream:ObjectStore");
        assert.equal(byName.collections.inputs.maxBytes, "5GiB");
        // The provider stored in state names the package, no file and no closure,
        // and loads the kind's provider the way the SDK's host evaluates it.
        const source = String(byName.EXEC.inputs.__provider);
        assert.ok(!source.includes(REPO_ROOT) && !/providers\//.test(source), source);
        const loaded = { exports: {} as { handler?: () => unknown } };
        new Function("exports", "require", "module", source)(loaded.exports, createRequire(import.meta.url), loaded);
        assert.equal(loaded.exports.handler!(), streamProvider);
        assert.equal(new Set(dynamic.map((r) => r.inputs.__provider)).size, 3, "one reference per kind");
        assert.ok(dynamic.every((r) => !JSON.stringify(r.inputs).match(/NATS_|password|token/i)));
    });
});

describe("fleet revisions", () => {
    // A later backend release may change an existing resource's setting or drop a resource:
    // a stack pinned to an older revision keeps that revision's fleet exactly.
    const rows: CatalogueRow[] = [
        { kind: "keyValue", name: "lowered", history: 5, revision: 1, changes: { 3: { history: 1 } } },
        { kind: "keyValue", name: "dropped", history: 5, revision: 1, removedIn: 3 },
        { kind: "stream", name: "ADDED", subjects: ["added.>"], maxAge: "7d", maxBytes: "1GiB", discard: "old", revision: 2, changes: { 3: { maxBytes: "2GiB" }, 4: { maxAge: "30d" } } },
    ];
    const view = (n: number) => catalogueAt(n, rows).map(({ revision: _r, ...row }) => row);

    test("catalogueAt(n) is exactly the fleet of revision n: rows added, settings changed, rows removed", () => {
        assert.deepEqual(view(1), [
            { kind: "keyValue", name: "lowered", history: 5 },
            { kind: "keyValue", name: "dropped", history: 5 },
        ]);
        assert.deepEqual(view(2), [
            { kind: "keyValue", name: "lowered", history: 5 },
            { kind: "keyValue", name: "dropped", history: 5 },
            { kind: "stream", name: "ADDED", subjects: ["added.>"], maxAge: "7d", maxBytes: "1GiB", discard: "old" },
        ]);
        assert.deepEqual(view(3), [
            { kind: "keyValue", name: "lowered", history: 1 },
            { kind: "stream", name: "ADDED", subjects: ["added.>"], maxAge: "7d", maxBytes: "2GiB", discard: "old" },
        ]);
        assert.deepEqual(view(4)[1], { kind: "stream", name: "ADDED", subjects: ["added.>"], maxAge: "30d", maxBytes: "2GiB", discard: "old" });
    });

    test("the real catalogue: revision 1 is revision 2 without group_contacts, nothing else changed", () => {
        assert.deepEqual(catalogueAt(2).filter((r) => r.name !== "group_contacts"), catalogueAt(1));
    });
});

