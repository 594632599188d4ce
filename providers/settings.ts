// A stream's settings, one row each: the input, its schema and default, the
// server field it becomes and how it reads back. The server's rules for each
// field (since which version, what it fills in, in place or replace) are the
// row of the same field in rules.ts: one table of what the server does,
// keyed by field, and this one of what the program writes, keyed by input.
// The defaults added with 2.10 to 2.12 are the server's own and send
// nothing, so a config that sets none of them is the one this program wrote
// before they existed.
import { z } from "zod";
import { bytes, compact, duration, metadataToServer, nanos, placementFromServer, placementToServer, republishFromServer, republishToServer, size } from "./mapping.ts";
import { type Field, type StreamConfig, type StreamSource, userMetadata } from "./rules.ts";
import * as s from "./schema.ts";
import { durationToNanos, duration as durationInput, size as sizeInput, UNLIMITED } from "./units.ts";

interface Setting<S extends z.ZodType, V = unknown> {
    field: Field;
    schema: S;
    /** The server value; undefined sends nothing. */
    toServer(value: z.output<S>): V;
    /** The input value of the broker's config; the schema's default when the field is absent. */
    fromServer(config: StreamConfig): z.output<S>;
}

/** A row, typed by its schema. */
const row = <S extends z.ZodType, V>(s: Setting<S, V>): Setting<S, V> => s;

/** A value the server stores as sent, reading `absent` when it has none. */
const plain = <S extends z.ZodType>(field: Field, schema: S, absent: z.output<S>) =>
    row({ field, schema, toServer: (v) => v, fromServer: (c) => (c[field] ?? absent) as z.output<S> });

/** A switch sent as it is, false when absent. */
const bool = (field: Field) => plain(field, z.boolean().default(false), false);

/** A switch the server stores as false when absent: sent only when on. */
const flag = (field: Field) =>
    row({ field, schema: z.boolean().default(false), toServer: (v) => v || undefined, fromServer: (c) => c[field] === true });

/** A count limit, -1 for none. */
const count = (field: Field) => plain(field, z.number().int().min(-1).default(-1), -1);

/** A size limit ("1GiB", bytes, "unlimited"). */
const sized = (field: Field) =>
    row({ field, schema: sizeInput.default(UNLIMITED), toServer: bytes, fromServer: (c) => size(c[field] as number | undefined) });

/** The TTL of the marker a limit or a purge leaves behind (2.11+; the server's minimum is 1s). */
const markerTtl = durationInput.refine((d) => durationToNanos(d) >= 1e9, {
    message: 'must be at least 1s: nats-server refuses a shorter one (10052 "subject delete marker TTL must be at least 1 second")',
});

const consumerLimits = z.strictObject({
    /** Default and longest inactive threshold of the stream's consumers. */
    inactiveThreshold: durationInput.optional(),
    /** Default and largest max_ack_pending of the stream's consumers. */
    maxAckPending: z.number().int().positive().optional(),
});

const origin = {
    name: s.streamName,
    optStartSeq: z.number().int().positive().optional(),
    optStartTime: z.iso.datetime().optional(),
    filterSubject: s.subject.optional(),
    subjectTransforms: z.array(s.sourceTransform).optional(),
    external: s.external.optional(),
};
const source = z.strictObject(origin).superRefine(s.originRules("source"));
const mirror = z.strictObject(origin).superRefine(s.originRules("mirror"));
type Source = z.infer<typeof source>;

// The server writes a transform's dest always, "" for none.
const sourceToServer = (x: Source): StreamSource =>
    compact({
        name: x.name, opt_start_seq: x.optStartSeq, opt_start_time: x.optStartTime, filter_subject: x.filterSubject,
        subject_transforms: x.subjectTransforms?.length ? x.subjectTransforms.map((t) => ({ src: t.src, dest: t.dest ?? "" })) : undefined,
        external: x.external,
    });

const sourceFromServer = (x: StreamSource): Source =>
    compact({
        name: x.name, optStartSeq: x.opt_start_seq || undefined, optStartTime: x.opt_start_time,
        filterSubject: x.filter_subject || undefined,
        subjectTransforms: x.subject_transforms?.length ? x.subject_transforms.map((t) => compact({ src: t.src, dest: t.dest || undefined })) : undefined,
        external: x.external,
    }) as Source;

