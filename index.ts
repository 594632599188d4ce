// The kanade fleet's JetStream resources as a Pulumi program: validate the
// stack config, check that the fleet fits the broker, then declare it.
import * as pulumi from "@pulumi/pulumi";
import { type Renames, fleetPlan, totalReserved } from "./fleet/checks.ts";
import { NAMESPACE, parseStackConfig } from "./fleet/config.ts";
import { KanadeFleet, desiredFleet } from "./fleet/fleet.ts";
import { brokerConnection, closeConnections, resolveSettings } from "./providers/connection.ts";
import { stackOwner } from "./providers/resource.ts";
import { formatSize } from "./providers/units.ts";

/** Declares a renamed fleet resource with an alias to its old name, so Pulumi plans one replacement (checks.ts FleetPlan.renames). */
const aliasRenamed = (renames: Renames): pulumi.ResourceTransformation => (args) => {
    const old = renames.get(args.name);
    return old === undefined ? undefined : { props: args.props, opts: pulumi.mergeOptions(args.opts, { aliases: [{ name: old }] }) };
};

export default async () => {
    const raw = pulumi.runtime.allConfig();
    let entries;
    let config;
    let renames: Renames;
    try {
        config = parseStackConfig(raw);
        entries = desiredFleet(config);
        const nc = await brokerConnection(resolveSettings((key) => raw[`${NAMESPACE}:${key}`]));
        const optIns = config;
        const plan = await fleetPlan(nc, entries, {
            monitorUrls: config.monitorUrls,
            owner: stackOwner(),
            allowsDataLoss: (name) => optIns.overrides[name]?.allowDataLoss ?? optIns.allowDataLoss,
        });
        for (const warning of plan.warnings) pulumi.log.warn(warning);
        if (plan.problems.length) {
            throw new Error(`the kanade fleet cannot be applied to this broker; nothing was changed:\n  - ${plan.problems.join("\n  - ")}`);
        }
        renames = plan.renames;
    } catch (err) {
        throw new pulumi.RunError((err as Error).message);
    } finally {
        // The program's own connection; the providers keep theirs.
        await closeConnections();
    }

    const fleet = new KanadeFleet("kanade", entries, { transformations: [aliasRenamed(renames)] });
    const total = totalReserved(entries);
    return {
        resources: fleet.resources,
        reservation: { file: formatSize(total.file), memory: formatSize(total.memory), replicas: config.replicas },
    };
};

