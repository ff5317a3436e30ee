// expect: db-drivers-only-in-store
export { default as Database } from 'better-sqlite3';
