// @trolley/web/server: the Node side of the web app — the gateway that serves it and relays its
// sync messages to the cloud (PROTOCOL.md §7), and the build of the app it serves. The CLI's
// `trolley gateway` and `trolley start` run them.

export {
  checkPublicUrl,
  startGateway,
  type GatewayOptions,
  type GatewayStats,
  type RunningGateway,
} from './gateway.ts';
export { checkOperatorToken, type OperatorNodeSource, type OperatorOptions } from './operator.ts';
export * from './build.ts';
