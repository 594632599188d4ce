// The kanade fleet's JetStream resources as a Pulumi program: validate the
// stack config, check that the fleet fits the broker, then declare it.
import * as pulumi from "@pulumi/pulumi";
import { fleetProblems, totalReserved } from "./fleet/checks.ts";
import { NAMESPACE, parseStackConfig } from "./fleet/config.ts";
import { KanadeFleet, desiredFleet } from "./fleet/fleet.ts";
import { brokerConnection, closeConnections, resolveSettings } from "./providers/connection.ts";
import { formatSize } from "./providers/units.ts";

export default async () => {
    const raw = pulumi.runtime.allConfig();
    let entries;
    let config;
    try {
        config = parseStackConfig(raw);
        entries = desiredFleet(config);
        const nc = await brokerConnection(resolveSettings((key) => raw[`${NAMESPACE}:${key}`]));
        const problems = await fleetProblems(nc, entries, config.monitorUrls, (message) => pulumi.log.warn(message));
        if (problems.length) {
            throw new Error(`the kanade fleet cannot be applied to this broker; nothing was changed:\n  - ${problems.join("\n  - ")}`);
        }
    } catch (err) {
        throw new pulumi.RunError((err as Error).message);
    } finally {
        // The program's own connection; the providers keep theirs.
        await closeConnections();
    }

    const fleet = new KanadeFleet("kanade", entries);
    const total = totalReserved(entries);
    return {
        resources: fleet.resources,
        reservation: { file: formatSize(total.file), memory: formatSize(total.memory), replicas: config.replicas },
    };
};

