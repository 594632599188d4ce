// The package as another program uses it: `npm run pack`'s tarball installed
// into a fresh copy of examples/basic, type-checked against the shipped
// declarations, then up, read back, a no-change preview and destroy through
// the real CLI, on the Node.js lines the package supports.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { REGISTRY_STREAM } from "../../providers/ownership.ts";
import { accountJetStream, e2eServerVersions, jsApi } from "../harness/nats.ts";
import { PulumiWorkspace, REPO_ROOT, planSummary } from "../harness/pulumi.ts";
import { type Broker, cliFails, cliOk, startBroker, streamConfig, streamNames } from "./stack.ts";

const EXAMPLE_STREAMS = ["KV_orders_index", "KV_sessions", "OBJ_blobs", "ORDERS", "ORDERS_MIRROR"];

/** The broker's streams but the owner registry every program's resources share. */
async function exampleStreams(broker: Broker): Promise<string[]> {
    return (await streamNames(broker.nc)).filter((name) => name !== REGISTRY_STREAM);
}

function required(name: string): string {
    const value = process.env[name];
    if (!value) throw new Error(`${name} is not set: source scripts/env.sh (scripts/setup.sh installs it)`);
    return value;
}

describe("the packed package, used by examples/basic", () => {
    let work: string;
    let tarball: string;
    let example: string;
    let checkedExample: string;

    /** A copy of examples/<name> with the tarball installed (npm's cache serves what npm ci already fetched). */
    const install = (name: string): string => {
        const dir = path.join(work, name);
        cpSync(path.join(REPO_ROOT, "examples", name), dir, { recursive: true });
        execFileSync("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", tarball], { cwd: dir, stdio: "pipe" });
        return dir;
    };

    before(() => {
        work = mkdtempSync(path.join(tmpdir(), "kanade-package-"));
        const printed = execFileSync("bash", [path.join(REPO_ROOT, "scripts/pack.sh"), work], { encoding: "utf8" });
        tarball = printed.trim().split("\n").pop()!;
        example = install("basic");
        checkedExample = install("checked");
    });

    after(() => {
        if (work) rmSync(work, { recursive: true, force: true });
    });

    test("the tarball holds the compiled package and its documents, nothing else", () => {
        const files = execFileSync("tar", ["tzf", tarball], { encoding: "utf8" }).trim().split("\n").map((f) => f.replace(/^package\//, ""));
        assert.ok(files.includes("dist/providers/index.js") && files.includes("dist/providers/index.d.ts"), files.join("\n"));
        for (const doc of ["package.json", "README.md", "CHANGELOG.md", "LICENSE"]) assert.ok(files.includes(doc), doc);
        assert.deepEqual(files.filter((f) => !/^dist\/providers\/[A-Za-z]+\.(js|d\.ts)$/.test(f) && !/^(package\.json|README\.md|CHANGELOG\.md|LICENSE)$/.test(f)), []);
        assert.ok(!files.some((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")), "TypeScript sources in the tarball");
    });

    test("the examples type-check against the shipped declarations", () => {
        for (const dir of [example, checkedExample]) execFileSync(path.join(REPO_ROOT, "node_modules/.bin/tsc"), ["-p", "tsconfig.json"], { cwd: dir, stdio: "pipe" });
        const installed = readdirSync(path.join(example, "node_modules/kanade-jetstream/dist/providers"));
        assert.ok(installed.includes("stream.js"));
    });

    const nodes: [string, string][] = [
        ["24", path.dirname(process.execPath)],
        ["22", path.dirname(required("NODE22_BIN"))],
    ];
    const version = e2eServerVersions()[0];
    for (const [line, nodeDir] of nodes) {
        describe(`on Node.js ${line}, nats-server ${version.version}`, () => {
            let broker: Broker;
            let ws: PulumiWorkspace;

            before(async () => {
                broker = await startBroker(version);
                ws = await PulumiWorkspace.create(example, `node${line}`, {
                    PATH: `${nodeDir}:${process.env.PATH}`,
                    NATS_URL: broker.server.url,
                });
            });

            after(async () => {
                await ws?.dispose();
                await broker?.stop();
            });

            test("a new stack previews (a bucket named from an output is unknown), up creates the example's resources, a preview then plans nothing, destroy removes them", async () => {
                const version = execFileSync(path.join(nodeDir, "node"), ["--version"], { encoding: "utf8" });
                assert.match(version, new RegExp(`^v${line}\\.`));
                const preview = await cliOk(ws, ["preview"]);
                assert.deepEqual(planSummary(preview.stdout), { "to create": 6 }, preview.output);
                assert.deepEqual(await exampleStreams(broker), [], "preview changed the broker");
                await cliOk(ws, ["up", "--yes"]);
                assert.deepEqual(await exampleStreams(broker), EXAMPLE_STREAMS);
                assert.deepEqual((await streamConfig(broker.nc, "ORDERS_MIRROR")).mirror, { name: "ORDERS" });
                assert.equal((await streamConfig(broker.nc, "ORDERS")).max_bytes, 64 * 1024 * 1024);
                assert.equal((await streamConfig(broker.nc, "KV_sessions")).max_msgs_per_subject, 1);
                await cliOk(ws, ["preview", "--expect-no-changes"]);
                await cliOk(ws, ["destroy", "--yes"]);
                assert.deepEqual(await exampleStreams(broker), []);
            });
        });
    }

    describe(`checkResources, in examples/checked (nats-server ${version.version})`, () => {
        const cases: [string, Parameters<typeof startBroker>[1], ((b: Broker) => Promise<void>) | undefined, RegExp[]][] = [
            ["a stream on the broker that overlaps", {}, async (b) => {
                await jsApi(b.nc, "$JS.API.STREAM.CREATE.LEGACY_ORDERS", { name: "LEGACY_ORDERS", subjects: ["orders.legacy.>"] });
            }, [/subjects overlap: stream "ORDERS" "orders\.>" and stream "LEGACY_ORDERS" \(on the broker, not declared here\)/, /10065/]],
            ["an account that cannot hold the caps", { config: accountJetStream({ max_file: 32 * 1024 * 1024 }) }, undefined,
                [/the program's resources reserve 80MiB of file storage \(max_bytes x replicas\) but the account's JetStream limit allows 32MiB/, /10047/, /their maxBytes/]],
        ];
        for (const [name, opts, prepare, patterns] of cases) {
            test(`${name}: preview and up fail naming it, nothing is created`, async () => {
                const broker = await startBroker(version, opts);
                const ws = await PulumiWorkspace.create(checkedExample, "checked", { NATS_URL: broker.server.url });
                try {
                    await prepare?.(broker);
                    const before = await streamNames(broker.nc);
                    for (const op of [["preview"], ["up", "--yes"]]) {
                        const r = await cliFails(ws, op, /cannot be applied to this broker; nothing was changed/, ...patterns);
                        assert.doesNotMatch(r.output, /created/, r.output);
                    }
                    assert.deepEqual(await streamNames(broker.nc), before);
                } finally {
                    await ws.dispose();
                    await broker.stop();
                }
            });
        }
    });
});
