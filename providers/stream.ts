// Stream: a JetStream stream with every setting of the server's StreamConfig
// an operator sets.
import * as pulumi from "@pulumi/pulumi";
import { z } from "zod";
import { type Kind, lifecycle } from "./lifecycle.ts";
import { bytes, commonFromServer, commonToServer, compact, duration, nanos, republishFromServer, republishToServer, size } from "./mapping.ts";
import { type Field, RULES, type StreamConfig, type StreamSource } from "./rules.ts";
import * as s from "./schema.ts";
import { SETTING_INPUT_OF, settingRules, settingSchemas, settingsFromServer, settingsToServer } from "./settings.ts";
import { JetStreamResource, type ResourceArgs } from "./resource.ts";
import { formatDuration, size as sizeInput, UNLIMITED } from "./units.ts";

const count = z.number().int().min(-1).default(-1);

const source = z.strictObject({
    name: s.streamName,
    optStartSeq: z.number().int().positive().optional(),
    optStartTime: z.iso.datetime().optional(),
    filterSubject: s.subject.optional(),
    external: s.external.optional(),
});

export const streamInputs = z
    .strictObject({
        name: s.streamName,
        description: s.description,
        subjects: z.array(s.subject).default([]),
        retention: z.enum(["limits", "interest", "workqueue"]).default("limits"),
        storage: s.storage,
        replicas: s.replicas,
        maxAge: s.maxAge.default(UNLIMITED),
        maxBytes: sizeInput.default(UNLIMITED),
        maxMsgs: count,
        maxMsgsPerSubject: count,
        maxMsgSize: sizeInput.default(UNLIMITED),
        maxConsumers: count,
        discard: z.enum(["old", "new"]).default("old"),
        discardNewPerSubject: z.boolean().default(false),
        /** Defaults to the server's own choice: 2m, or maxAge when shorter. */
        duplicateWindow: s.duplicateWindow.optional(),
        allowRollup: z.boolean().default(false),
        denyDelete: z.boolean().default(false),
        denyPurge: z.boolean().default(false),
        allowDirect: z.boolean().default(false),
        mirrorDirect: z.boolean().default(false),
        sealed: z.boolean().default(false),
        compression: z.enum(["none", "s2"]).default("none"),
        placement: s.placement.optional(),
        republish: s.republish.optional(),
        subjectTransform: s.subjectTransform.optional(),
        mirror: source.optional(),
        sources: z.array(source).default([]),
        metadata: s.metadata,
        firstSeq: z.number().int().positive().optional(),
        ...settingSchemas,
        ...s.managedInputs,
    })
    .refine((i) => !(i.mirror && (i.subjects.length || i.sources.length)), {
        message: "a mirror cannot also have subjects or sources", path: ["mirror"],
    })
    .superRefine(s.streamRules)
    .superRefine(settingRules)
    .transform((i) => {
        if (i.duplicateWindow !== undefined || i.mirror) return i;
        const window = RULES.duplicate_window.fill({ name: i.name, max_age: nanos(i.maxAge) }) as number;
        return { ...i, duplicateWindow: formatDuration(window) };
    });

export type StreamInputs = z.infer<typeof streamInputs>;
export type StreamArgs = z.input<typeof streamInputs>;
type Source = z.infer<typeof source>;

const sourceToServer = (x: Source): StreamSource =>
    compact({ name: x.name, opt_start_seq: x.optStartSeq, opt_start_time: x.optStartTime, filter_subject: x.filterSubject, external: x.external });

const sourceFromServer = (x: StreamSource): Source =>
    compact({
        name: x.name, optStartSeq: x.opt_start_seq || undefined, optStartTime: x.opt_start_time,
        filterSubject: x.filter_subject || undefined, external: x.external,
    }) as Source;

const INPUT_OF: Partial<Record<Field, keyof StreamInputs>> = {
    max_age: "maxAge", max_bytes: "maxBytes", max_msgs: "maxMsgs", max_msgs_per_subject: "maxMsgsPerSubject",
    max_msg_size: "maxMsgSize", max_consumers: "maxConsumers", discard_new_per_subject: "discardNewPerSubject",
    duplicate_window: "duplicateWindow", allow_rollup_hdrs: "allowRollup", deny_delete: "denyDelete", deny_purge: "denyPurge",
    allow_direct: "allowDirect", mirror_direct: "mirrorDirect", num_replicas: "replicas", subject_transform: "subjectTransform",
    first_seq: "firstSeq", ...SETTING_INPUT_OF,
};

export const streamKind: Kind<typeof streamInputs> = {
    label: "stream",
    schema: streamInputs,
    nameOf: (i) => i.name,
    streamName: (i) => i.name,
    inputOf: (field) => INPUT_OF[field] ?? field,
    toStreamConfig: (i) =>
        compact({
            name: i.name,
            ...commonToServer(i),
            subjects: i.subjects.length ? i.subjects : undefined,
            retention: i.retention,
            max_age: nanos(i.maxAge),
            max_msgs: i.maxMsgs,
            max_msgs_per_subject: i.maxMsgsPerSubject,
            max_msg_size: bytes(i.maxMsgSize),
            max_consumers: i.maxConsumers,
            discard: i.discard,
            discard_new_per_subject: i.discardNewPerSubject,
            duplicate_window: i.duplicateWindow === undefined ? undefined : nanos(i.duplicateWindow),
            allow_rollup_hdrs: i.allowRollup,
            deny_delete: i.denyDelete,
            deny_purge: i.denyPurge,
            allow_direct: i.allowDirect,
            mirror_direct: i.mirrorDirect,
            sealed: i.sealed,
            compression: i.compression === "none" ? undefined : i.compression,
            republish: republishToServer(i.republish),
            subject_transform: i.subjectTransform,
            mirror: i.mirror && sourceToServer(i.mirror),
            sources: i.sources.length ? i.sources.map(sourceToServer) : undefined,
            first_seq: i.firstSeq,
            ...settingsToServer(i),
        }),
    fromStreamConfig: (c: StreamConfig) => {
        const out = {
            name: c.name,
            ...commonFromServer(c),
            subjects: c.subjects ?? [],
            retention: c.retention ?? "limits",
            maxAge: duration(c.max_age),
            maxMsgs: c.max_msgs ?? -1,
            maxMsgsPerSubject: c.max_msgs_per_subject ?? -1,
            maxMsgSize: size(c.max_msg_size),
            maxConsumers: c.max_consumers ?? -1,
            discard: c.discard ?? "old",
            discardNewPerSubject: c.discard_new_per_subject ?? false,
            duplicateWindow: c.duplicate_window === undefined ? undefined : duration(c.duplicate_window),
            allowRollup: c.allow_rollup_hdrs ?? false,
            denyDelete: c.deny_delete ?? false,
            denyPurge: c.deny_purge ?? false,
            allowDirect: c.allow_direct ?? false,
            mirrorDirect: c.mirror_direct ?? false,
            sealed: c.sealed ?? false,
            compression: c.compression ?? "none",
            republish: republishFromServer(c.republish),
            subjectTransform: c.subject_transform,
            mirror: c.mirror && sourceFromServer(c.mirror),
            sources: (c.sources ?? []).map(sourceFromServer),
            firstSeq: c.first_seq || undefined,
            ...settingsFromServer(c),
        };
        return compact(out) as Omit<StreamInputs, "allowDataLoss">;
    },
};

export const provider = lifecycle(streamKind);

export class Stream extends JetStreamResource {
    constructor(name: string, args: ResourceArgs<StreamArgs>, opts?: pulumi.CustomResourceOptions) {
        super("stream", "Stream", name, args, opts);
    }
}
