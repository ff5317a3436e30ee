// expect: db-drivers-only-in-store
export type { Pool } from 'pg';
