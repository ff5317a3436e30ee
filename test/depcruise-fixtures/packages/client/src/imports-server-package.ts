// expect: packages-not-server-internals
export { startServer } from '@palisade/server';