export const STREAM_SETTINGS = {
    description: row({ field: "description", schema: s.description, toServer: (d) => d || undefined, fromServer: (c) => c.description ?? "" }),
    subjects: row({
        field: "subjects", schema: z.array(s.subject).default([]), toServer: (l) => (l.length ? l : undefined), fromServer: (c) => c.subjects ?? [],
    }),
    retention: plain("retention", z.enum(["limits", "interest", "workqueue"]).default("limits"), "limits"),
    storage: plain("storage", s.storage, "file"),
    replicas: plain("num_replicas", s.replicas, 1),
    maxAge: row({ field: "max_age", schema: s.maxAge.default(UNLIMITED), toServer: nanos, fromServer: (c) => duration(c.max_age) }),
    maxBytes: sized("max_bytes"),
    maxMsgs: count("max_msgs"),
    maxMsgsPerSubject: count("max_msgs_per_subject"),
    maxMsgSize: sized("max_msg_size"),
    maxConsumers: count("max_consumers"),
    discard: plain("discard", z.enum(["old", "new"]).default("old"), "old"),
    discardNewPerSubject: bool("discard_new_per_subject"),
    /** Defaults to the server's own choice: 2m, or maxAge when shorter (see the stream's schema). */
    duplicateWindow: row({
        field: "duplicate_window", schema: s.duplicateWindow.optional(),
        toServer: (d) => (d === undefined ? undefined : nanos(d)),
        fromServer: (c) => (c.duplicate_window === undefined ? undefined : duration(c.duplicate_window)),
    }),
    allowRollup: bool("allow_rollup_hdrs"),
    denyDelete: bool("deny_delete"),
    denyPurge: bool("deny_purge"),
    allowDirect: bool("allow_direct"),
    mirrorDirect: bool("mirror_direct"),
    sealed: bool("sealed"),
    compression: row({
        field: "compression", schema: z.enum(["none", "s2"]).default("none"),
        toServer: (v) => (v === "none" ? undefined : v), fromServer: (c) => c.compression ?? "none",
    }),
    placement: row({ field: "placement", schema: s.placement.optional(), toServer: placementToServer, fromServer: (c) => placementFromServer(c.placement) }),
    republish: row({ field: "republish", schema: s.republish.optional(), toServer: republishToServer, fromServer: (c) => republishFromServer(c.republish) }),
    subjectTransform: row({ field: "subject_transform", schema: s.subjectTransform.optional(), toServer: (t) => t, fromServer: (c) => c.subject_transform }),
    mirror: row({ field: "mirror", schema: mirror.optional(), toServer: (m) => m && sourceToServer(m), fromServer: (c) => c.mirror && sourceFromServer(c.mirror) }),
    sources: row({
        field: "sources", schema: z.array(source).default([]),
        toServer: (l) => (l.length ? l.map(sourceToServer) : undefined), fromServer: (c) => (c.sources ?? []).map(sourceFromServer),
    }),
    metadata: row({ field: "metadata", schema: s.metadata, toServer: metadataToServer, fromServer: (c) => userMetadata(c.metadata) }),
    /** Only a create sets it (rules.ts CREATE_ONLY). */
    firstSeq: row({ field: "first_seq", schema: z.number().int().positive().optional(), toServer: (n) => n, fromServer: (c) => c.first_seq || undefined }),
    noAck: flag("no_ack"),
    consumerLimits: row({
        field: "consumer_limits",
        schema: consumerLimits.optional(),
        // The server stores {} for no limits, and 0 for either limit means none.
        toServer: (l) => {
            const limits = compact({ inactive_threshold: l?.inactiveThreshold ? nanos(l.inactiveThreshold) || undefined : undefined, max_ack_pending: l?.maxAckPending });
            return Object.keys(limits).length ? limits : undefined;
        },
        fromServer: ({ consumer_limits: l }) => {
            const limits = compact({ inactiveThreshold: l?.inactive_threshold ? duration(l.inactive_threshold) : undefined, maxAckPending: l?.max_ack_pending || undefined });
            return Object.keys(limits).length ? limits : undefined;
        },
    }),
    allowMsgTtl: flag("allow_msg_ttl"),
    subjectDeleteMarkerTtl: row({
        field: "subject_delete_marker_ttl",
        schema: markerTtl.optional(),
        toServer: (d) => (d === undefined ? undefined : nanos(d)),
        fromServer: (c) => (c.subject_delete_marker_ttl ? duration(c.subject_delete_marker_ttl) : undefined),
    }),
    allowMsgCounter: flag("allow_msg_counter"),
    allowAtomic: flag("allow_atomic"),
    allowMsgSchedules: flag("allow_msg_schedules"),
    persistMode: row({
        field: "persist_mode",
        schema: z.enum(["default", "async"]).default("default"),
        toServer: (m) => (m === "async" ? m : undefined),
        fromServer: (c) => c.persist_mode ?? "default",
    }),
};

type Settings = typeof STREAM_SETTINGS;
type Name = keyof Settings;
type Out<K extends Name> = z.output<Settings[K]["schema"]>;
/** The settings as a parsed kind's inputs hold them: a setting without a default is optional. */
export type SettingInputs = { [K in Name as undefined extends Out<K> ? never : K]: Out<K> } & { [K in Name as undefined extends Out<K> ? K : never]?: Out<K> };

const ROWS = Object.entries(STREAM_SETTINGS) as [Name, Setting<z.ZodType>][];
const ALL = ROWS.map(([name]) => name);

