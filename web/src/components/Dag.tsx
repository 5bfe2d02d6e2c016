// A workflow's graph: task arrays are one node each ("shot[0..239] 120/240"), coloured by
// state. dagre lays out graphs of up to a few hundred nodes; larger ones are laid out by
// longest-path layers, which is linear in the graph's size.

import dagre from '@dagrejs/dagre';
import { useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { colorOf } from '../lib/colors';
import { useT } from '../lib/i18n';
import type { Counts, Graph, GraphNode } from '../lib/types';

const nodeW = 210;
const nodeH = 44;
const dagreLimit = 400;

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
}

interface DagLayout {
  nodes: Placed[];
  edges: { points: { x: number; y: number }[] }[];
  width: number;
  height: number;
}

export function nodeState(n: GraphNode): string {
  if (n.state) return n.state;
  const c = n.counts;
  if ((c.failed ?? 0) > 0) return 'failed';
  if ((c.running ?? 0) > 0) return 'running';
  if (c.tasks > 0 && (c.done ?? 0) === c.tasks) return 'done';
  if ((c.cancelled ?? 0) > 0 && (c.cancelled ?? 0) + (c.done ?? 0) === c.tasks) return 'cancelled';
  if ((c.ready ?? 0) > 0) return 'ready';
  return 'pending';
}

export function nodeLabel(n: GraphNode): string {
  if (n.kind !== 'array') return n.label;
  const range = n.label.includes('[') || n.first === undefined ? '' : `[${n.first}..${n.last ?? n.first}]`;
  return `${n.label}${range} ${n.counts.done ?? 0}/${n.counts.tasks}`;
}

function layered(graph: Graph): DagLayout {
  const index = new Map(graph.nodes.map((n, i) => [n.id, i]));
  const indeg = new Int32Array(graph.nodes.length);
  const out: number[][] = graph.nodes.map(() => []);
  for (const [a, b] of graph.edges) {
    const i = index.get(a);
    const j = index.get(b);
    if (i === undefined || j === undefined) continue;
    out[i]!.push(j);
    indeg[j]!++;
  }
  const layer = new Int32Array(graph.nodes.length);
  const queue: number[] = [];
  indeg.forEach((d, i) => d === 0 && queue.push(i));
  for (let k = 0; k < queue.length; k++) {
    const i = queue[k]!;
    for (const j of out[i]!) {
      layer[j] = Math.max(layer[j]!, layer[i]! + 1);
      if (--indeg[j]! === 0) queue.push(j);
    }
  }
  const rows: number[][] = [];
  graph.nodes.forEach((_, i) => (rows[layer[i]!] ??= []).push(i));
  const gapX = 24;
  const gapY = 50;
  const width = Math.max(...rows.map((r) => r.length)) * (nodeW + gapX);
  const pos: { x: number; y: number }[] = [];
  rows.forEach((r, l) =>
    r.forEach((i, k) => {
      pos[i] = { x: (width - r.length * (nodeW + gapX)) / 2 + k * (nodeW + gapX) + nodeW / 2 + gapX / 2, y: l * (nodeH + gapY) + nodeH / 2 + 10 };
    }),
  );
  const edges = graph.edges.flatMap(([a, b]) => {
    const i = index.get(a);
    const j = index.get(b);
    if (i === undefined || j === undefined) return [];
    const p = pos[i]!;
    const q = pos[j]!;
    return [{ points: [{ x: p.x, y: p.y + nodeH / 2 }, { x: q.x, y: q.y - nodeH / 2 }] }];
  });
  return {
    nodes: graph.nodes.map((node, i) => ({ node, x: pos[i]!.x, y: pos[i]!.y })),
    edges,
    width,
    height: rows.length * (nodeH + gapY) + 20,
  };
}

function withDagre(graph: Graph): DagLayout {
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 44, marginx: 10, marginy: 10 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of graph.nodes) g.setNode(n.id, { width: nodeW, height: nodeH });
  for (const [a, b] of graph.edges) if (g.hasNode(a) && g.hasNode(b)) g.setEdge(a, b);
  dagre.layout(g);
  const info = g.graph();
  return {
    nodes: graph.nodes.map((node) => {
      const p = g.node(node.id);
      return { node, x: p.x, y: p.y };
    }),
    edges: g.edges().map((e) => ({ points: g.edge(e).points ?? [] })),
    width: info.width ?? 0,
    height: info.height ?? 0,
  };
}

