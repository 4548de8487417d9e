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
      else {
        // the whole file is read once before anything is applied: a file refused anywhere changes nothing
        const size = statSync(path).size;
        await checkStream(xmlStream(path), size);
        await importStream(c, xmlStream(path), size);
      }
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

// 64 KB reads: the text decoded from each stays an ordinary heap object (see the reader)
const xmlStream = (path: string) => createReadStream(path, { highWaterMark: 64 * 1024 });

/** Reads every document of one XML stream without applying any: throws what the file would be refused for. */
async function checkStream(stream: NodeJS.ReadableStream, bytes: number): Promise<void> {
  await readDocuments(stream, () => undefined, { parallel: bytes > PARALLEL_FROM_BYTES, checkOnly: true });
}

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

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((res, rej) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (err, z) =>
      err ? rej(new CmlError(`Архив повреждён или не zip: ${err.message}`)) : res(z!),
    ),
  );
}

const badName = (e: Error) =>
  /invalid relative path|absolute path|invalid characters/i.test(e.message)
    ? new CmlError(`Недопустимое имя файла в архиве: ${e.message}`)
    : e;

/** Every entry of the archive's central directory (nothing is inflated). */
function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolveAll, rejectAll) => {
    const entries: yauzl.Entry[] = [];
    zip.on('error', (e: Error) => rejectAll(badName(e)));
    zip.on('entry', (entry: yauzl.Entry) => {
      entries.push(entry);
      zip.readEntry();
    });
    zip.on('end', () => resolveAll(entries));
    zip.readEntry();
  });
}

function entryStream(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<NodeJS.ReadableStream> {
  return new Promise((res, rej) => zip.openReadStream(entry, (err, stream) => (err || !stream ? rej(err) : res(stream))));
}

/**
 * The XML entries of a zip. Every entry is checked before any is inflated (count, names climbing out
 * of the folder, sizes together, compression ratio), then every XML entry is read through, and
 * only then are they applied: an archive refused for any entry changes nothing.
 */
async function importZip(base: ExchangeBase, path: string, c: ImportContext): Promise<void> {
  const zip = await openZip(path);
  try {
    if (zip.entryCount > base.maxZipEntries)
      throw new CmlError(`В архиве ${zip.entryCount} файлов, допустимо не больше ${base.maxZipEntries}.`);
    const limit = base.maxUploadMb * 1024 * 1024;
    let total = 0;
    const xml: yauzl.Entry[] = [];
    for (const entry of await listEntries(zip)) {
      const name = entry.fileName;
      if (name.includes('..') || name.startsWith('/') || name.includes('\\'))
        throw new CmlError(`Недопустимое имя файла в архиве: ${name.slice(0, 100)}`);
      if (name.endsWith('/') || !/\.xml$/i.test(name)) continue;
      total += entry.uncompressedSize;
      if (total > limit) throw new CmlError(`Распакованный архив больше допустимых ${base.maxUploadMb} МБ.`);
      if (entry.compressedSize > 0 && entry.uncompressedSize / entry.compressedSize > base.maxZipRatio) {
        throw new CmlError(
          `Файл ${name} в архиве сжат в ${Math.round(entry.uncompressedSize / entry.compressedSize)} раз: похоже на zip-бомбу, не принят.`,
        );
      }
      xml.push(entry);
    }
    try {
      for (const entry of xml) await checkStream(await entryStream(zip, entry), entry.uncompressedSize);
      for (const entry of xml) await importStream(c, await entryStream(zip, entry), entry.uncompressedSize);
    } catch (e) {
      throw e instanceof CmlError ? e : new CmlError(`Архив не прочитан: ${(e as Error).message}`);
    }
  } finally {
    zip.close();
  }
}
