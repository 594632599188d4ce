// The program against the kanade backend's real bootstrap (async-nats 0.49,
// test/compat/async-nats-bootstrap), through the real pulumi CLI, on
// nats-server 2.12 (async-nats 0.49 cannot create KV buckets on 2.9 at all,
// see FINDINGS.md). With the production caps (sizeScale 1) and replicas 1 the
// program writes exactly what the backend's seed writes, so:
//   - the backend scheduler's plain create_key_value(schedules) succeeds (no 10058);
//   - the backend's bootstrap (create-or-update of everything) changes nothing;
//   - pulumi then still has nothing to do;
// and the other way round, a broker the backend bootstrapped is adopted by
// `pulumi up` without a single change.
//
// The Rust harness is built in before() (cold ~2.5 min, then seconds); without
// cargo and without a built binary the suite is skipped, saying why.
import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { type NatsConnection } from "nats";
import { type ServerVersion, e2eServerVersions } from "../harness/nats.ts";
import { REPO_ROOT, planSummary } from "../harness/pulumi.ts";
import { type Broker, FLEET_STREAMS, cliOk, fleetStack, goldenConfig, missing, startBroker, streamConfig, streamNames } from "./stack.ts";

const CRATE = path.join(REPO_ROOT, "test/compat/async-nats-bootstrap");
const TARGET = process.env.CARGO_TARGET_DIR ?? path.join(REPO_ROOT, ".tools/cargo-target");
const BIN = path.join(TARGET, "debug/kanade-bootstrap-compat");
const GIB = 1024 ** 3;
/** What the fleet reserves at production caps (FINDINGS.md: 10.81 GiB), with some room. */
const FLEET_RESERVATION = 11 * GIB;

const version: ServerVersion | undefined = e2eServerVersions().find((v) => v.label !== "2.9");

/** Builds the harness if cargo is there; the reason to skip otherwise. */
function prepareBinary(): string | undefined {
    const cargo = spawnSync("cargo", ["--version"], { encoding: "utf8" });
    if (cargo.error || cargo.status !== 0) {
        return existsSync(BIN) ? undefined : `cargo is not available and ${BIN} is not built: cannot run the backend's bootstrap`;
    }
    const build = spawnSync("cargo", ["build", "--locked"], {
        cwd: CRATE,
        env: { ...process.env, CARGO_TARGET_DIR: TARGET },
        encoding: "utf8",
        timeout: 15 * 60_000,
    });
    if (build.status !== 0) throw new Error(`cargo build of the async-nats harness failed:\n${build.stdout}${build.stderr}`);
    return undefined;
}

interface Run {
    code: number;
    stdout: string;
    stderr: string;
}

/** One subcommand of the Rust harness against the broker. */
function backend(args: string[]): Promise<Run> {
    return new Promise((resolve) => {
        execFile(BIN, args, { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === "number" ? err.code : 1) : 0;
            resolve({ code, stdout, stderr });
        });
    });
}

/** Every fleet stream's config as the server stores it, without `_nats.*` metadata. */
async function fleetConfigs(nc: NatsConnection): Promise<Record<string, Record<string, unknown>>> {
    const out: Record<string, Record<string, unknown>> = {};
    for (const stream of FLEET_STREAMS) out[stream] = await streamConfig(nc, stream);
    return out;
}

/** The server can reserve the fleet at production caps (its default max_file_store is 75% of the free disk). */
async function fileStoreLimit(broker: Broker): Promise<number> {
    const res = await fetch(`${broker.server.monitorUrl}/jsz`);
    const jsz = (await res.json()) as { config?: { max_storage?: number } };
    return jsz.config?.max_storage ?? 0;
}

