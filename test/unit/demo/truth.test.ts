import { expect, it } from 'vitest';
import { TruthRecorder, UNMESHED, summarize } from '../../../demo/truth.js';

it('ground truth: closed connections count for the workload that accepted them (inbound) and the edge that opened them (outbound)', () => {
  const proxies = [new TruthRecorder(), new TruthRecorder()];
  const [student, auth] = proxies as [TruthRecorder, TruthRecorder];
  student.record({ direction: 'inbound', src: UNMESHED, dst: 'student', tls: false }, false, true, 3);
  student.recordClose({ direction: 'inbound', src: UNMESHED, dst: 'student', tls: false }, false);
  student.recordClose({ direction: 'inbound', src: UNMESHED, dst: 'student', tls: false }, false);
  student.recordClose({ direction: 'outbound', src: 'student', dst: 'auth', tls: true }, true);
  auth.recordClose({ direction: 'inbound', src: 'student', dst: 'auth', tls: true }, true);
  auth.recordClose({ direction: 'inbound', src: 'number', dst: 'auth', tls: true }, false);

  const { workloads, edges } = summarize(proxies.flatMap((p) => p.snapshot()), 'default');
  expect(workloads.map((w) => [w.name, w.requests, w.tcp_closed])).toEqual([
    ['auth', 0, { ok: 1, error: 1 }],
    ['student', 1, { ok: 2, error: 0 }],
  ]);
  expect(edges.map((e) => [`${e.src.name}->${e.dst.name}`, e.requests, e.secured, e.tcp_closed])).toEqual([['student->auth', 0, true, { ok: 0, error: 1 }]]);
});
