// Sign-in outcomes, for whoever wants to know (metrics, audit trail, brute-force limits).
// Listeners get the email as typed on failure, never the password.
import { EventEmitter } from 'node:events';

export interface LoginEvents {
  success: [{ userId: string; ip: string }];
  failure: [{ email: string; ip: string }];
}

export const loginEvents = new EventEmitter<LoginEvents>();
