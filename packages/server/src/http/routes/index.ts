import { accountRoutes } from './accounts.js';
import { adminRoutes } from './admin.js';
import { auditRoutes } from './audit.js';
import { conversationRoutes } from './conversations.js';
import { deviceRoutes } from './devices.js';
import { factorRoutes } from './factors.js';
import { healthRoutes } from './health.js';
import { mlsRoutes } from './mls.js';
import { passkeyStepUpRoutes } from './passkey-step-up.js';
import { passkeyRoutes } from './passkeys.js';
import { securityRoutes } from './security.js';
import { serviceAccountRoutes } from './service-accounts.js';
import { ssoRoutes } from './sso.js';
import { transparencyRoutes } from './transparency.js';

/** Every HTTP route, each naming the access it needs (tests enumerate this list). */
export const ROUTES = [
  ...healthRoutes,
  ...accountRoutes,
  ...factorRoutes,
  ...passkeyRoutes,
  ...passkeyStepUpRoutes,
  ...ssoRoutes,
  ...deviceRoutes,
  ...adminRoutes,
  ...serviceAccountRoutes,
  ...conversationRoutes,
  ...mlsRoutes,
  ...transparencyRoutes,
  ...securityRoutes,
  ...auditRoutes,
];
