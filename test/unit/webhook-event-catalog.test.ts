// The webhook event catalog (issue 19's names over the audit trail's types): what a
// subscription stores, what a delivery is named, and which stored subscriptions match.
import { describe, expect, it } from 'vitest';
import { AUDIT_EVENT_TYPES } from '../../src/services/audit.ts';
import {
  subscribedEventType,
  subscriptionNames,
  WEBHOOK_EVENT_TYPES,
  webhookEventType,
} from '../../src/webhooks/event-catalog.ts';

describe('the webhook event catalog', () => {
  it('has every event issue 19 lists, each from an audit type', () => {
    const listed = [
      'user.created',
      'user.login.failed',
      'user.locked',
      'refresh_token.reuse_detected',
      'client.secret_rotated',
      'signing_key.rotated',
    ];
    for (const name of listed) expect(WEBHOOK_EVENT_TYPES).toContain(name);
    expect(WEBHOOK_EVENT_TYPES).toHaveLength(AUDIT_EVENT_TYPES.length);
    expect(new Set(WEBHOOK_EVENT_TYPES).size).toBe(WEBHOOK_EVENT_TYPES.length);
  });

  it('delivers renamed audit types under the catalog name, and stores an old name as the new', () => {
    expect(webhookEventType('login.failed')).toBe('user.login.failed');
    expect(webhookEventType('key.rotated')).toBe('signing_key.rotated');
    expect(webhookEventType('user.locked')).toBe('user.locked');
    expect(subscribedEventType('login.failed')).toBe('user.login.failed');
    expect(subscribedEventType('signing_key.rotated')).toBe('signing_key.rotated');
    expect(subscribedEventType('user.nonsense')).toBeUndefined();
    // A subscription stored under the audit name before the catalog still matches.
    expect(subscriptionNames('key.rotated')).toEqual(['signing_key.rotated', 'key.rotated']);
    expect(subscriptionNames('user.created')).toEqual(['user.created']);
  });
});
