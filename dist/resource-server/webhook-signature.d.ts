export interface WebhookEvent {
    /** The event's id, the same in every (re)delivery of it: de-duplicate on this. */
    id: string;
    /** The audit event type, e.g. `refresh_token.reuse_detected`. */
    type: string;
    created_at: string;
    data: {
        actor: string;
        subject: string | null;
        ip: string | null;
        details: Record<string, unknown>;
    };
}
export declare class InvalidWebhookSignature extends Error {
    constructor(message: string);
}
export interface VerifyWebhookOptions {
    /** How old (or how far in the future) a delivery's timestamp may be; default 300 s. */
    toleranceSeconds?: number;
    /** The current time in milliseconds (tests). */
    now?: () => number;
}
type Headers = Record<string, string | string[] | undefined> | {
    get(name: string): string | null;
};
/**
 * Checks a delivery's signature and age and returns the parsed event; throws
 * InvalidWebhookSignature otherwise. `secret`: the webhook's secret, or several (during a rotation
 * on the receiver's side). `headers`: Node's IncomingHttpHeaders (lower-case names) or a fetch
 * Headers. `rawBody`: the body exactly as received.
 */
export declare function verifyWebhook(secret: string | string[], headers: Headers, rawBody: string | Buffer, options?: VerifyWebhookOptions): WebhookEvent;
export {};
