// The node/ adapter may use Node built-ins: no expectation.
export { connect } from 'node:net';
