// expect: client-core-platform-neutral
export { connect } from 'node:net';
