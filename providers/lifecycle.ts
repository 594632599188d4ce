// The one lifecycle behind all three resource kinds: check, diff, create
// (adopting what already exists), read, update and delete of the backing
// stream. A kind (stream.ts, keyValue.ts, objectStore.ts) only says how its
// inputs become a stream config and back.
//
// Every step is judged before anything changes: in preview by check (the
// engine calls it for every resource the program declares: without olds for
// one new to the stack, with them for one it has), and again right before
// acting (create, update, delete), as the broker may have changed since:
// what it would lose (guard.ts) and whether another stack manages the stream
// (ownership.ts). A delete is judged only when it runs: the engine does not
// ask the provider about deletes in preview.
import { isDeepStrictEqual } from "node:util";
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { CONNECTION_NAMESPACE, type ConfigGetter, apiTarget, brokerConnection, connectionConfig, brokerVersion, jsApi, resolveSettings, serverInfo } from "./connection.ts";
import { resourceError } from "./errors.ts";
import { type StreamInfo, contentLost, limitLosses, notCarriedOver, optInHint, streamInfo } from "./guard.ts";
import { type Registration, REGISTRY_BUCKET, REGISTRY_STREAM, claim, registration, release } from "./ownership.ts";
import { compact } from "./mapping.ts";
import { type FieldChange, compare, createRefusals, describeChange, forServer, updateRefusals } from "./plan.ts";
import { type Field, MANAGED_FIELDS, type StreamConfig, type Version, parseVersion, withUserMetadata } from "./rules.ts";
import { propertyPath } from "./schema.ts";

/** What every kind's checked inputs carry besides its own settings. */
export interface ManagedInputs {
    allowDataLoss: boolean;
    /** The owning stack, `<org>/<project>/<stack>` (resource.ts); absent: registers nothing. */
    owner?: string;
    /** The owner id of the stack this one may take the stream over from. */
    takeOverFrom?: string;
}

export interface Kind<S extends z.ZodType<ManagedInputs>> {
    /** How messages name this kind: "stream", "KV bucket", "object store". */
    label: string;
    schema: S;
    /** Each input's default (defaultsOf its shape): what stored inputs leave out. */
    defaults: Record<string, unknown>;
    /** The resource's own name on the broker (stream name or bucket). */
    nameOf(inputs: z.infer<S>): string;
    streamName(inputs: z.infer<S>): string;
    toStreamConfig(inputs: z.infer<S>): StreamConfig;
    /** The broker's config in this kind's input form, for refresh. */
    fromStreamConfig(config: StreamConfig): Omit<z.infer<S>, "allowDataLoss">;
    /** The input property a stream-config field comes from, for plans and errors. */
    inputOf(field: Field): string;
}

/**
 * The layout of the outputs this version writes; a later release reads it to
 * migrate state an earlier one wrote.
 */
export const SCHEMA_VERSION = 2;

/** State outputs: the stream and its config as the broker has it, and what no config holds. */
export type Outputs = Partial<ManagedInputs> & { stream: string; config: StreamConfig; schemaVersion: number; __provider?: string };

const MANAGED = new Set<string>(MANAGED_FIELDS);

// Stack config, from the provider's configure(); connection settings are
// resolved at call time so credentials never live in a serialised provider.
let stackConfig: ConfigGetter = () => undefined;
let connection: ReturnType<typeof connectionConfig> = { get: () => undefined, namespace: CONNECTION_NAMESPACE };

// The streams diff planned to replace, with the new inputs' opt-in, for the
// re-check and the delete the engine runs next in the same process: delete
// itself only sees the old state.
const replacementOptIns = new Map<string, boolean>();

