// The program's preview-time checks through the real pulumi CLI: a stream on
// the broker that overlaps the fleet, and bad stack configuration, stop
// preview and up with the problem named and nothing created on the broker.
// These do not depend on the server line, so they run on the first one
// bothServerVersions() gives (KANADE_SERVER_VERSIONS narrows it).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { bothServerVersions, jsApi } from "../harness/nats.ts";
import { PulumiWorkspace } from "../harness/pulumi.ts";
import { type Broker, cliFails, fleetStack, type StackValue, startBroker, streamNames } from "./stack.ts";

const version = bothServerVersions()[0];

describe(`preview-time fleet checks (nats-server ${version.version})`, { concurrency: true }, () => {
    let broker: Broker;
    const workspaces: PulumiWorkspace[] = [];
    before(async () => {
        broker = await startBroker(version);
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

    describe("a stream on the broker that overlaps the fleet", { concurrency: 1 }, () => {
        let other: Broker;
        let ws: PulumiWorkspace;
        before(async () => {
            other = await startBroker(version);
            await jsApi(other.nc, "$JS.API.STREAM.CREATE.ARCHIVE", { name: "ARCHIVE", subjects: ["results.archive.>"], storage: "file" });
            ws = await fleetStack(other.server);
        });
        after(async () => {
            await other?.stop();
            await ws?.dispose();
        });
        const names = [/subjects overlap/, /RESULTS "results\.>"/, /ARCHIVE \(on the broker, not in this fleet\) "results\.archive\.>"/];

        test("preview fails naming both streams", async () => {
            await cliFails(ws, ["preview"], ...names);
            assert.deepEqual(await streamNames(other.nc), ["ARCHIVE"]);
        });

        test("up fails the same way before creating any resource", async () => {
            const up = await cliFails(ws, ["up", "--yes"], ...names);
            assert.doesNotMatch(up.output, /\d+ created/, up.output);
            assert.deepEqual(await streamNames(other.nc), ["ARCHIVE"]);
        });
    });

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
