// What Pulumi runs is what you wrote: an edit of the program or of the
// providers is what the very next preview, up or refresh runs, with no other
// command in between (no build step, nothing compiled to go stale).
// Runs on a copy of the project in a temp dir, so edits never touch the repo.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { e2eServerVersions } from "../harness/nats.ts";
import { PulumiWorkspace, REPO_ROOT, planSummary } from "../harness/pulumi.ts";
import { type Broker, DEFAULT_SCALE, FLEET_STREAMS, cli, cliOk, scaledCap, setStackConfig, startBroker, streamConfig, streamNames } from "./stack.ts";

const GIB = 1024 ** 3;

/** The project's tracked files, copied, with the repo's node_modules linked in. */
function copyProject(): string {
    const dir = mkdtempSync(path.join(tmpdir(), "kanade-source-"));
    const files = execFileSync("git", ["ls-files", "-z"], { cwd: REPO_ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
    for (const f of files) {
        mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
        cpSync(path.join(REPO_ROOT, f), path.join(dir, f));
    }
    symlinkSync(path.join(REPO_ROOT, "node_modules"), path.join(dir, "node_modules"));
    return dir;
}

function edit(file: string, from: string, to: string): void {
    const text = readFileSync(file, "utf8");
    assert.ok(text.includes(from), `${file} no longer contains ${JSON.stringify(from)}: update this test`);
    writeFileSync(file, text.replace(from, to));
}

const version = e2eServerVersions()[0];

describe(`edits take effect without a build (nats-server ${version.version})`, () => {
    let broker: Broker;
    let project: string;
    let ws: PulumiWorkspace;

    before(async () => {
        project = copyProject();
        broker = await startBroker(version);
        ws = await PulumiWorkspace.create(project, "source", { KANADE_E2E_PID: String(process.pid) });
        await setStackConfig(ws, { servers: broker.server.url, sizeScale: DEFAULT_SCALE });
        await cliOk(ws, ["up", "--yes"]);
        assert.deepEqual(await streamNames(broker.nc), FLEET_STREAMS);
    });

    after(async () => {
        await ws?.dispose();
        await broker?.stop();
        if (project) rmSync(project, { recursive: true, force: true });
    });

    test("a program edit (new bucket, changed cap) is exactly what the next preview plans, and up applies it", async () => {
        const catalogue = path.join(project, "fleet", "catalogue.ts");
        edit(catalogue, `kv("schedules_yaml", 5),`, `kv("schedules_yaml", 5),\n    kv("edited_bucket", 3, 2),`);
        edit(catalogue, `stream("INVENTORY", "inventory.>", "90d", "1GiB"),`, `stream("INVENTORY", "inventory.>", "90d", "2GiB"),`);

        const preview = await cliOk(ws, ["preview", "--diff"]);
        assert.deepEqual(planSummary(preview.stdout), { "to create": 1, "to update": 1 }, preview.output);
        assert.match(preview.stdout, /2 changes\. 25 unchanged/, preview.output);
        assert.match(preview.stdout, /\+ .*KeyValue: \(create\)[\s\S]*edited_bucket/, preview.output);
        assert.match(preview.stdout, /~ .*Stream: \(update\)[\s\S]*INVENTORY[\s\S]*maxBytes\s*:\s*"10MiB" => "20MiB"/, preview.output);

        await cliOk(ws, ["up", "--yes"]);
        assert.ok((await streamNames(broker.nc)).includes("KV_edited_bucket"));
        assert.equal((await streamConfig(broker.nc, "KV_edited_bucket")).max_msgs_per_subject, 3);
        assert.equal((await streamConfig(broker.nc, "INVENTORY")).max_bytes, scaledCap(2 * GIB, Number(DEFAULT_SCALE)));
    });

    test("a provider edit is what the next refresh runs", async () => {
        // The provider's connection error, reworded: only the edited code can print it.
        edit(path.join(project, "providers", "connection.ts"), "cannot reach NATS at", "edited provider cannot reach NATS at");
        await broker.server.shutdown();
        try {
            const r = await cli(ws, ["refresh", "--yes"]);
            assert.notEqual(r.code, 0, r.output);
            assert.match(r.output, /edited provider cannot reach NATS at/, r.output);
        } finally {
            await broker.server.start();
        }
    });
});
