// The WebSocket relay, a diagnostic of the live benchmark (relay.ts).
import { relaySystem } from './relay.ts';

export const system = relaySystem('relay-ws', 'ws');
