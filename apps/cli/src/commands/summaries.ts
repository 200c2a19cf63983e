// What each top-level command is for, in one line: the command's own --help and the program's
// list of commands (main.ts, which shows it without loading the command) say the same words.

export const summaries = {
  list: 'your shopping lists: create, ls, show, share, join, rename, clear-bought, delete, forget',
  item: 'the items of a list: add, set, inc, dec, buy, check, uncheck, note, remove, aisle',
  sync: 'sync every list now (exit 0: nothing waits; 5: changes still waiting at the timeout)',
  status: 'where each list stands (local / cloud-ok / all replicas), changes waiting, and the cloud',
  watch: 'show a list and redraw it whenever it changes, here or elsewhere, until Ctrl-C',
  config: "settings saved in the home folder: the cloud address, your name in history, your shop's aisles",
  history: 'who did what to a list, and when, newest first (names set with config set name)',
  undo: 'take back the last change this device made (to a list, or to any list)',
  cluster: 'run a local cloud: one proxy and N storage nodes as child processes (Ctrl-C stops all)',
  node: 'run one storage node',
  proxy: 'run one proxy (stateless; run several for failover)',
  gateway: 'run one gateway for browsers: the web app over HTTP and sync over WebSocket (/sync)',
  cloud: 'talk to the cloud directly, without a local copy (for operators and tests)',
  keys: "the cluster's keys: make a member's key pair (node, proxy, operator), list a keys folder",
  start: 'run Trolley on this machine: the web app, a gateway, a proxy and 3 storage nodes',
} as const;

export type CommandName = keyof typeof summaries;
