// The kanade fleet's JetStream resources as a Pulumi program: validate the
// stack config, check that the fleet fits the broker, then declare it. It uses
// the providers through the package's public entry only, as any program would.
import * as pulumi from "@pulumi/pulumi";
import { type Renames, checkResources, formatSize, totalReserved } from "kanade-jetstream";
import { FLEET_ADVICE, parseStackConfig } from "./fleet/config.ts";
import { KanadeFleet, desiredFleet } from "./fleet/fleet.ts";

/** Declares a renamed fleet resource with an alias to its old name, so Pulumi plans one replacement (checkResources' renames). */
const aliasRenamed = (renames: Renames): pulumi.ResourceTransformation => (args) => {
    const old = renames.get(args.name);
    return old === undefined ? undefined : { props: args.props, opts: pulumi.mergeOptions(args.opts, { aliases: [{ name: old }] }) };
};

export default async () => {
    let config;
    let entries;
    try {
        config = parseStackConfig(pulumi.runtime.allConfig());
        entries = desiredFleet(config);
    } catch (err) {
        throw new pulumi.RunError((err as Error).message);
    }
    const optIns = config;
    const renames = await checkResources(entries, {
        monitorUrls: config.monitorUrls,
        allowsDataLoss: (name) => optIns.overrides[name]?.allowDataLoss ?? optIns.allowDataLoss,
        advice: FLEET_ADVICE,
    });

    const fleet = new KanadeFleet("kanade", entries, { transformations: [aliasRenamed(renames)] });
    const total = totalReserved(entries);
    return {
        resources: fleet.resources,
        reservation: { file: formatSize(total.file), memory: formatSize(total.memory), replicas: config.replicas },
    };
};