describe("compatibility with the backend's async-nats bootstrap", () => {
    let skip: string | undefined;

    before(() => {
        skip = version ? prepareBinary() : "no nats-server 2.12 available (async-nats 0.49 cannot bootstrap 2.9)";
    });

    test(`after pulumi up (sizeScale 1, replicas 1): scheduler ok, bootstrap changes nothing, preview has nothing to do (nats-server ${version?.version ?? "2.12"})`, async (t) => {
        if (skip) return missing(t, skip);
        const broker = await startBroker(version!);
        after(() => broker.stop());
        const limit = await fileStoreLimit(broker);
        if (limit > 0 && limit < FLEET_RESERVATION) return missing(t, `the server's file store (${(limit / GIB).toFixed(1)} GiB) cannot reserve the fleet at production caps`);
        const ws = await fleetStack(broker.server, { sizeScale: 1, replicas: 1 });
        after(() => ws.dispose());

        await cliOk(ws, ["up", "--yes"]);
        assert.deepEqual(await streamNames(broker.nc), [...FLEET_STREAMS]);
        const written = await fleetConfigs(broker.nc);
        // What the program wrote is what the backend's seed writes (the async-nats read-back fixtures).
        for (const stream of FLEET_STREAMS) assert.deepEqual(written[stream], goldenConfig(version!, stream), `${stream}: program vs async-nats bootstrap`);

        // (i) The backend scheduler's plain create_key_value(schedules, history 5).
        const scheduler = await backend(["scheduler", "--url", broker.server.url]);
        assert.equal(scheduler.code, 0, `scheduler failed:\n${scheduler.stdout}${scheduler.stderr}`);
        assert.doesNotMatch(scheduler.stdout + scheduler.stderr, /10058|jetstream_error_code/);

        // (ii) The backend's whole bootstrap: create-or-update of every stream and bucket, plain create of the stores.
        const bootstrap = await backend(["bootstrap", "--fleet", "newer", "--url", broker.server.url]);
        assert.equal(bootstrap.code, 0, `bootstrap failed:\n${bootstrap.stdout}${bootstrap.stderr}`);
        assert.match(bootstrap.stdout, /bootstrap \(Newer\) ok/);
        // An object store with another config would make create_object_store fail (10058) and the seed warn.
        assert.doesNotMatch(bootstrap.stderr, /WARN/, bootstrap.stderr);
        assert.deepEqual(await fleetConfigs(broker.nc), written, "the backend's bootstrap changed a stream config");
        assert.deepEqual(await streamNames(broker.nc), [...FLEET_STREAMS]);

        // (iii) And Pulumi, refreshing from the broker, finds nothing to do.
        await cliOk(ws, ["preview", "--expect-no-changes"]);
    });

    test(`a broker the backend bootstrapped is adopted by pulumi up without a change (nats-server ${version?.version ?? "2.12"})`, async (t) => {
        if (skip) return missing(t, skip);
        const broker = await startBroker(version!);
        after(() => broker.stop());
        const limit = await fileStoreLimit(broker);
        if (limit > 0 && limit < FLEET_RESERVATION) return missing(t, `the server's file store (${(limit / GIB).toFixed(1)} GiB) cannot reserve the fleet at production caps`);

        const bootstrap = await backend(["bootstrap", "--fleet", "newer", "--url", broker.server.url]);
        assert.equal(bootstrap.code, 0, `bootstrap failed:\n${bootstrap.stdout}${bootstrap.stderr}`);
        const seeded = await fleetConfigs(broker.nc);

        const ws = await fleetStack(broker.server, { sizeScale: 1, replicas: 1 });
        after(() => ws.dispose());
        const up = await cliOk(ws, ["up", "--yes"]);
        // Pulumi records 24 creates (plus the stack and the component); each one adopts the existing stream.
        assert.equal(planSummary(up.output).created, FLEET_STREAMS.length + 2, up.output);
        assert.deepEqual(await fleetConfigs(broker.nc), seeded, "pulumi up changed a stream the backend made");
        await cliOk(ws, ["preview", "--expect-no-changes"]);
        const scheduler = await backend(["scheduler", "--url", broker.server.url]);
        assert.equal(scheduler.code, 0, `scheduler failed:\n${scheduler.stdout}${scheduler.stderr}`);
    });
});
