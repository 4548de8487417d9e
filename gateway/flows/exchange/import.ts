import { createReadStream, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import yauzl from 'yauzl';
import { readDocuments } from '../../../connectors/commerceml/reader';
import type { ImportedDocument } from '../../../connectors/commerceml/types';
import { CmlError } from '../../../connectors/commerceml/types';
import { getFile, setFileState } from '../../store/exchange';
import type { ExchangeSessionsTable } from '../../store/schema';
import type { FlowDeps } from '../deps';
import { applyDocuments, type ImportContext } from './apply';
import { ExchangeBase, organizationsOf, safeFileName, sessionDir } from './session';

const running = new Map<string, Promise<string[]>>();

/**
 * Imports one uploaded file (XML, or a zip of XML files) once: the first call starts it, later calls
 * for the same file join it. Resolves with the notes for the operator.
 */
export function importFile(d: FlowDeps, base: ExchangeBase, session: ExchangeSessionsTable, filename: string): Promise<string[]> {
  const name = safeFileName(filename);
  const key = `${session.id}/${name}`;
  const existing = running.get(key);
  if (existing) return existing;
  const p = (async () => {
    const row = await getFile(d.store.db, session.id, name);
    if (!row) throw new CmlError(`Файл ${name} в этом сеансе не загружался (сначала mode=file).`);
    if (row.state === 'done') return JSON.parse(row.result ?? '[]') as string[];
    if (row.state === 'failed') throw new CmlError(JSON.parse(row.result ?? '""') as string);
    await setFileState(d.store.db, session.id, name, 'importing');
    const path = join(sessionDir(d, session.id), name);
    const c: ImportContext = {
      d,
      baseId: base.id,
      db: d.store.db,
      organizations: organizationsOf(d, base),
      timeZone: base.timeZone,
      notes: [],
      cache: new Map(),
      counts: { documents: 0, changed: 0, created: 0, unknown: 0 },
    };
    try {
      if (/\.zip$/i.test(name)) await importZip(base, path, c);
      // 64 KB reads: the text decoded from each stays an ordinary heap object (see the reader)
      else await importStream(c, createReadStream(path, { highWaterMark: 64 * 1024 }), statSync(path).size);
      const notes = [
        `Обработано документов: ${c.counts.documents}, изменено заказов: ${c.counts.changed}, новых из 1С: ${c.counts.created}, не найдено: ${c.counts.unknown}.`,
        ...c.notes,
      ];
      await setFileState(d.store.db, session.id, name, 'done', JSON.stringify(notes));
      rmSync(path, { force: true });
      d.log.info({ base: base.id, file: name, ...c.counts }, 'CommerceML file imported');
      return notes;
    } catch (e) {
      const text = e instanceof CmlError ? e.text : `Ошибка обработки файла ${name}: ${(e as Error).message}`;
      await setFileState(d.store.db, session.id, name, 'failed', JSON.stringify(text));
      rmSync(path, { force: true });
      d.log.warn({ err: e, base: base.id, file: name }, 'CommerceML file refused');
      throw e instanceof CmlError ? e : new CmlError(text);
    }
  })();
  running.set(key, p);
  p.finally(() => running.delete(key)).catch(() => undefined);
  return p;
}

const PARALLEL_FROM_BYTES = 8 * 1024 * 1024;

/** Documents of one XML stream, applied a batch at a time. */
async function importStream(c: ImportContext, stream: NodeJS.ReadableStream, bytes: number): Promise<void> {
  let batch: ImportedDocument[] = [];
  // a big file is parsed on a worker thread while this one applies
  await readDocuments(
    stream,
    async (doc) => {
      batch.push(doc);
      // documents applied soon after they are made die young (a long-lived batch fills the old heap)
      if (batch.length >= 128) {
        const docs = batch;
        batch = [];
        await applyDocuments(c, docs);
      }
    },
    { parallel: bytes > PARALLEL_FROM_BYTES },
  );
  if (batch.length > 0) await applyDocuments(c, batch);
}

/** Each XML entry of a zip, streamed; path traversal, too many entries and bombs refused before inflating. */
async function importZip(base: ExchangeBase, path: string, c: ImportContext): Promise<void> {
  const zip = await new Promise<yauzl.ZipFile>((res, rej) =>
    yauzl.open(path, { lazyEntries: true, autoClose: true, validateEntrySizes: true, strictFileNames: true }, (err, z) =>
      err ? rej(new CmlError(`Архив повреждён или не zip: ${err.message}`)) : res(z!),
    ),
  );
  if (zip.entryCount > base.maxZipEntries) {
    zip.close();
    throw new CmlError(`В архиве ${zip.entryCount} файлов, допустимо не больше ${base.maxZipEntries}.`);
  }
  const limit = base.maxUploadMb * 1024 * 1024;
  let total = 0;
  await new Promise<void>((resolveAll, rejectAll) => {
    const fail = (e: unknown) => {
      zip.close();
      rejectAll(e instanceof CmlError ? e : new CmlError(`Архив не прочитан: ${(e as Error).message}`));
    };
    zip.on('error', (e) =>
      fail(
        /invalid relative path|absolute path|invalid characters/i.test(e.message)
          ? new CmlError(`Недопустимое имя файла в архиве: ${e.message}`)
          : e,
      ),
    );
    zip.on('end', () => resolveAll());
    zip.on('entry', (entry: yauzl.Entry) => {
      const name = entry.fileName;
      if (name.includes('..') || name.startsWith('/') || name.includes('\\'))
        return fail(new CmlError(`Недопустимое имя файла в архиве: ${name.slice(0, 100)}`));
      if (name.endsWith('/') || !/\.xml$/i.test(name)) return zip.readEntry();
      total += entry.uncompressedSize;
      if (total > limit) return fail(new CmlError(`Распакованный архив больше допустимых ${base.maxUploadMb} МБ.`));
      if (entry.compressedSize > 0 && entry.uncompressedSize / entry.compressedSize > base.maxZipRatio) {
        return fail(
          new CmlError(
            `Файл ${name} в архиве сжат в ${Math.round(entry.uncompressedSize / entry.compressedSize)} раз: похоже на zip-бомбу, не принят.`,
          ),
        );
      }
      zip.openReadStream(entry, (err, stream) => {
        if (err || !stream) return fail(err);
        importStream(c, stream, entry.uncompressedSize).then(() => zip.readEntry(), fail);
      });
    });
    zip.readEntry();
  });
}
