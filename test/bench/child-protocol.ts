// Messages between the bench and a server it runs in a child process, over the IPC channel of fork().

export type ToChild =
  | { readonly type: 'cpu-usage' }
  | { readonly type: 'profile-start' }
  | { readonly type: 'profile-stop'; readonly path: string };

export type FromChild =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'cpu-usage'; readonly usage: NodeJS.CpuUsage }
  | { readonly type: 'profile-started' }
  | { readonly type: 'profile-written'; readonly path: string };
