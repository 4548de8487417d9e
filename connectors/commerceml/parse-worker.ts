import { parentPort } from 'node:worker_threads';
import { parseDocument } from './document';
import type { ParsedBatch } from './reader';
import { CmlError, type ImportedDocument } from './types';

/**
 * The worker thread of `readDocuments({parallel: true})`: parses batches of documents, in order.
 * A batch goes back as the bytes of one JSON text (UTF-16, as JS strings are: a copy, no
 * encoding), moved rather than copied. It waits for its turn outside the other thread's heap, and
 * its documents are made only then, so they die young there instead of filling its old space.
 */
parentPort!.on('message', (m: { id: number; texts: string[]; first: number }) => {
  const docs: ImportedDocument[] = [];
  let failure: ParsedBatch['failure'];
  for (let i = 0; i < m.texts.length; i++) {
    try {
      docs.push(parseDocument(m.texts[i]));
    } catch (e) {
      failure = { n: m.first + i, error: (e as Error).message, text: e instanceof CmlError ? e.text : undefined };
      break;
    }
  }
  const json = JSON.stringify(docs);
  const bytes = new ArrayBuffer(json.length * 2);
  Buffer.from(bytes).write(json, 'utf16le');
  parentPort!.postMessage({ id: m.id, docs: bytes, failure } satisfies ParsedBatch, [bytes]);
});
