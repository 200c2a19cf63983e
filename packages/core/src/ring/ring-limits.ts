// The ring's limits live with every other limit, in limits.ts.
export { ringLimits } from '../limits.ts';
