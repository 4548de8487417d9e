import { parentPort } from 'node:worker_threads';
import { parseDocument } from './document';
import type { ParsedBatch, ParseRequest } from './reader';
import { CmlError, type ImportedDocument } from './types';

/** Buffers the other thread gave back, for the next answers. */
const spare: ArrayBuffer[] = [];
/** The least an answer buffer holds: most batches fit, and buffers go round instead of being made anew. */
const ANSWER_BYTES = 256 * 1024;

/**
 * The worker thread of `readDocuments({parallel: true})`: parses batches of documents, in order.
 * A batch goes back as the bytes of one JSON text (UTF-16, as JS strings are: a copy, no
 * encoding), moved rather than copied, in a buffer that comes back with a later request. It waits
 * for its turn outside the other thread's heap, its documents are made only then (they die young),
 * and no memory is allocated on one thread to be freed on the other, which fragments the heaps.
 */
parentPort!.on('message', (m: ParseRequest) => {
  spare.push(...m.spare);
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
  const need = json.length * 2;
  const fit = spare.findIndex((b) => b.byteLength >= need);
  const bytes = fit >= 0 ? spare.splice(fit, 1)[0] : new ArrayBuffer(Math.max(need, ANSWER_BYTES));
  const length = Buffer.from(bytes).write(json, 'utf16le');
  parentPort!.postMessage({ id: m.id, docs: bytes, length, failure } satisfies ParsedBatch, [bytes]);
});
