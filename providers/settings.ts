// The stream settings added with nats-server 2.10 to 2.12, one row each: the
// input, its schema and default, the server field it becomes and back. Each
// default is the server's own and sends nothing, so a config that sets none
// of them is the one this program wrote before they existed. The server's
// rules for each field (since, fill, change) are its row in rules.ts.
import { z } from "zod";
import { compact, duration, nanos } from "./mapping.ts";
import { type Field, type StreamConfig } from "./rules.ts";
import { durationToNanos, duration as durationInput } from "./units.ts";

interface Setting<S extends z.ZodType> {
    field: Field;
    schema: S;
    /** The server value; undefined for the server's default, so nothing is sent. */
    toServer(value: z.output<S>): unknown;
    /** The input value of the broker's config; the schema's default when the field is absent. */
    fromServer(config: StreamConfig): z.output<S>;
}

/** A row, typed by its schema. */
const row = <S extends z.ZodType>(s: Setting<S>): Setting<S> => s;

/** A switch the server stores as false when absent. */
const flag = (field: Field) =>
    row({ field, schema: z.boolean().default(false), toServer: (v) => v || undefined, fromServer: (c) => c[field] === true });

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

export const STREAM_SETTINGS = {
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

/** The settings' input schemas, to spread into a kind's z.strictObject. */
export const settingSchemas = Object.fromEntries(ROWS.map(([name, s]) => [name, s.schema])) as { [K in Name]: Settings[K]["schema"] };

/** The input each setting's server field comes from, for plans and errors. */
export const SETTING_INPUT_OF = Object.fromEntries(ROWS.map(([name, s]) => [s.field, name])) as Partial<Record<Field, Name>>;

export function settingsToServer(i: SettingInputs): Partial<StreamConfig> {
    return compact(Object.fromEntries(ROWS.map(([name, s]) => [s.field, s.toServer((i as Record<Name, unknown>)[name])])));
}

export function settingsFromServer(c: StreamConfig): SettingInputs {
    return compact(Object.fromEntries(ROWS.map(([name, s]) => [name, s.fromServer(c)]))) as SettingInputs;
}

interface RuleInputs extends SettingInputs {
    retention: "limits" | "interest" | "workqueue";
    discard: "old" | "new";
    storage: "file" | "memory";
    replicas: number;
    denyPurge: boolean;
    mirrorDirect: boolean;
    firstSeq?: number;
    mirror?: unknown;
    sources: unknown[];
}

/**
 * What nats-server refuses (checkStreamCfg, jsStreamCreateRequest) or would
 * silently undo among a stream's settings, in its words, as zod issues on the
 * setting to change.
 */
export function settingRules(i: RuleInputs, ctx: z.core.$RefinementCtx<RuleInputs>): void {
    const issue = (path: Name | keyof RuleInputs, message: string) => ctx.addIssue({ code: "custom", path: [path], message, input: i });
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
