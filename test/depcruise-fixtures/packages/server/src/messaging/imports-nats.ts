// expect: nats-only-in-cluster, no-unresolvable
// (nats is not installed yet; once it is, drop no-unresolvable here.)
export { connect } from 'nats';
