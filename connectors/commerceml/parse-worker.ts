import { parentPort } from 'node:worker_threads';
import { parseDocument, type ParsedBatch } from './reader';
import { CmlError } from './types';

/** The worker thread of `readDocuments({parallel: true})`: parses batches of documents, in order. */
parentPort!.on('message', (m: { id: number; texts: string[]; first: number }) => {
  const out: ParsedBatch['out'] = [];
  for (let i = 0; i < m.texts.length; i++) {
    try {
      out.push({ ok: true, doc: parseDocument(m.texts[i]) });
    } catch (e) {
      out.push({ ok: false, n: m.first + i, error: (e as Error).message, text: e instanceof CmlError ? e.text : undefined });
      break;
    }
  }
  parentPort!.postMessage({ id: m.id, out } satisfies ParsedBatch);
});
