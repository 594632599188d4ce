// Zod building blocks shared by the three resource schemas: names, subjects
// and the nested settings the broker validates the same way for all kinds.
import { z } from "zod";
import { isServerMetadataKey } from "./rules.ts";

/** Stream names: the broker rejects whitespace, '.', '*', '>' and path separators. */
export const streamName = z
    .string()
    .min(1)
    .max(255)
    .regex(/^[^\s.*>/\\]+$/, "must not contain whitespace, '.', '*', '>', '/' or '\\'");

/** Bucket names, as async-nats and nats.js accept them for KV and object stores. */
export const bucketName = z
    .string()
    .min(1)
    .max(250)
    .regex(/^[A-Za-z0-9_-]+$/, "may contain only letters, digits, '_' and '-'");

/** A subject (wildcards allowed): non-empty tokens, '*' and '>' whole tokens, '>' last. */
export const subject = z.string().refine(isSubject, {
    message: "is not a well-formed subject: tokens separated by '.', no spaces, '*' and '>' only as whole tokens, '>' last",
});

export function isSubject(s: string): boolean {
    if (!s || /\s/.test(s)) return false;
    const tokens = s.split(".");
    return tokens.every((t, i) => t !== "" && (t === "*" || t === ">" || !/[*>]/.test(t)) && (t !== ">" || i === tokens.length - 1));
}

export const storage = z.enum(["file", "memory"]).default("file");
export const replicas = z.number().int().min(1).max(5).default(1);
export const description = z.string().max(4096).default("");
export const metadata = z
    .record(z.string(), z.string())
    .refine((m) => !Object.keys(m).some(isServerMetadataKey), { message: "keys starting with '_nats.' belong to the server" })
    .default({});

export const placement = z.strictObject({ cluster: z.string().min(1).optional(), tags: z.array(z.string().min(1)).optional() });
export const republish = z.strictObject({ src: subject, dest: subject, headersOnly: z.boolean().default(false) });
export const subjectTransform = z.strictObject({ src: subject, dest: z.string().min(1) });
export const external = z.strictObject({ api: z.string().min(1), deliver: z.string().optional() });

/**
 * Opting in to data loss: a replacement or delete of a resource that holds
 * messages fails unless this is set.
 */
export const allowDataLoss = z.boolean().default(false);