export function Dag({
  graph,
  selected,
  onSelect,
  onDrawn,
}: {
  graph: Graph;
  selected?: string;
  onSelect: (n: GraphNode) => void;
  onDrawn?: (ms: number) => void;
}) {
  const t = useT();
  const t0 = useRef(0);
  const [zoom, setZoom] = useState(1);
  const lay = useMemo(() => {
    t0.current = performance.now();
    return graph.nodes.length <= dagreLimit ? withDagre(graph) : layered(graph);
  }, [graph]);
  useLayoutEffect(() => onDrawn?.(performance.now() - t0.current), [lay]);
  const fit = Math.min(1, 900 / Math.max(1, lay.width));
  const k = fit * zoom;

  return (
    <div class="dag-wrap">
      <div class="dag-tools">
        <button class="ghost small" onClick={() => setZoom((z) => Math.min(4, z * 1.25))} title={t('dag.zoomIn')}>
          +
        </button>
        <button class="ghost small" onClick={() => setZoom((z) => Math.max(0.1, z / 1.25))} title={t('dag.zoomOut')}>
          −
        </button>
        <button class="ghost small" onClick={() => setZoom(1)}>
          {t('dag.fit')}
        </button>
        <span class="muted small">{t('dag.hint')}</span>
      </div>
      <div class="dag-scroll">
        <svg
          data-testid="dag"
          data-nodes={graph.nodes.length}
          width={Math.max(1, lay.width * k)}
          height={Math.max(1, lay.height * k)}
          viewBox={`0 0 ${Math.max(1, lay.width)} ${Math.max(1, lay.height)}`}
        >
          <defs>
            <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
              <path d="M 0 0 L 10 5 L 0 10 z" fill="#94a3b8" />
            </marker>
          </defs>
          <g class="edges">
            {lay.edges.map((e, i) => (
              <polyline key={i} points={e.points.map((p) => `${p.x},${p.y}`).join(' ')} fill="none" stroke="#94a3b8" stroke-width="1.3" marker-end="url(#arrow)" />
            ))}
          </g>
          {lay.nodes.map(({ node, x, y }) => {
            const state = nodeState(node);
            return (
              <g
                key={node.id}
                class={`dag-node ${selected === node.id ? 'selected' : ''}`}
                transform={`translate(${x - nodeW / 2},${y - nodeH / 2})`}
                data-testid="dag-node"
                data-id={node.id}
                data-kind={node.kind}
                data-state={state}
                onClick={() => onSelect(node)}
              >
                <title>{`${node.id}\n${t(`state.${state}`)}`}</title>
                <rect width={nodeW} height={nodeH} rx="7" fill="#fff" stroke={colorOf(state)} stroke-width={selected === node.id ? 3 : 2} />
                <rect width="6" height={nodeH} rx="3" fill={colorOf(state)} />
                <text x="14" y="18" class="dag-label">
                  {clip(nodeLabel(node), 27)}
                </text>
                {node.kind === 'array' ? <ArrayBar counts={node.counts} /> : (
                  <text x="14" y="34" class="dag-sub">
                    {t(`state.${state}`)}
                  </text>
                )}
              </g>
            );
          })}
        </svg>
      </div>
    </div>
  );
}

function ArrayBar({ counts }: { counts: Counts }) {
  const total = Math.max(1, counts.tasks);
  let x = 14;
  const w = nodeW - 24;
  const parts = (['done', 'running', 'failed', 'cancelled', 'ready'] as const).map((s) => {
    const pw = ((counts[s] ?? 0) / total) * w;
    const r = <rect key={s} x={x} y="28" width={pw} height="7" fill={colorOf(s)} />;
    x += pw;
    return r;
  });
  return (
    <g>
      <rect x="14" y="28" width={w} height="7" rx="2" fill="#e2e8f0" />
      {parts}
    </g>
  );
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}
