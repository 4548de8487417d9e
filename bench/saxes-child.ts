import { createReadStream, readFileSync } from 'node:fs';
import { SaxesParser } from 'saxes';

/** The baseline of the CommerceML benchmark, alone in its process: a plain saxes streaming parse. */
async function main(file: string): Promise<void> {
  const started = performance.now();
  const parser = new SaxesParser();
  let documents = 0;
  parser.on('closetag', (t) => {
    if (t.name === 'Документ' || t.name.endsWith(':Документ')) documents++;
  });
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) parser.write(chunk as string);
  parser.close();
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  process.stdout.write(
    JSON.stringify({ seconds: (performance.now() - started) / 1000, documents, peakRssMb: hwm ? Number(hwm[1]) / 1024 : NaN }),
  );
}

void main(process.argv[2]);