/** The settings a KV bucket and an object store share with a stream, under the same inputs. */
export const COMMON_SETTINGS = ["description", "maxBytes", "storage", "replicas", "placement", "metadata"] as const satisfies Name[];

/** The input schemas of the named settings (all by default), to spread into a kind's z.strictObject. */
export function settingSchemas<K extends Name = Name>(names: readonly K[] = ALL as K[]): { [P in K]: Settings[P]["schema"] } {
    return Object.fromEntries(names.map((name) => [name, STREAM_SETTINGS[name].schema])) as { [P in K]: Settings[P]["schema"] };
}

/** The input each setting's server field comes from, for plans and errors. */
export const SETTING_INPUT_OF = Object.fromEntries(ROWS.map(([name, s]) => [s.field, name])) as Partial<Record<Field, Name>>;

export function settingsToServer<K extends Name = Name>(i: Pick<SettingInputs, K>, names: readonly K[] = ALL as K[]): Partial<StreamConfig> {
    const row = (name: K) => STREAM_SETTINGS[name] as Setting<z.ZodType>;
    return compact(Object.fromEntries(names.map((name) => [row(name).field, row(name).toServer((i as Record<Name, unknown>)[name])])));
}

export function settingsFromServer<K extends Name = Name>(c: StreamConfig, names: readonly K[] = ALL as K[]): Pick<SettingInputs, K> {
    return compact(Object.fromEntries(names.map((name) => [name, (STREAM_SETTINGS[name] as Setting<z.ZodType>).fromServer(c)]))) as Pick<SettingInputs, K>;
}

/**
 * What nats-server refuses (checkStreamCfg, jsStreamCreateRequest) or would
 * silently undo among a stream's settings, in its words, as zod issues on the
 * setting to change.
 */
export function settingRules(i: SettingInputs, ctx: z.core.$RefinementCtx<SettingInputs>): void {
    const issue = (path: Name, message: string) => ctx.addIssue({ code: "custom", path: [path], message, input: i });
    const refused = (text: string, code = 10052) => `nats-server refuses it (${code} "${text}")`;
    if (i.mirrorDirect && !i.mirror) issue("mirrorDirect", `needs a mirror: ${refused("stream has no mirror but does have mirror direct")}`);
    if (i.mirror) {
        if (i.firstSeq !== undefined) issue("firstSeq", `cannot be set on a mirror: ${refused("stream mirrors can not have first sequence configured", 10143)}`);
        if (i.subjectDeleteMarkerTtl) issue("subjectDeleteMarkerTtl", `cannot be set on a mirror: ${refused("subject delete markers forbidden on mirrors")}`);
        if (i.allowMsgCounter) issue("allowMsgCounter", `cannot be set on a mirror: ${refused("stream mirrors can not also calculate counters", 10173)}`);
        if (i.allowAtomic) issue("allowAtomic", `cannot be set on a mirror: ${refused("stream mirrors can not also use atomic publishing", 10198)}`);
        if (i.allowMsgSchedules) issue("allowMsgSchedules", `cannot be set on a mirror: ${refused("stream mirrors can not also schedule messages", 10186)}`);
    }
    if (i.allowMsgSchedules && i.sources.length) issue("allowMsgSchedules", `cannot be set with sources: ${refused("stream source can not also schedule messages", 10187)}`);
    if (i.allowMsgCounter) {
        if (i.discard === "new") issue("allowMsgCounter", `needs discard "old": ${refused("counter stream cannot use discard new")}`);
        if (i.allowMsgTtl || i.subjectDeleteMarkerTtl) issue("allowMsgCounter", `cannot be combined with message TTLs or delete markers: ${refused("counter stream cannot use message TTLs")}`);
        if (i.allowMsgSchedules) issue("allowMsgCounter", `cannot be combined with allowMsgSchedules: ${refused("counter stream cannot use message schedules")}`);
        if (i.retention !== "limits") issue("allowMsgCounter", `needs retention "limits": ${refused("counter stream can only use limits retention")}`);
    }
    if (i.allowMsgSchedules && i.discard === "new") issue("allowMsgSchedules", `needs discard "old": ${refused("message scheduling cannot use discard new")}`);
    if (i.persistMode === "async") {
        if (i.storage !== "file") issue("persistMode", `"async" needs file storage: ${refused("async persist mode is only supported on file storage")}`);
        if (i.replicas > 1) issue("persistMode", `"async" needs replicas 1: ${refused("async persist mode is not supported on replicated streams")}`);
        if (i.allowAtomic) issue("persistMode", `"async" cannot be combined with allowAtomic: ${refused("async persist mode is not supported with atomic batch publish")}`);
    }
    // The server turns roll-ups on for these, and with them deny purge off, without a word.
    if (i.denyPurge && (i.subjectDeleteMarkerTtl || i.allowMsgSchedules)) {
        issue("denyPurge", "cannot be set with subjectDeleteMarkerTtl or allowMsgSchedules: nats-server enables roll-ups for those and silently turns deny purge off");
    }
}
