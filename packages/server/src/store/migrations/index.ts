import type { Migration } from 'kysely';
import { m0001Initial } from './0001-initial.js';
import { m0002Mfa } from './0002-mfa.js';
import { m0003Roles } from './0003-roles.js';
import { m0004DeviceTrust } from './0004-device-trust.js';
import { m0005ServiceAccounts } from './0005-service-accounts.js';
import { m0006SessionNetwork } from './0006-session-network.js';
import { m0007Passkeys } from './0007-passkeys.js';
import { m0008Sso } from './0008-sso.js';
import { m0009StrongAuthMethod } from './0009-strong-auth-method.js';
import { m0010DataKeys } from './0010-data-keys.js';
import { m0011SealedMessages } from './0011-sealed-messages.js';
import { m0012SealedMetadata } from './0012-sealed-metadata.js';
import { m0013FactorsPasskeyAssurance } from './0013-factors-passkey-assurance.js';
import { m0014RbacProvenance } from './0014-rbac-provenance.js';
import { m0015LoginFailuresEmailVerified } from './0015-login-failures-email-verified.js';
import { m0016SsoLoopback } from './0016-sso-loopback.js';
import { m0017MlsDelivery } from './0017-mls-delivery.js';
import { m0018Transparency } from './0018-transparency.js';
import { m0019ServiceTokenDevice } from './0019-service-token-device.js';
import { m0020AuditActorIndex } from './0020-audit-actor-index.js';
import { m0021AuditChain } from './0021-audit-chain.js';
import { m0024Alerts } from './0024-alerts.js';
import { m0025AuditLegacyFlag } from './0025-audit-legacy-flag.js';
import { m0023Containments } from './0023-containments.js';
import { m0022Detect } from './0022-detect.js';
import type { DialectQuirks } from './quirks.js';

export type { DialectQuirks } from './quirks.js';

/** Versioned migrations, applied in name order, written once for both databases. */
export function migrations(q: DialectQuirks): Record<string, Migration> {
  return {
    '0001_initial': m0001Initial(q),
    '0002_mfa': m0002Mfa(),
    '0003_roles': m0003Roles(),
    '0004_device_trust': m0004DeviceTrust(),
    '0005_service_accounts': m0005ServiceAccounts(),
    '0006_session_network': m0006SessionNetwork(),
    '0007_passkeys': m0007Passkeys(),
    '0008_sso': m0008Sso(),
    '0009_strong_auth_method': m0009StrongAuthMethod(),
    '0010_data_keys': m0010DataKeys(),
    '0011_sealed_messages': m0011SealedMessages(),
    '0012_sealed_metadata': m0012SealedMetadata(),
    '0013_factors_passkey_assurance': m0013FactorsPasskeyAssurance(),
    '0014_rbac_provenance': m0014RbacProvenance(),
    '0015_login_failures_email_verified': m0015LoginFailuresEmailVerified(),
    '0016_sso_loopback': m0016SsoLoopback(),
    '0017_mls_delivery': m0017MlsDelivery(q),
    '0018_transparency': m0018Transparency(),
    '0019_service_token_device': m0019ServiceTokenDevice(),
    '0020_audit_actor_index': m0020AuditActorIndex(),
    '0021_audit_chain': m0021AuditChain(),
    '0022_detect': m0022Detect(),
    '0023_containments': m0023Containments(),
    '0024_alerts': m0024Alerts(),
    '0025_audit_legacy_flag': m0025AuditLegacyFlag(),
  };
}
