// A driver folder may import its driver: no expectation.
export { default as Database } from 'better-sqlite3';
