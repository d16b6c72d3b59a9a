// What a sign-in attempt leaves behind: a metric and an audit event, never the password.
import type { Metrics } from '../metrics/registry.ts';
import type { Audit } from '../services/audit.ts';
import type { LoginAttempt } from './routes.ts';

export function loginRecorder(metrics: Metrics, audit: Audit) {
  return async function recordLogin(attempt: LoginAttempt): Promise<void> {
    metrics.logins.inc({ outcome: attempt.outcome });
    // A success's audit row is written with its other writes (routes.ts, users.recordSignIn).
    if (attempt.outcome === 'success') return;
    if (attempt.subject !== undefined) {
      // An attempt on no known account has no subject: counted above, not written to the trail.
      await audit.record({
        type: 'login.failed',
        actor: 'anonymous',
        subject: attempt.subject,
        ip: attempt.ip,
        details: { reason: attempt.outcome },
      });
    }
  };
}
