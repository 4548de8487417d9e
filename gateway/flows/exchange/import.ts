import { createReadStream, createWriteStream, rmSync, statSync, type WriteStream } from 'node:fs';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
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
    const spool = `${path}.documents`;
    try {
      // the whole file is read before anything is applied (a file refused anywhere changes nothing): its
      // documents wait in a spool, one JSON line each, and are applied from there
      if (/\.zip$/i.test(name)) await spoolZip(base, path, spool);
      else await spoolXml(xmlStream(path), statSync(path).size, spool);
      await applySpool(c, spool);
      const notes = [
        `Обработано документов: ${c.counts.documents}, изменено заказов: ${c.counts.changed}, новых из 1С: ${c.counts.created}, не найдено: ${c.counts.unknown}.`,
        ...c.notes,
      ];
      await setFileState(d.store.db, session.id, name, 'done', JSON.stringify(notes));
      rmSync(path, { force: true });
      rmSync(spool, { force: true });
      d.log.info({ base: base.id, file: name, ...c.counts }, 'CommerceML file imported');
      return notes;
    } catch (e) {
      const text = e instanceof CmlError ? e.text : `Ошибка обработки файла ${name}: ${(e as Error).message}`;
      await setFileState(d.store.db, session.id, name, 'failed', JSON.stringify(text));
      rmSync(path, { force: true });
      rmSync(spool, { force: true });
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

/** Reads every document of one XML stream into the spool, applying none: throws what the file would be refused for. */
async function readIntoSpool(stream: NodeJS.ReadableStream, bytes: number, out: WriteStream): Promise<void> {
  // a big file is parsed on a worker thread while this one writes the spool
  await readDocuments(
    stream,
    async (doc) => {
      if (!out.write(`${JSON.stringify(doc)}\n`)) await once(out, 'drain');
    },
    { parallel: bytes > PARALLEL_FROM_BYTES },
  );
}

async function closeSpool(out: WriteStream): Promise<void> {
  await new Promise<void>((res, rej) => out.end((e?: Error | null) => (e ? rej(e) : res())));
}

async function spoolXml(stream: NodeJS.ReadableStream, bytes: number, spool: string): Promise<void> {
  const out = createWriteStream(spool);
  try {
    await readIntoSpool(stream, bytes, out);
  } finally {
    await closeSpool(out);
  }
}

/** The spooled documents, applied a batch at a time. */
async function applySpool(c: ImportContext, spool: string): Promise<void> {
  const lines = createInterface({ input: createReadStream(spool, { highWaterMark: 64 * 1024 }), crlfDelay: Infinity });
  let batch: ImportedDocument[] = [];
  for await (const line of lines) {
    if (!line) continue;
    batch.push(JSON.parse(line) as ImportedDocument);
    // documents applied soon after they are read die young (a long-lived batch fills the old heap)
    if (batch.length >= 128) {
      const docs = batch;
      batch = [];
      await applyDocuments(c, docs);
    }
  }
  if (batch.length > 0) await applyDocuments(c, batch);
}

function openZip(path: string): Promise<yauzl.ZipFile> {
  return new Promise((res, rej) =>
    yauzl.open(path, { lazyEntries: true, autoClose: false, validateEntrySizes: true, strictFileNames: true }, (err, z) =>
      err ? rej(new CmlError(`Архив повреждён или не zip: ${err.message}`)) : res(z!),
    ),
  );
}

const badEntry = (e: Error) =>
  /invalid relative path|absolute path|invalid characters/i.test(e.message)
    ? new CmlError(`Недопустимое имя файла в архиве: ${e.message}`)
    : new CmlError(`Архив повреждён: ${e.message}`);

/** Every entry of the archive's central directory (nothing is inflated). */
function listEntries(zip: yauzl.ZipFile): Promise<yauzl.Entry[]> {
  return new Promise((resolveAll, rejectAll) => {
    const entries: yauzl.Entry[] = [];
    zip.on('error', (e: Error) => rejectAll(badEntry(e)));
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
 * of the folder, sizes together, compression ratio), then every XML entry is read into the spool,
 * and only then are they applied: an archive refused for any entry changes nothing.
 */
async function spoolZip(base: ExchangeBase, path: string, spool: string): Promise<void> {
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
    const out = createWriteStream(spool);
    try {
      for (const entry of xml) await readIntoSpool(await entryStream(zip, entry), entry.uncompressedSize, out);
    } catch (e) {
      throw e instanceof CmlError ? e : new CmlError(`Архив не прочитан: ${(e as Error).message}`);
    } finally {
      await closeSpool(out);
    }
  } finally {
    zip.close();
  }
}
