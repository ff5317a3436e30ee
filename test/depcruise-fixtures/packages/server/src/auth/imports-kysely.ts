// Queries live in the domain: Kysely is allowed everywhere. No expectation.
export { sql } from 'kysely';
