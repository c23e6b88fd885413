import type { MeshSummary } from '../results.js';
import { buildPayloads, type PayloadSet } from './payloads.js';
import { buildTopology, type TopologyOptions } from './topology.js';

/** A mesh's payloads and what describes them: plain data, so it can be sent to a child process. */
export interface BuiltMesh {
  summary: MeshSummary;
  set: PayloadSet;
}

/** Builds a mesh and its payloads (deterministic: the same options give the same bytes). */
export function buildMesh(mesh: TopologyOptions, batches: number, batchSize: number): BuiltMesh {
  const topology = buildTopology(mesh);
  const set = buildPayloads(topology, { batches, batchSize, seed: mesh.seed + 100 });
  return {
    set,
    summary: {
      services: topology.services.length,
      namespaces: topology.namespaces.length,
      nodes: topology.nodes,
      edges: set.edges,
      batches: set.payloads.length,
      batchSize: set.batchSize,
      attributesPerSpan: set.attributesPerSpan,
      resourcesPerBatch: set.resourcesPerBatch,
      bytesPerBatch: set.bytes / set.payloads.length,
      errorRatio: set.errorRatio,
      generationMs: set.generationMs,
    },
  };
}

/** Restores Buffers after structured cloning (IPC may hand them over as plain Uint8Arrays). */
export function revive(mesh: BuiltMesh): BuiltMesh {
  for (const p of mesh.set.payloads) {
    if (!Buffer.isBuffer(p.bytes)) {
      const view = p.bytes as Uint8Array;
      p.bytes = Buffer.from(view.buffer, view.byteOffset, view.byteLength);
    }
  }
  return mesh;
}