/** A config value as configure() hands it over: JSON text (maps, booleans) or already parsed. */
function configValue(key: string): unknown {
    const value: unknown = stackConfig(key);
    if (typeof value !== "string") return value;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

/**
 * The data-loss opt-in the stack config of this run gives the fleet resource
 * `name` (overrides.<name>.allowDataLoss, else the fleet-wide allowDataLoss),
 * as fleet/fleet.ts reads it: a delete only sees the state an earlier run
 * wrote, so an opt-in set now for a resource removed from the fleet would
 * otherwise never reach it.
 */
function configOptIn(name: string): boolean {
    const overrides = configValue("overrides") as Record<string, { allowDataLoss?: unknown } | undefined> | undefined;
    const value = overrides?.[name]?.allowDataLoss ?? configValue("allowDataLoss");
    return value === true || value === "true";
}

async function broker(): Promise<{ nc: Awaited<ReturnType<typeof brokerConnection>>; version: Version; versionText: string }> {
    const nc = await brokerConnection(resolveSettings(connection.get, process.env, connection.namespace));
    // The lowest version in the cluster: any server may answer a request.
    const versionText = await brokerVersion(nc);
    return { nc, version: parseVersion(versionText), versionText };
}

type Broker = Awaited<ReturnType<typeof broker>>;

/**
 * The request body this broker can store: only fields its version knows,
 * and replicas > 1 only on a cluster (a single server would record the
 * setting on update without replicating anything).
 */
function requestFor(config: StreamConfig, b: Broker): StreamConfig {
    const replicas = config.num_replicas ?? 1;
    // Through a domain or prefix the stream lives in another JetStream, whose cluster the connected server does not describe.
    if (replicas > 1 && !apiTarget(b.nc) && !serverInfo(b.nc).cluster) {
        throw new Error(`replicas ${replicas} needs a JetStream cluster, but nats-server ${b.versionText} at ${b.nc.getServer()} runs alone: use replicas 1`);
    }
    return forServer(config, b.version, b.versionText);
}

/** Messages per subject of the stream (STREAM.INFO with subjects_filter, page by page). */
async function subjectCounts(nc: Awaited<ReturnType<typeof brokerConnection>>, stream: string): Promise<number[]> {
    const counts: number[] = [];
    for (;;) {
        const page = await jsApi<{ total?: number; state: { subjects?: Record<string, number> } }>(
            nc, `STREAM.INFO.${stream}`, { subjects_filter: ">", offset: counts.length });
        const got = Object.values(page.state.subjects ?? {});
        counts.push(...got);
        if (!got.length || counts.length >= (page.total ?? 0)) return counts;
    }
}

/**
 * Whether an input holds a value that another resource's output gives only
 * during `up`: preview passes Pulumi's unknown sentinel in its place.
 */
function hasUnknown(value: unknown): boolean {
    if (value === pulumi.runtime.unknownValue) return true;
    if (Array.isArray(value)) return value.some(hasUnknown);
    return typeof value === "object" && value !== null && Object.values(value).some(hasUnknown);
}

/** Whether stored inputs are the ones the stack has, from the same provider reference. */
function unchanged(olds: Record<string, unknown> | undefined, news: Record<string, unknown>, inputs: Record<string, unknown>): boolean {
    if (!olds || !Object.keys(olds).length) return false;
    const { __provider: oldProvider, ...old } = olds;
    return oldProvider === news.__provider && isDeepStrictEqual(old, inputs);
}

export function lifecycle<S extends z.ZodType<ManagedInputs>>(kind: Kind<S>): pulumi.dynamic.ResourceProvider {
    type Inputs = z.infer<S>;
    const describe = (name: string, stream: string) =>
        stream === name ? `${kind.label} "${name}"` : `${kind.label} "${name}" (stream ${stream})`;
    const describeInputs = (inputs: Inputs) => describe(kind.nameOf(inputs), kind.streamName(inputs));

    /**
     * Checked inputs as the stack keeps them: without the inputs at their
     * defaults. Every call between engine, program and provider carries the
     * inputs (and the engine logs each property), so a stream set by four
     * inputs costs four, not thirty; plans show what a program sets.
     */
    const stored = (inputs: object): Record<string, unknown> =>
        Object.fromEntries(Object.entries(inputs).filter(([key, value]) => !(key in kind.defaults && isDeepStrictEqual(value, kind.defaults[key]))));
    /** Stored inputs with the defaults back: the checked inputs. */
    const filled = (inputs: object): Inputs => ({ ...kind.defaults, ...inputs }) as Inputs;

    const outputs = (config: StreamConfig, managed: ManagedInputs): Outputs => ({
        ...compact({ allowDataLoss: managed.allowDataLoss, owner: managed.owner, takeOverFrom: managed.takeOverFrom }),
        stream: config.name, config: withUserMetadata(config), schemaVersion: SCHEMA_VERSION,
    });

    /** Refuses a stream another stack manages, unless this one takes it over from exactly that stack. */
    const ownershipProblem = (stream: string, reg: Registration, inputs: Partial<ManagedInputs>): string | undefined => {
        if (reg.owner === undefined || reg.owner === inputs.owner || reg.owner === inputs.takeOverFrom) return undefined;
        return `the stream ${stream} is managed by the stack ${reg.owner} (ownership registry: KV bucket ${REGISTRY_BUCKET}), ` +
            `so ${inputs.owner ? `this stack (${inputs.owner})` : "a resource without an owner"} must not adopt, change or delete it. Nothing was changed. ` +
            `To hand it over, set takeOverFrom: "${reg.owner}" on the resource (in the kanade fleet: kanade-jetstream:overrides.${kind.nameOf(inputs as Inputs)}.takeOverFrom), ` +
            "or remove it from that stack first; otherwise pick another name";
    };

    /** What applying `desired` to the existing stream would drop, as one refusal, unless opted in. */
    const shrinkProblem = async (b: Broker, existing: StreamInfo, desired: StreamConfig, inputs: Inputs, step: string) => {
        if (inputs.allowDataLoss) return undefined;
        const losses = await limitLosses(existing, desired, kind.inputOf, () => subjectCounts(b.nc, existing.config.name));
        if (!losses.length) return undefined;
        return `${step} would drop messages: ${losses.join("; ")}. Nothing was changed. ${optInHint(kind.nameOf(inputs))}`;
    };

    /**
     * Everything that makes adopting (or creating) the stream `desired`
     * names unsafe: another stack owns it, its settings cannot change in
     * place, or lowering its limits would drop messages. Each problem is a
     * sentence about the resource, without its name.
     */
    const adoptionProblems = async (b: Broker, inputs: Inputs, desired: StreamConfig): Promise<{ problems: string[]; existing?: StreamInfo; reg: Registration }> => {
        const [existing, reg] = await Promise.all([streamInfo(b.nc, desired.name), registration(b.nc, desired.name)]);
        const problems = [ownershipProblem(desired.name, reg, inputs)];
        if (existing) {
            const blocking = compare(desired, existing.config, b.version).filter((c) => c.change === "replace");
            if (blocking.length) problems.push(`it ${immutableReason(blocking, b.versionText)}`);
            else problems.push(await shrinkProblem(b, existing, desired, inputs, "adopting the existing stream"));
        } else problems.push(...creationRefusals(desired));
        return { problems: problems.filter((p): p is string => p !== undefined), existing, reg };
    };

    /**
     * Everything that makes the step from a resource's old inputs to `news`
     * unsafe, judged against the broker as it is now: another stack owns the
     * stream; a replacement (a rename, or a setting the server cannot change
     * in place) would delete messages or consumers; lowered limits would drop
     * messages; a rename would adopt a stream it must not. And, for a
     * replacement that may go ahead, what it will not carry over.
     */
    const changeProblems = async (b: Broker, olds: Record<string, unknown>, news: Inputs, desired: StreamConfig): Promise<{ problems: string[]; note?: string }> => {
        // Old inputs, or (from tests and older layouts) outputs: only the name matters.
        const { __provider: _p, stream: _s, config: _c, schemaVersion: _v, ...oldRaw } = olds;
        const old = kind.schema.safeParse(oldRaw);
        const oldStream = old.success ? kind.streamName(old.data) : desired.name;
        const [existing, reg] = await Promise.all([streamInfo(b.nc, oldStream), registration(b.nc, oldStream)]);
        const problems = [ownershipProblem(oldStream, reg, news)];
        const renamed = oldStream !== desired.name;
        let note: string | undefined;
        if (existing) {
            const changes = compare(desired, existing.config, b.version);
            const blocking = changes.filter((c) => c.change === "replace").map((c) => kind.inputOf(c.field));
            if (renamed) blocking.unshift(kind.inputOf("name"));
            const why = `replacing it (${[...new Set(blocking)].join(", ")} cannot change in place)`;
            const lost = blocking.length && !news.allowDataLoss ? contentLost(existing.state) : undefined;
            if (lost) {
                problems.push(`${why} deletes the stream ${oldStream}, and it holds ${lost} ` +
                    `that would be lost. Nothing was changed. ${optInHint(kind.nameOf(news))}`);
            } else if (!blocking.length) {
                problems.push(await shrinkProblem(b, existing, desired, news, "the update"));
                problems.push(...updateRefusals(changes));
            } else {
                const dropped = notCarriedOver(existing, desired);
                if (dropped.length) note = `${why} deletes the stream ${oldStream} and creates it anew without: ${dropped.join("; ")}`;
            }
            // A replacement creates the stream anew, with what a create cannot carry.
            if (blocking.length) problems.push(...creationRefusals(desired));
        }
        if (renamed) problems.push(...(await adoptionProblems(b, news, desired)).problems);
        return { problems: problems.filter((p): p is string => p !== undefined), note };
    };

    /** What the server refuses to create (a create, or the create half of a replacement), naming the input. */
    const creationRefusals = (desired: StreamConfig) => createRefusals(desired).map((r) => `${kind.inputOf(r.field)}: ${r.reason}`);

    /**
     * Backing-stream settings the broker has but no input of this kind can
     * express (a KV bucket's discard, an object store's allow_direct): the
     * kind fixes them, so drift there would plan an update that shows no
     * property. read() reports them as the input `drift`, which the program
     * never sets, so the plan shows which settings the update puts back.
     */
    const fixedSettingsDrift = (inputs: Record<string, unknown>, actual: StreamConfig, version: Version): Record<string, unknown> | undefined => {
        const parsed = kind.schema.safeParse(inputs);
        if (!parsed.success) return undefined;
        const changes = compare(kind.toStreamConfig(parsed.data), actual, version);
        return changes.length ? Object.fromEntries(changes.map((c) => [c.field, c.from ?? null])) : undefined;
    };

    /** Records this stack as the owner when the registry does not already say so (a resource without an owner records nothing). */
    const register = async (b: Broker, stream: string, reg: Registration, inputs: Inputs, desired: StreamConfig) => {
        if (inputs.owner && reg.owner !== inputs.owner) await claim(b.nc, stream, inputs.owner, reg.revision, desired.num_replicas ?? 1);
    };

    /** Fails unless the server stored what was sent (older servers drop fields they do not know). */
    const verifyApplied = (resource: string, desired: StreamConfig, applied: StreamConfig, version: Version, versionText: string) => {
        const missed = compare(desired, applied, version);
        if (missed.length) {
            const fields = missed.map((c) => `${c.field} (sent ${JSON.stringify(c.to)}, the broker kept ${JSON.stringify(c.from)})`);
            throw new Error(`${resource}: nats-server ${versionText} did not apply ${fields.join(", ")}; ` +
                "it may not support these settings: remove them or upgrade the server");
        }
    };

    const immutableReason = (blocking: FieldChange[], versionText: string) =>
        `already exists on the broker with a config nats-server ${versionText} cannot change in place: ` +
        `${blocking.map((c) => `${kind.inputOf(c.field)} (${describeChange(c)})`).join(", ")}. ` +
        "Make the program match the broker, or move the data away and remove the stream (nats stream rm) so it can be created anew.";
    const immutableError = (resource: string, blocking: FieldChange[], versionText: string) =>
        new Error(`${resource} ${immutableReason(blocking, versionText)}`);

    /** Sends the full config (the API replaces, it does not merge), keeping fields this program does not manage. */
    const applyUpdate = async (resource: string, existing: StreamInfo, desired: StreamConfig): Promise<StreamConfig> => {
        const b = await broker();
        const { nc, version, versionText } = b;
        const unmanaged = Object.fromEntries(Object.entries(existing.config).filter(([k]) => !MANAGED.has(k)));
        const body = requestFor({ ...unmanaged, ...desired }, b);
        const blocking = compare(desired, existing.config, version).filter((c) => c.change === "replace");
        if (blocking.length) throw immutableError(resource, blocking, versionText);
        const updated = await jsApi<StreamInfo>(nc, `STREAM.UPDATE.${desired.name}`, body);
        verifyApplied(resource, desired, updated.config, version, versionText);
        return updated.config;
    };

    return {
        async configure(req: pulumi.dynamic.ConfigureRequest) {
            stackConfig = (key) => req.config.get(key);
            // The SDK's Config reads full keys as they are, unqualified ones in the project's namespace (its projectName).
            connection = connectionConfig((key) => req.config.get(key), (req.config as { projectName?: string }).projectName || pulumi.getProject());
        },

        async check(olds: Record<string, unknown>, news: Record<string, unknown>) {
            const { __provider: _, ...raw } = news;
            // Nothing to validate or judge yet: `up` checks again once the values are known.
            if (hasUnknown(raw)) return { inputs: news };
            const parsed = kind.schema.safeParse(raw);
            if (parsed.success) {
                const inputs = parsed.data as Inputs;
                const keep = stored(inputs);
                const resource = describeInputs(inputs);
                if (kind.streamName(inputs) === REGISTRY_STREAM) {
                    return { inputs: keep, failures: [{ property: "", reason: `${resource}: the name is taken by this program's ownership registry (${REGISTRY_BUCKET}); pick another` }] };
                }
                // The inputs the stack already has (refreshed from the broker on
                // every preview and up): diff plans nothing for the stream, so
                // there is no step to judge, and no broker round trip to pay.
                if (unchanged(olds, news, keep)) return { inputs: keep };
                let b: Broker;
                try {
                    b = await broker();
                } catch {
                    // No broker to judge against (none configured, unreachable,
                    // refused): nothing can be lost through it either, and
                    // create, which judges again, reports the connection.
                    return { inputs: keep };
                }
                let problems: string[];
                let note: string | undefined;
                try {
                    // Settings this server cannot store are create's to report, with its advice.
                    const desired = kind.toStreamConfig(inputs);
                    // No olds: new to the stack, and create would adopt the
                    // stream if it exists; or the engine re-checking a
                    // resource diff just planned to replace (it does so with
                    // no olds), whose existing stream the replacement deletes
                    // first: that step was judged with its olds already.
                    const replacing = replacementOptIns.has(desired.name);
                    if (Object.keys(olds ?? {}).length) ({ problems, note } = await changeProblems(b, olds, inputs, desired));
                    else problems = replacing ? [] : (await adoptionProblems(b, inputs, desired)).problems;
                } catch (err) {
                    throw resourceError(resource, "planning", err);
                }
                // A dynamic provider has no line to the engine's log: its
                // stderr is what the CLI shows, among the stack's diagnostics.
                if (note && !problems.length) console.warn(`warning: ${resource}: ${note}`);
                return { inputs: keep, failures: problems.length ? problems.map((p) => ({ property: "", reason: `${resource}: ${p}` })) : undefined };
            }
            const at = (path: PropertyKey[]) => path.reduce<unknown>((v, k) => (v as Record<PropertyKey, unknown> | undefined)?.[k], raw);
            return {
                failures: parsed.error.issues.flatMap((issue) => {
                    // An unknown key is a failure of that key, not of the whole inputs object.
                    if (issue.code === "unrecognized_keys") {
                        return issue.keys.map((key) => {
                            const property = propertyPath([...issue.path, key]);
                            return {
                                property,
                                reason: `${kind.label}: ${property} is not a known setting (got ${JSON.stringify(at([...issue.path, key]))})`,
                            };
                        });
                    }
                    const value = at(issue.path);
                    const property = propertyPath(issue.path);
                    return {
                        property: property || "(inputs)",
                        reason: `${kind.label}: ${property || "inputs"} ${issue.message}` +
                            (value === undefined ? "" : ` (got ${JSON.stringify(value)})`),
                    };
                }),
            };
        },

        // No guard here: check() judges the step in preview. The engine also
        // calls diff while refreshing (Pulumi.yaml refreshes on every preview
        // and up), with the inputs of the previous run: a refusal there would
        // ignore an opt-in set since and fail even `pulumi destroy`.
        async diff(id: string, olds: Outputs, checked: Partial<Inputs> & { __provider?: string }) {
            // An input that is not known yet changes the resource; one that names
            // the stream may change which stream it is.
            if (hasUnknown(checked)) {
                const naming = kind.inputOf("name");
                const unknownName = hasUnknown((checked as Record<string, unknown>)[naming]);
                if (unknownName) replacementOptIns.set(id, checked.allowDataLoss === true);
                return { changes: true, replaces: unknownName ? [naming] : [], deleteBeforeReplace: unknownName };
            }
            const news = { ...filled(checked), __provider: checked.__provider };
            const resource = describeInputs(news);
            let version: Version;
            let desired: StreamConfig;
            try {
                const b = await broker();
                version = b.version;
                desired = requestFor(kind.toStreamConfig(news), b);
            } catch (err) {
                throw resourceError(resource, "planning", err);
            }
            const changes = compare(desired, olds.config, version);
            const replaces = [...new Set(changes.filter((c) => c.change === "replace").map((c) => kind.inputOf(c.field)))];
            if (kind.streamName(news) !== olds.stream && !replaces.includes(kind.inputOf("name"))) replaces.push(kind.inputOf("name"));
            if (replaces.length) replacementOptIns.set(id, news.allowDataLoss);
            // The SDK's host copies the old provider reference into read's and
            // update's outputs; only an update with the new inputs replaces it,
            // so state written by an older layout (or schema) is rewritten on
            // the next `up`, with nothing sent to the broker.
            const stateOutdated = olds.__provider !== news.__provider || olds.schemaVersion !== SCHEMA_VERSION;
            // State from before the registry has no owner: the update registers it.
            const managedChanged = olds.allowDataLoss !== news.allowDataLoss || olds.owner !== news.owner || olds.takeOverFrom !== news.takeOverFrom;
            return {
                changes: changes.length > 0 || replaces.length > 0 || managedChanged || stateOutdated,
                replaces,
                deleteBeforeReplace: replaces.length > 0,
            };
        },

        async create(checked: Partial<Inputs>) {
            const inputs = filled(checked);
            const resource = describeInputs(inputs);
            const desired = kind.toStreamConfig(inputs);
            try {
                const b = await broker();
                const { nc, version, versionText } = b;
                // Settings this server cannot store fail the create, adopting or not.
                const body = requestFor(desired, b);
                // Judged again: the broker may have changed since preview.
                const { problems, existing, reg } = await adoptionProblems(b, inputs, desired);
                if (problems.length) throw new Error(problems.join("\n"));
                await register(b, desired.name, reg, inputs, desired);
                let config: StreamConfig;
                if (existing) {
                    // Adopt: made by the backend, by hand, or lost from state.
                    config = compare(desired, existing.config, version).length
                        ? await applyUpdate(resource, existing, desired)
                        : existing.config;
                } else {
                    const created = await jsApi<StreamInfo>(nc, `STREAM.CREATE.${desired.name}`, body);
                    verifyApplied(resource, desired, created.config, version, versionText);
                    config = created.config;
                }
                return { id: desired.name, outs: outputs(config, inputs) };
            } catch (err) {
                throw resourceError(resource, "create", err);
            }
        },

        async read(id: string, props: Outputs) {
            const resource = describe(props.stream ?? id, id);
            try {
                const b = await broker();
                const existing = await streamInfo(b.nc, id);
                if (!existing) return {}; // gone: refresh drops it, the next plan creates it
                const managed = { allowDataLoss: props.allowDataLoss ?? false, owner: props.owner, takeOverFrom: props.takeOverFrom };
                const outs = outputs(existing.config, managed);
                const inputs = stored({ ...kind.fromStreamConfig(existing.config), ...compact(managed) });
                const drift = fixedSettingsDrift(inputs, existing.config, b.version);
                return { id, props: outs, inputs: drift ? { ...inputs, drift } : inputs };
            } catch (err) {
                throw resourceError(resource, "read", err);
            }
        },

        async update(id: string, _olds: Outputs, checked: Partial<Inputs>) {
            const news = filled(checked);
            const resource = describeInputs(news);
            const desired = kind.toStreamConfig(news);
            try {
                const b = await broker();
                const { nc, version } = b;
                requestFor(desired, b); // settings this server cannot store fail, even with nothing else to change
                const [existing, reg] = await Promise.all([streamInfo(nc, id), registration(nc, id)]);
                if (!existing) {
                    throw new Error("it no longer exists on the broker; run `pulumi up --refresh` so it is planned as a create");
                }
                // Judged again: the broker may have changed since preview.
                const problems = [ownershipProblem(id, reg, news), await shrinkProblem(b, existing, desired, news, "the update")]
                    .filter((p): p is string => p !== undefined);
                if (problems.length) throw new Error(problems.join("\n"));
                await register(b, id, reg, news, desired);
                const config = compare(desired, existing.config, version).length
                    ? await applyUpdate(resource, existing, desired)
                    : existing.config;
                return { outs: outputs(config, news) };
            } catch (err) {
                throw resourceError(resource, "update", err);
            }
        },

        async delete(id: string, props: Outputs) {
            const name = kind.nameOf(kind.fromStreamConfig(props.config) as Inputs);
            const resource = describe(name, id);
            try {
                const { nc } = await broker();
                const [existing, reg] = await Promise.all([streamInfo(nc, id), registration(nc, id)]);
                // Handed over to (or taken by) another stack: it is theirs to
                // delete; this stack only lets go of it.
                if (reg.owner !== undefined && reg.owner !== props.owner) return;
                if (existing) {
                    const optedIn = props.allowDataLoss || replacementOptIns.get(id) === true || configOptIn(name);
                    const lost = contentLost(existing.state);
                    if (lost && !optedIn) {
                        throw new Error(`it holds ${lost} that deleting or replacing it would lose. Nothing was changed. ${optInHint(name)}`);
                    }
                    await jsApi(nc, `STREAM.DELETE.${id}`);
                }
                if (reg.owner !== undefined) await release(nc, id, reg.revision);
            } catch (err) {
                throw resourceError(resource, "delete", err);
            }
        },
    };
}
