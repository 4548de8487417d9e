import iconv from 'iconv-lite';
import { createWriteStream, existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CmlError } from '../../../connectors/commerceml/types';
import { deleteFile, getFile, saveUploadedBytes } from '../../store/exchange';
import type { ExchangeSessionsTable } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { ExchangeBase, safeFileName, sessionDir } from './session';

/**
 * `mode=file`: a chunk of `filename`, appended to what came before (1C splits files at
 * `file_limit`). Streams to disk; refuses past the base's size limit.
 */
export async function appendChunk(
  d: FlowDeps,
  base: ExchangeBase,
  session: ExchangeSessionsTable,
  filename: string,
  body: Readable,
  declaredLength: number | null,
): Promise<number> {
  const name = safeFileName(filename);
  const dir = sessionDir(d, session.id);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, name);
  const before = existsSync(path) ? statSync(path).size : 0;
  const limit = base.maxUploadMb * 1024 * 1024;
  if (declaredLength !== null && before + declaredLength > limit)
    throw new CmlError(`Файл ${name} больше допустимых ${base.maxUploadMb} МБ.`);
  let received = 0;
  const counter = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      received += chunk.length;
      if (before + received > limit) throw new CmlError(`Файл ${name} больше допустимых ${base.maxUploadMb} МБ.`);
      yield chunk;
    }
  };
  const prior = await getFile(d.store.db, session.id, name);
  if (prior && prior.state !== 'uploading') throw new CmlError(`Файл ${name} уже загружен и обработан в этом сеансе.`);
  try {
    await pipeline(body, counter, createWriteStream(path, { flags: 'a' }));
  } catch (e) {
    rmSync(path, { force: true });
    await deleteFile(d.store.db, session.id, name);
    throw e instanceof CmlError ? e : new CmlError(`Файл ${name} не получен целиком: ${(e as Error).message}`);
  }
  await saveUploadedBytes(d.store.db, session.id, name, before + received, !prior);
  return before + received;
}

/** True when the uploaded XML is complete (its root closes): 1C may expect the import right away. */
export async function looksComplete(path: string): Promise<boolean> {
  if (!/\.xml$/i.test(path) || !existsSync(path)) return false;
  const size = statSync(path).size;
  const fh = await open(path, 'r');
  try {
    const tail = Buffer.alloc(Math.min(256, size));
    await fh.read(tail, 0, tail.length, size - tail.length);
    const end = /<\/(?:[\w.-]+:)?КоммерческаяИнформация>\s*$/;
    return end.test(tail.toString('utf8')) || end.test(iconv.decode(tail, 'win1251'));
  } finally {
    await fh.close();
  }
}
