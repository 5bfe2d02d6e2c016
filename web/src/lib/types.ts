// The objects of the JSON API (docs/web.md). Fields a node may leave out are optional.

export type MemberState = 'alive' | 'suspect' | 'leaving' | string;

export interface Member {
  id: string;
  name: string;
  address: string;
  state: MemberState;
  incarnation?: number;
  cores?: number;
  cpu_model?: string;
  cpu_mhz?: number;
  speed?: number;
  memory?: number;
  slots?: number;
  slots_used?: number;
  queue?: number;
  load1?: number;
  cpu?: number;
  mem_free?: number;
  disk_free?: number;
  reachable?: boolean;
}

export interface Totals {
  members: number;
  alive: number;
  cores: number;
  slots: number;
  slots_used: number;
  queue: number;
  memory: number;
  mem_free: number;
}

export interface Unreachable {
  node: string;
  address: string;
  reason: string;
}

export interface Federation {
  federation: string;
  self: string;
  members: Member[];
  totals: Totals;
  unreachable?: Unreachable[];
}

export interface History {
  member: string;
  interval_ms: number;
  t: number[];
  load1: number[];
  cpu: number[];
  mem_used: number[];
  slots_used: number[];
}

export interface Counts {
  tasks: number;
  pending?: number;
  ready?: number;
  running?: number;
  done?: number;
  failed?: number;
  cancelled?: number;
}

export type WorkflowState = 'running' | 'done' | 'failed' | 'cancelled' | string;

export interface Workflow {
  id: string;
  name: string;
  app?: string;
  owner: string;
  node: string;
  state: WorkflowState;
  submitted_ms: number;
  finished_ms?: number | null;
  counts: Counts;
  message?: string;
}

export interface WorkflowList {
  total: number;
  offset: number;
  workflows: Workflow[];
  unreachable?: Unreachable[];
}

export interface Task {
  id: string;
  array?: string | null;
  index?: number | null;
  state: string;
  host?: string | null;
  attempts: number;
  exit_code?: number | null;
  wall_ms?: number | null;
  cpu_ms?: number | null;
  max_rss?: number | null;
  started_ms?: number | null;
  finished_ms?: number | null;
  message?: string | null;
}

export interface TaskPage {
  total: number;
  offset: number;
  tasks: Task[];
}

export interface GraphNode {
  id: string;
  label: string;
  kind: 'task' | 'array';
  first?: number;
  last?: number;
  counts: Counts;
  state?: string;
}

export interface Graph {
  nodes: GraphNode[];
  edges: [string, string][];
}

export interface Timeline {
  t0_ms: number;
  hosts: string[];
  task: string[];
  host: number[];
  start: number[];
  end: (number | null)[];
  state: (string | number)[];
}

export interface Result {
  name: string;
  size: number;
  sha256: string;
  url: string;
}

export type ParamType = 'text' | 'number' | 'integer' | 'select' | 'checkbox' | 'file' | 'path';

export interface AppParam {
  name: string;
  label?: string;
  type: ParamType;
  default?: string | number | boolean | null;
  min?: number | null;
  max?: number | null;
  pattern?: string | null;
  required?: boolean;
  help?: string;
  advanced?: boolean;
  options?: { value: string; label?: string }[];
  show_if?: { param: string; equals: string } | null;
}

export interface AppInput {
  name: string;
  label?: string;
  required?: boolean;
  help?: string;
}

export interface App {
  name: string;
  title?: string;
  description?: string;
  version?: string;
  kind?: 'program' | 'workflow';
  params: AppParam[];
  inputs?: AppInput[];
}

export interface Submitted {
  id: string;
  name: string;
  tasks: number;
}

export interface DirEntry {
  name: string;
  type: 'file' | 'dir';
  size: number;
  mtime_ms: number;
}

export interface Listing {
  member: string;
  path: string;
  entries: DirEntry[];
}

export interface Lines {
  first: number;
  lines: string[];
  total: number;
}

export interface SegyHeader {
  traces: number;
  samples: number;
  interval_us: number;
  format: string | number;
  min: number;
  max: number;
  rms: number;
  headers?: Record<string, string | number>;
}

export interface Me {
  user: string;
  role: string;
  csrf: string;
  node?: { id: string; name: string; address: string; federation: string; version: string };
}
