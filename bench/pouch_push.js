// One PouchDB replication, post → centre, of a benchmark workload.
//
//   node bench/pouch_push.js --workload FILE --db DIR --remote URL
//
// Loads the workload into a local PouchDB (LevelDB in DIR): one doc per patient,
// one doc per file with the PDF as an inline attachment. Prints "READY", waits
// for a line on stdin, then runs db.replicate.to(URL) with PouchDB's defaults
// and prints one JSON line: the wall time of the replication and its counts.
'use strict';
const fs = require('fs');
const path = require('path');
const readline = require('readline');
const PouchDB = require('pouchdb');

function arg(name) {
  const i = process.argv.indexOf(name);
  if (i < 0 || i + 1 >= process.argv.length) throw new Error(`missing ${name}`);
  return process.argv[i + 1];
}

async function load(db, work, blobDir) {
  const docs = work.patients.map(({ id, ...fields }) => ({ _id: id, type: 'patient', ...fields }));
  for (let i = 0; i < docs.length; i += 1000) {
    await db.bulkDocs(docs.slice(i, i + 1000));
  }
  for (const f of work.files) {
    const data = fs.readFileSync(path.join(blobDir, `${f.sha256}.pdf`));
    await db.put({
      _id: f.id,
      type: 'attachment',
      appeal: f.appeal,
      patient: f.patient,
      filename: f.filename,
      content_type: f.content_type,
      size: f.size,
      sha256: f.sha256,
      _attachments: { [f.filename]: { content_type: f.content_type, data } },
    });
  }
  return docs.length + work.files.length;
}

async function main() {
  const workPath = arg('--workload');
  const work = JSON.parse(fs.readFileSync(workPath, 'utf8'));
  const local = new PouchDB(arg('--db'));
  const loaded = await load(local, work, path.join(path.dirname(workPath), 'blobs'));
  process.stdout.write(`READY ${loaded}\n`);
  const rl = readline.createInterface({ input: process.stdin });
  await new Promise((resolve) => rl.once('line', resolve));
  rl.close();
  const remote = new PouchDB(arg('--remote'));
  const started = process.hrtime.bigint();
  const result = await local.replicate.to(remote);
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  process.stdout.write(JSON.stringify({
    wall_s: wall,
    ok: result.ok,
    docs_read: result.docs_read,
    docs_written: result.docs_written,
    doc_write_failures: result.doc_write_failures,
    errors: result.errors.length,
  }) + '\n');
  await local.close();
}

main().catch((err) => {
  process.stderr.write(`pouch_push: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
